"""A bar chart as a PNG, drawn in pure Python (zlib and struct): python-docx cannot make native charts and
the councils' machines should not need a plotting library. The words and figures are in the alt text and in
the table beside the chart; the picture adds the shape."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence

# Bar colours by label; anything else is grey. Colour is never the only carrier of meaning.
_COLOURS = {
    "green": (0x2E, 0x7D, 0x32),
    "amber": (0xF5, 0xA6, 0x23),
    "red": (0xC6, 0x28, 0x28),
}
_Fill = Callable[[int, int, int, int, tuple[int, int, int]], None]
_GREY = (0x75, 0x75, 0x75)
_INK = (0x21, 0x21, 0x21)

# 3x5 digits, one string of 15 bits per digit, row by row: the bar's value is printed above it.
_DIGITS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
    ",": "000000000010100",
}


def bar_chart_png(bars: Sequence[tuple[str, int]], *, width: int = 720, height: int = 360) -> bytes:
    pixels = [bytearray(b"\xff" * (width * 3)) for _ in range(height)]

    def fill(x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        rgb = bytes(colour)
        for y in range(max(y0, 0), min(y1, height)):
            row = pixels[y]
            for x in range(max(x0, 0), min(x1, width)):
                row[x * 3 : x * 3 + 3] = rgb

    top, bottom, left, right = 60, height - 30, 40, width - 40
    fill(left, bottom, right, bottom + 3, _INK)  # the axis
    fill(left, top - 10, left + 3, bottom + 3, _INK)
    biggest = max((value for _, value in bars), default=0) or 1
    slot = (right - left) // max(len(bars), 1)
    scale = 6
    for i, (label, value) in enumerate(bars):
        x0 = left + i * slot + slot // 5
        x1 = left + (i + 1) * slot - slot // 5
        bar_top = bottom - round((bottom - top) * value / biggest)
        fill(x0, bar_top, x1, bottom, _COLOURS.get(label.lower(), _GREY))
        text = f"{value:,}"
        text_width = len(text) * 4 * scale - scale
        _draw(fill, text, (x0 + x1 - text_width) // 2, bar_top - 6 * scale - 4, scale)
    return _png(width, height, pixels)


def _draw(fill: _Fill, text: str, x: int, y: int, scale: int) -> None:
    for n, char in enumerate(text):
        glyph = _DIGITS[char]
        for bit, on in enumerate(glyph):
            if on == "1":
                gx = x + n * 4 * scale + (bit % 3) * scale
                gy = y + (bit // 3) * scale
                fill(gx, gy, gx + scale, gy + scale, _INK)


def _png(width: int, height: int, rows: Sequence[bytearray]) -> bytes:
    raw = b"".join(b"\x00" + bytes(row) for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
