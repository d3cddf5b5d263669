"""Reading a drawn chart back as a person would: the words in its SVG text layer, and each bar's height
measured against the y axis's own tick marks (figure.py names each bar ``bar-<panel>-<role>-<i>``)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

NS = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - the SVG was drawn by figure.py in this test, not received


def texts(svg: str) -> list[str]:
    """Every piece of text the picture shows, in drawing order."""
    return ["".join(t.itertext()).strip() for t in _root(svg).iter(f"{NS}text") if "".join(t.itertext()).strip()]


def _ys(path: ET.Element) -> list[float]:
    coords = [float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?", path.get("d", ""))]
    return coords[1::2]


@dataclass
class Panel:
    ticks: dict[float, float] = field(default_factory=dict)  # tick value -> y (SVG y grows downwards)
    bars: dict[str, tuple[float, float]] = field(default_factory=dict)  # gid -> (largest y, smallest y)

    def value_of(self, gid: str) -> float:
        """The value a bar shows, read off the axis: its height over the height of one tick unit."""
        (v0, y0), (v1, y1) = sorted(self.ticks.items())[0], sorted(self.ticks.items())[-1]
        per_unit = (y0 - y1) / (v1 - v0)  # SVG units per unit of value (y grows downwards)
        zero = y0 + v0 * per_unit
        low, high = self.bars[gid]
        if abs(high - zero) < 0.01:  # below the zero line: a negative value
            return -(low - zero) / per_unit
        assert abs(low - zero) < 0.01, "a bar does not stand on the zero line"
        return (zero - high) / per_unit


def panels(svg: str) -> list[Panel]:
    """The axes of the picture, left to right, each with its y ticks and its named bars."""
    found = []
    for axes in _root(svg).iter(f"{NS}g"):
        if not (axes.get("id") or "").startswith("axes_"):
            continue
        panel = Panel()
        for group in axes.iter(f"{NS}g"):
            gid = group.get("id") or ""
            if gid.startswith("ytick_"):
                label = "".join("".join(t.itertext()) for t in group.iter(f"{NS}text"))
                grid = next(group.iter(f"{NS}path"))
                if NUMBER.fullmatch(label.strip().replace("%", "")):
                    scale = 0.01 if label.strip().endswith("%") else 1.0
                    panel.ticks[float(label.strip().rstrip("%").replace(",", "")) * scale] = _ys(grid)[0]
            elif gid.startswith("bar-"):
                ys = _ys(next(group.iter(f"{NS}path")))
                panel.bars[gid] = (max(ys), min(ys))
        found.append(panel)
    return found
