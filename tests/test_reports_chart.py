"""The chart picture: a valid PNG whose bars are as tall as their values, each labelled in words."""

from __future__ import annotations

import struct
import zlib

from connectors.word.chart import bar_chart_png

INK = (0x21, 0x21, 0x21)


def decode(png: bytes) -> tuple[int, int, list[bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, data, size = 8, b"", (0, 0)
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        body = png[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", png[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + body)
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            data += body
        position += 12 + length
    width, height = size
    raw = zlib.decompress(data)
    stride = 1 + width * 3
    assert len(raw) == stride * height
    return width, height, [raw[y * stride + 1 : (y + 1) * stride] for y in range(height)]


def pixel(rows: list[bytes], x: int, y: int) -> tuple[int, int, int]:
    r, g, b = rows[y][x * 3 : x * 3 + 3]
    return r, g, b


def column_height(rows: list[bytes], x: int, colour: tuple[int, int, int]) -> int:
    return sum(1 for y in range(len(rows)) if pixel(rows, x, y) == colour)


def test_bars_are_as_tall_as_their_values_and_labelled() -> None:
    width, height, rows = decode(bar_chart_png([("Green", 4), ("Amber", 2), ("Red", 1), ("No update", 0)]))
    assert (width, height) == (720, 400)
    slot = (width - 80) // 4
    centres = [40 + i * slot + slot // 2 for i in range(4)]
    green = column_height(rows, centres[0] - 30, (0x2E, 0x7D, 0x32))
    amber = column_height(rows, centres[1] - 30, (0xF5, 0xA6, 0x23))
    red = column_height(rows, centres[2] - 30, (0xC6, 0x28, 0x28))
    assert green > 0
    assert abs(amber - green / 2) <= 1
    assert abs(red - green / 4) <= 1
    axis = height - 50
    for centre in centres:  # a word under every bar, a figure above it
        label = [pixel(rows, x, y) for y in range(axis + 10, height) for x in range(centre - 40, centre + 40)]
        assert INK in label


def test_an_empty_chart_is_still_a_picture() -> None:
    width, height, rows = decode(bar_chart_png([]))
    assert (width, height) == (720, 400)
    assert len(rows) == height
