"""Draws a charts.Chart with matplotlib (Agg: no display) as PNG bytes or SVG text.

Imported only when a chart is drawn (server.py and api/routes.py import it inside the call), so
start-up never loads matplotlib. One figure function serves every picture: the PNG fallback, the
SVG the MCP App shows and REST's image, so they show the same figure. Pictures are reproducible:
matplotlib's bundled DejaVu Sans, a fixed size and DPI, no dates or versions in the files and a
fixed SVG id salt. The SVG keeps its words as text (``svg.fonttype: none``): selectable in the App,
readable by tests and screen readers.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, PercentFormatter

from klaviyo_analytics.render.charts import Bars, Chart, Panel, value_text

DPI = 100
SIZE = {"series": (8.0, 4.5), "compare": (9.0, 4.2), "split": (7.0, 4.2)}
COLOURS = {"current": "#2f6db0", "value": "#2f6db0", "prior": "#a0bee1", "partial": "#2f6db0"}
# Past this many bars a label on each would overlap: only the highest, the lowest and the last are labelled.
LABEL_EVERY_BAR = 40
# Past this many categories a zero is not labelled (its missing bar shows it).
ZEROS_LABELLED = 12
# Past this many categories only every n-th date is written under the axis.
TICKS_SHOWN = 16
STYLE: dict[Any, Any] = {  # matplotlib types the keys as a Literal of every rcParam
    "font.family": "DejaVu Sans",  # bundled with matplotlib: the same glyphs on every machine
    "font.size": 9.0,
    "svg.fonttype": "none",
    "svg.hashsalt": "klaviyo-mcp",
    "text.parse_math": False,  # a "$" in a label is a dollar, never the start of a formula
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#e4e8ee",
    "axes.axisbelow": True,
    "hatch.color": "#ffffff",
}
# Matplotlib's font cache and text layout are shared state: one figure is drawn at a time.
_LOCK = threading.Lock()


@contextmanager
def _styled() -> Iterator[None]:
    with _LOCK, matplotlib.rc_context(STYLE):
        yield


def figure(chart: Chart) -> Figure:
    """The chart as a matplotlib Figure (no pyplot: nothing global, nothing shown)."""
    fig = Figure(figsize=SIZE[chart.kind], dpi=DPI, layout="constrained")
    axes = fig.subplots(1, len(chart.panels), squeeze=False)[0]
    for index, (ax, panel) in enumerate(zip(axes, chart.panels, strict=True)):
        _draw_panel(ax, panel, chart, index)
    fig.suptitle(f"{chart.title}\n{chart.subtitle}" if chart.subtitle else chart.title, fontsize=11)
    handles, seen = [], set()
    for panel in chart.panels:
        for bars in panel.bars:
            if bars.label not in seen and any(v is not None for v in bars.values):
                seen.add(bars.label)
                handles.append(Patch(facecolor=COLOURS[bars.role], hatch=_hatch(bars), label=bars.label))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(3, len(handles)), frameon=False)
    return fig


def _hatch(bars: Bars) -> str | None:
    return "//" if bars.role == "partial" else None


def _draw_panel(ax: Axes, panel: Panel, chart: Chart, index: int) -> None:
    n = len(panel.categories)
    positions = range(n)
    top = bottom = 0.0
    for bars in panel.bars:
        xs = [i for i in positions if bars.values[i] is not None]
        heights = [float(bars.values[i] or 0.0) for i in xs]
        top, bottom = max([top, *heights]), min([bottom, *heights])  # a refund can make revenue negative
        container = ax.bar(xs, heights, width=0.7, color=COLOURS[bars.role], hatch=_hatch(bars), label=bars.label)
        for i, patch in zip(xs, container.patches, strict=True):
            # Named in the SVG (<g id="bar-0-current-1">): a reader (and the tests) can find each bar.
            patch.set_gid(f"bar-{index}-{bars.role}-{i}")
        labels = [_label(panel, i, bars.values) for i in xs]
        rotate = n > 12
        ax.bar_label(container, labels=labels, padding=2, fontsize=7 if rotate else 8, rotation=90 if rotate else 0)
    if n <= LABEL_EVERY_BAR:  # a bucket without any value says so: a missing bar is not a zero
        for i in positions:
            if all(b.values[i] is None for b in panel.bars):
                ax.text(i, 0, "no data", rotation=90, ha="center", va="bottom", fontsize=7, color="#777")
    # One axis from zero for every bar of a panel (a comparison's prior and current alike), with room
    # above the tallest for its label; an all-zero panel still shows a readable 0-1 axis.
    room = 1.3 if n > 12 else 1.15
    ax.set_ylim(bottom * room, top * room if top > 0 else (0 if bottom < 0 else 1))
    ax.set_xlim(-0.6, n - 0.4)  # every category has its place, with or without a bar
    ax.set_xticks(list(positions), list(panel.categories))
    if n > TICKS_SHOWN:
        step = -(-n // TICKS_SHOWN)
        for i, tick in enumerate(ax.get_xticklabels()):
            tick.set_visible(i % step == 0)
    if chart.kind == "series":
        ax.tick_params(axis="x", labelrotation=45 if n > 6 else 0)
    ax.set_xlabel(chart.x_label)
    ax.set_ylabel(panel.y_label)
    if panel.title:
        ax.set_title(panel.title, fontsize=10)
    if panel.percent:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    else:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 10 or v == 0 else f"{v:,.2g}"))


def _label(panel: Panel, i: int, values: tuple[float | None, ...]) -> str:
    """A bar's value label. On a long axis an empty bucket's missing bar says 0 by itself, and past
    LABEL_EVERY_BAR bars only the highest, the lowest and the last non-zero ones are written."""
    if len(panel.categories) > ZEROS_LABELLED and not values[i]:
        return ""
    shown = [j for j, v in enumerate(values) if v]
    if len(shown) > LABEL_EVERY_BAR:
        keep = {max(shown, key=lambda j: values[j] or 0), min(shown, key=lambda j: values[j] or 0), shown[-1]}
        if i not in keep:
            return ""
    text = value_text(values[i], panel)
    note = panel.notes[i] if i < len(panel.notes) else ""
    return f"{text} ({note})" if note else text


def render_png(chart: Chart) -> bytes:
    with _styled():
        out = io.BytesIO()
        metadata = {"Title": chart.title, "Description": chart.summary(), "Software": None}
        figure(chart).savefig(out, format="png", dpi=DPI, metadata=metadata)
        return out.getvalue()


def render_svg(chart: Chart) -> str:
    """The same figure as SVG, its words kept as text."""
    with _styled():
        out = io.StringIO()
        metadata = {"Title": chart.title, "Description": chart.summary(), "Date": None, "Creator": None}
        figure(chart).savefig(out, format="svg", metadata=metadata)
        return out.getvalue()
