"""Drawing a chart: time per chart kind against matplotlib's own floor, measured in the same run.

    .venv/bin/python -m bench.charts [--rounds 15]

A is the product's figure (render/figure.py: labels, legend, value labels, the chart's layout) as
PNG and as SVG; B, the floor, is a bare matplotlib Figure of the same size with the same bars and
nothing else, saved as PNG. A and B alternate round by round so a noisy neighbour on the shared
machine hits both alike; the figure is the ratio of medians. Also: the first import of the drawing
code in a fresh interpreter (what the first chart of a process pays once) against a bare interpreter.
The envelopes are the sandbox's own answers (seed 11, the suite's pinned day).
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from klaviyo_analytics.clock import pinned_on  # noqa: E402
from klaviyo_analytics.klaviyo.deadline import Deadline  # noqa: E402
from klaviyo_analytics.render.charts import Chart, chart_of  # noqa: E402
from klaviyo_analytics.service import CallContext  # noqa: E402
from klaviyo_analytics.tools import get_tool, run_tool  # noqa: E402
from klaviyo_sandbox import Sandbox, SandboxConfig  # noqa: E402
from tests.product.conftest import TODAY, sandbox_service  # noqa: E402

ASKED = {
    "series (13 weeks)": ("klaviyo_get_performance_over_time", {"entity": "flow", "timeframe": "last_90_days"}),
    "series (30 days)": ("klaviyo_get_performance_over_time", {"entity": "campaign", "interval": "daily"}),
    "compare (3 panels)": ("klaviyo_compare_periods", {"entity": "campaign", "timeframe": "last_30_days"}),
    "revenue split": ("klaviyo_get_revenue_split", {"timeframe": "last_30_days"}),
}


def answers() -> dict[str, tuple[Chart, float]]:
    """Each kind's chart, and the warm tool call's own time (what a chart adds to)."""
    sandbox = Sandbox(SandboxConfig(seed=11, time_scale=0.01, clock=pinned_on(TODAY)))
    service = sandbox_service(sandbox, Path(tempfile.mkdtemp()), KLAVIYO_MCP_LOG_LEVEL="WARNING")
    out = {}
    for kind, (tool, arguments) in ASKED.items():
        call = {"account": "acme", "timeframe": "last_30_days", **arguments}
        run_tool(get_tool(tool), service, call, CallContext(Deadline(60)))
        started = time.perf_counter()
        envelope = run_tool(get_tool(tool), service, call, CallContext(Deadline(60)))  # warm: cached report
        chart = chart_of(envelope)
        assert chart is not None, kind
        out[kind] = (chart, time.perf_counter() - started)
    return out


def floor_png(chart: Chart) -> bytes:
    """matplotlib's own cost for the same bars: one Figure, the same size and DPI, nothing else."""
    from matplotlib.figure import Figure

    from klaviyo_analytics.render.figure import DPI, SIZE

    fig = Figure(figsize=SIZE[chart.kind], dpi=DPI)
    axes = fig.subplots(1, len(chart.panels), squeeze=False)[0]
    for ax, panel in zip(axes, chart.panels, strict=True):
        for bars in panel.bars:
            xs = [i for i, v in enumerate(bars.values) if v is not None]
            ax.bar(xs, [bars.values[i] or 0.0 for i in xs])
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def median_ms(fn: Callable[[], Any], samples: list[float]) -> None:
    started = time.perf_counter()
    fn()
    samples.append((time.perf_counter() - started) * 1000)


def first_import_ms(code: str, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from klaviyo_analytics.render.figure import render_png, render_svg

    rows = ["| chart | tool call (warm) | PNG | SVG | floor: bare bars PNG | PNG / floor |", "|---" * 6 + "|"]
    for kind, (chart, call_s) in answers().items():
        png: list[float] = []
        svg: list[float] = []
        floor: list[float] = []
        render_png(chart), floor_png(chart)  # warm: fonts loaded, caches filled
        for _ in range(args.rounds):
            median_ms(lambda c=chart: render_png(c), png)
            median_ms(lambda c=chart: floor_png(c), floor)
            median_ms(lambda c=chart: render_svg(c), svg)
        p, s, f = (statistics.median(x) for x in (png, svg, floor))
        rows.append(f"| {kind} | {call_s * 1000:.1f} ms | {p:.0f} ms | {s:.0f} ms | {f:.0f} ms | {p / f:.2f} |")
    bare = first_import_ms("pass")
    drawing = first_import_ms("import klaviyo_analytics.render.figure")
    rows += [
        "",
        f"First import of the drawing code in a fresh interpreter: {drawing - bare:.0f} ms over a bare "
        f"interpreter ({bare:.0f} ms), paid by a process's first chart only (start-up does not import it).",
    ]
    print("\n".join(rows))


if __name__ == "__main__":
    main()
