"""A bar chart as PNG bytes, in pure Python (zlib and struct): no plotting library to install or
import at start-up, and nothing that reads fonts or files.

Bars, a baseline and a light grid only; values and labels are in the text content beside the
image. Imported only when a chart is drawn (server.py, api/routes.py import it inside the call).
"""

from __future__ import annotations

import struct
import zlib

from klaviyo_analytics.render.charts import Chart

WIDTH, HEIGHT, MARGIN = 640, 320, 24
BACKGROUND = (255, 255, 255)
GRID = (228, 232, 238)
AXIS = (90, 90, 90)
DARK = (47, 109, 176)
LIGHT = (160, 190, 225)


def render_png(chart: Chart) -> bytes:
    pixels = [[BACKGROUND] * WIDTH for _ in range(HEIGHT)]

    def fill(x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int]) -> None:
        for y in range(max(0, y0), min(HEIGHT, y1)):
            row = pixels[y]
            for x in range(max(0, x0), min(WIDTH, x1)):
                row[x] = color

    top = max([*chart.values, *(chart.prior or ()), 0.0]) or 1.0
    plot_h = HEIGHT - 2 * MARGIN
    for k in range(1, 5):  # grid at quarters of the largest value
        y = HEIGHT - MARGIN - plot_h * k // 4
        fill(MARGIN, y, WIDTH - MARGIN, y + 1, GRID)
    n = max(1, len(chart.values))
    slot = (WIDTH - 2 * MARGIN) / n
    bars = 2 if chart.prior else 1
    width = max(1, int(slot * 0.7 / bars))
    for i, value in enumerate(chart.values):
        x = int(MARGIN + i * slot + slot * 0.15)
        pair = [(value, DARK), *([(chart.prior[i], LIGHT)] if chart.prior else [])]
        # A comparison's metrics differ in unit (revenue, sends): each pair is scaled to itself.
        scale = max(max(v for v, _ in pair), 0.0) or 1.0 if chart.prior else top
        for j, (v, color) in enumerate(pair):
            h = int(plot_h * max(v, 0.0) / scale)
            fill(x + j * width, HEIGHT - MARGIN - h, x + (j + 1) * width - 1, HEIGHT - MARGIN, color)
    fill(MARGIN, HEIGHT - MARGIN, WIDTH - MARGIN, HEIGHT - MARGIN + 2, AXIS)
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
