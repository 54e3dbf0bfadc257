"""A bar chart as a PNG, drawn in pure Python (zlib and struct): python-docx cannot make native charts and
the councils' machines should not need a plotting library. Each bar is labelled in words with its value
above it, so colour is never the only carrier of meaning; the alt text and the table beside it say so too."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence

# Bar colours by label; anything else is grey.
_COLOURS = {
    "green": (0x2E, 0x7D, 0x32),
    "amber": (0xF5, 0xA6, 0x23),
    "red": (0xC6, 0x28, 0x28),
}
_GREY = (0x75, 0x75, 0x75)
_INK = (0x21, 0x21, 0x21)
_Fill = Callable[[int, int, int, int, tuple[int, int, int]], None]

# A 5x7 pixel font: enough to label bars and print their values (lower case is drawn as upper case).
_FONT = {
    "A": "01110100011000111111100011000110001",
    "B": "11110100011000111110100011000111110",
    "C": "01110100011000010000100001000101110",
    "D": "11110100011000110001100011000111110",
    "E": "11111100001000011110100001000011111",
    "F": "11111100001000011110100001000010000",
    "G": "01110100011000010111100011000101111",
    "H": "10001100011000111111100011000110001",
    "I": "01110001000010000100001000010001110",
    "J": "00111000100001000010000101001001100",
    "K": "10001100101010011000101001001010001",
    "L": "10000100001000010000100001000011111",
    "M": "10001110111010110101100011000110001",
    "N": "10001100011100110101100111000110001",
    "O": "01110100011000110001100011000101110",
    "P": "11110100011000111110100001000010000",
    "Q": "01110100011000110001101011001001101",
    "R": "11110100011000111110101001001010001",
    "S": "01111100001000001110000010000111110",
    "T": "11111001000010000100001000010000100",
    "U": "10001100011000110001100011000101110",
    "V": "10001100011000110001100010101000100",
    "W": "10001100011000110101101011010101010",
    "X": "10001100010101000100010101000110001",
    "Y": "10001100010101000100001000010000100",
    "Z": "11111000010001000100010001000011111",
    "0": "01110100011001110101110011000101110",
    "1": "00100011000010000100001000010001110",
    "2": "01110100010000100010001000100011111",
    "3": "11111000100010000010000011000101110",
    "4": "00010001100101010010111110001000010",
    "5": "11111100001111000001000011000101110",
    "6": "00110010001000011110100011000101110",
    "7": "11111000010001000100010000100001000",
    "8": "01110100011000101110100011000101110",
    "9": "01110100011000101111000010001001100",
    " ": "00000000000000000000000000000000000",
    ",": "00000000000000000000011000010001000",
    ".": "00000000000000000000000000110001100",
    "-": "00000000000000011111000000000000000",
    "/": "00001000100001000100010000100010000",
    "&": "01100100101010001000101011001001101",
    "?": "01110100010000100010001000000000100",
}


def bar_chart_png(bars: Sequence[tuple[str, int]], *, width: int = 720, height: int = 400) -> bytes:
    pixels = [bytearray(b"\xff" * (width * 3)) for _ in range(height)]

    def fill(x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        rgb = bytes(colour)
        for y in range(max(y0, 0), min(y1, height)):
            row = pixels[y]
            for x in range(max(x0, 0), min(x1, width)):
                row[x * 3 : x * 3 + 3] = rgb

    top, bottom, left, right = 70, height - 50, 40, width - 40
    fill(left, bottom, right, bottom + 3, _INK)  # the axes
    fill(left, top - 10, left + 3, bottom + 3, _INK)
    biggest = max((value for _, value in bars), default=0) or 1
    slot = (right - left) // max(len(bars), 1)
    for i, (label, value) in enumerate(bars):
        x0 = left + i * slot + slot // 5
        x1 = left + (i + 1) * slot - slot // 5
        bar_top = bottom - round((bottom - top) * value / biggest)
        fill(x0, bar_top, x1, bottom, _COLOURS.get(label.lower(), _GREY))
        centre = (x0 + x1) // 2
        _write(fill, f"{value:,}", centre, bar_top - 8 * 4 - 6, _fitting(f"{value:,}", slot, 4))
        _write(fill, label, centre, bottom + 12, _fitting(label, slot, 3))
    return _png(width, height, pixels)


def _fitting(text: str, room: int, largest: int) -> int:
    """The largest pixel size, up to `largest`, at which `text` fits in `room` pixels."""
    for scale in range(largest, 0, -1):
        if len(text) * 6 * scale <= room - 4:
            return scale
    return 1


def _write(fill: _Fill, text: str, centre: int, y: int, scale: int) -> None:
    x = centre - (len(text) * 6 * scale - scale) // 2
    for n, char in enumerate(text.upper()):
        glyph = _FONT.get(char, _FONT["?"])
        for bit, on in enumerate(glyph):
            if on == "1":
                gx = x + n * 6 * scale + (bit % 5) * scale
                gy = y + (bit // 5) * scale
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
