"""Draw the Teams app's icons: a clipboard with a tick (an assessment done).

    .venv/bin/python manifests/teams/draw_icons.py    # rewrites color.png and outline.png beside this file

color.png is 192x192: the white symbol inside Teams' 120x120 safe area on the accent colour (manifest.json's
accentColor). outline.png is 32x32: the same symbol in white on a transparent background, as Teams requires.
Standard library only (zlib), so it runs anywhere; tests check the committed files are what this draws.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = 4  # per side of a pixel: 16 samples give smooth edges

Shape = Callable[[float, float], bool]  # is the point (x, y), each in 0..1, inside the symbol?


def _rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return False
        dx = max(x0 + r - x, 0.0, x - (x1 - r))
        dy = max(y0 + r - y, 0.0, y - (y1 - r))
        return dx * dx + dy * dy <= r * r

    return inside


def _segment(ax: float, ay: float, bx: float, by: float, width: float) -> Shape:
    def inside(x: float, y: float) -> bool:
        vx, vy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy)))
        px, py = ax + t * vx - x, ay + t * vy - y
        return px * px + py * py <= (width / 2) ** 2

    return inside


def symbol() -> Shape:
    """In a unit square: a clipboard's outline, its clip, and a tick on the board."""
    outer = _rounded_rect(0.14, 0.10, 0.86, 0.96, 0.10)
    inner = _rounded_rect(0.24, 0.20, 0.76, 0.86, 0.04)
    clip = _rounded_rect(0.32, 0.02, 0.68, 0.20, 0.05)
    tick = (_segment(0.34, 0.55, 0.46, 0.68, 0.09), _segment(0.46, 0.68, 0.68, 0.40, 0.09))

    def inside(x: float, y: float) -> bool:
        return (outer(x, y) and not inner(x, y)) or clip(x, y) or any(part(x, y) for part in tick)

    return inside


def coverage(shape: Shape, size: int, left: float, top: float, span: float) -> list[list[float]]:
    """How much of each pixel the shape covers (0..1), the symbol drawn in the square (left, top, span) px."""
    out = []
    for row in range(size):
        line = []
        for column in range(size):
            hits = 0
            for i in range(SAMPLES):
                for j in range(SAMPLES):
                    x = (column + (j + 0.5) / SAMPLES - left) / span
                    y = (row + (i + 0.5) / SAMPLES - top) / span
                    hits += 0 <= x <= 1 and 0 <= y <= 1 and shape(x, y)
            line.append(hits / SAMPLES**2)
        out.append(line)
    return out


def png(pixels: list[list[tuple[int, int, int, int]]]) -> bytes:
    """An 8-bit RGBA PNG, no filtering."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(v for pixel in row for v in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def accent_colour() -> tuple[int, int, int]:
    text = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))["accentColor"]
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16)


def colour_icon() -> bytes:
    r, g, b = accent_colour()
    cover = coverage(symbol(), 192, 36, 36, 120)  # the symbol fills the 120x120 safe area, centred

    def mix(c: float) -> tuple[int, int, int, int]:
        return (round(r + (255 - r) * c), round(g + (255 - g) * c), round(b + (255 - b) * c), 255)

    return png([[mix(c) for c in row] for row in cover])


def outline_icon() -> bytes:
    cover = coverage(symbol(), 32, 2, 2, 28)  # white, its edges smoothed by alpha; the rest transparent
    return png([[(255, 255, 255, round(255 * c)) if c > 0 else (0, 0, 0, 0) for c in row] for row in cover])


if __name__ == "__main__":
    (HERE / "color.png").write_bytes(colour_icon())
    (HERE / "outline.png").write_bytes(outline_icon())
    print(f"Wrote {HERE / 'color.png'} and {HERE / 'outline.png'}.")
