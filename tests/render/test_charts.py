"""Charts say what they show: every kind is drawn, read back from its SVG text layer (title, period,
axis labels with units and currency, value labels, legend, dates) and measured (bars against the
axis's own ticks, a comparison's two periods on one scale). The PNG is the same figure, reproducible."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from PIL import Image

from klaviyo_analytics.render.charts import chart_of
from klaviyo_analytics.render.figure import render_png, render_svg
from tests.render.chart_reading import panels, texts

PERIOD = {"start_date": "2026-11-07", "end_date": "2026-12-06"}
COMPARE: dict[str, Any] = {
    "data": {
        "entity": "campaign", "comparison": "previous_equal_window", "currency": "GBP",
        "current_period": PERIOD, "prior_period": {"start_date": "2026-10-08", "end_date": "2026-11-06"},
        "current_totals": {"conversion_value": 5209.36, "sent": 17252, "conversions": 47, "open_rate": 0.32},
        "prior_totals": {"conversion_value": 17249.79, "sent": 52985, "conversions": 163, "open_rate": 0.41},
        "deltas": {"conversion_value": {"absolute": -12040.43, "pct_change": -0.698}},
    },
    "metadata": {"account": "globex", "period": PERIOD},
}  # fmt: skip
SERIES: dict[str, Any] = {
    "data": {
        "entity": "flow", "interval": "weekly",
        "date_times": ["2026-11-02T00:00:00-05:00", "2026-11-09T00:00:00-05:00", "2026-11-16T00:00:00-05:00"],
        "buckets": [{"start_date": "2026-11-07", "end_date": "2026-11-08", "days": 2, "partial": True},
                    {"start_date": "2026-11-09", "end_date": "2026-11-15", "days": 7, "partial": False},
                    {"start_date": "2026-11-16", "end_date": "2026-11-22", "days": 7, "partial": False}],
        "series": [{"groupings": {"flow_id": "F1"}, "statistics": {"conversion_value": [100.0, 3000.5, 1500.25]}},
                   {"groupings": {"flow_id": "F2"}, "statistics": {"conversion_value": [20.0, 0.0, None]}}],
    },
    "metadata": {"account": "acme", "period": PERIOD, "currency": "USD"},
}  # fmt: skip
SPLIT: dict[str, Any] = {
    "data": {"total_revenue": 147237.6, "email_share": 0.13, "conversion_metric_id": "M", "channels": [],
             "sources": [{"source": "campaigns", "revenue": 5209.36, "share": 0.0354},
                         {"source": "flows", "revenue": 15937.22, "share": 0.1082},
                         {"source": "other", "revenue": 126091.02, "share": 0.8564}]},
    "metadata": {"account": "acme", "period": PERIOD},
}  # fmt: skip


_DRAWN: dict[str, str] = {}


def drawn(envelope: dict[str, Any]) -> str:
    """The envelope's chart as SVG, drawn once per envelope in this run (drawing is the slow part)."""
    key = json.dumps(envelope, sort_keys=True)
    if key not in _DRAWN:
        chart = chart_of(envelope)
        assert chart is not None
        _DRAWN[key] = render_svg(chart)
    return _DRAWN[key]


def test_a_comparison_names_its_periods_units_currency_and_values() -> None:
    words = texts(drawn(COMPARE))
    # title, then the account and the rule that chose the prior window
    assert {"Campaigns: 2026-11-07 to 2026-12-06 vs 2026-10-08 to 2026-11-06", "globex, previous equal window"} <= set(
        words
    )
    assert {"Revenue (GBP)", "Sent (messages)", "Conversions"} <= set(words)  # axis labels with units
    assert {"5,209.36", "17,249.79", "17,252", "52,985", "47", "163"} <= set(words)  # value labels
    assert {"prior: 2026-10-08 to 2026-11-06", "current: 2026-11-07 to 2026-12-06"} <= set(words)  # legend
    assert "Revenue: −69.8%" in words


def test_a_comparison_puts_both_periods_on_one_scale_from_zero() -> None:
    revenue, sent, conversions = panels(drawn(COMPARE))
    now, before = COMPARE["data"]["current_totals"], COMPARE["data"]["prior_totals"]
    for idx, (panel, key) in enumerate(((revenue, "conversion_value"), (sent, "sent"), (conversions, "conversions"))):
        # Each bar measured against the ticks of the axis it stands on reads as its own value.
        assert panel.value_of(f"bar-{idx}-current-1") == pytest.approx(now[key], rel=0.005)
        assert panel.value_of(f"bar-{idx}-prior-0") == pytest.approx(before[key], rel=0.005)


def test_a_zero_current_value_is_a_labelled_zero_not_three_identical_bars() -> None:
    zero = copy.deepcopy(COMPARE)
    zero["data"]["current_totals"] = dict.fromkeys(zero["data"]["current_totals"], 0)
    svg = drawn(zero)
    words = texts(svg)
    for idx, panel in enumerate(panels(svg)):
        bottom, top = panel.bars[f"bar-{idx}-current-1"]
        assert bottom == top  # no height at all
        assert panel.value_of(f"bar-{idx}-prior-0") > 0
    assert words.count("0") >= 3 + 3  # a "0" tick on each axis and a "0" label on each current bar
    assert {"17,249.79", "52,985", "163"} <= set(words)


def test_a_series_dates_its_buckets_marks_the_partial_one_and_states_the_currency() -> None:
    svg = drawn(SERIES)
    words = texts(svg)
    assert {"Flows: revenue per week", "acme, 2026-11-07 to 2026-12-06"} <= set(words)
    assert {"2026-11-07", "2026-11-09", "2026-11-16"} <= set(words)  # dates on the axis: the days counted
    assert {"Revenue (USD)", "week starting"} <= set(words)
    assert {"120.00", "3,000.50", "1,500.25"} <= set(words)  # rows summed per bucket
    assert {"whole week", "part of a week (window edge)"} <= set(words)
    (panel,) = panels(svg)
    assert panel.value_of("bar-0-value-1") == pytest.approx(3000.5, rel=0.005)
    assert panel.value_of("bar-0-partial-0") == pytest.approx(120.0, rel=0.02)


def test_the_revenue_split_shows_each_source_its_share_and_no_guessed_currency() -> None:
    svg = drawn(SPLIT)
    words = texts(svg)
    assert {"Revenue by source", "acme, 2026-11-07 to 2026-12-06", "Revenue", "source"} <= set(words)
    assert {"campaigns", "flows", "other"} <= set(words)
    assert {"5,209.36 (3.5%)", "15,937.22 (10.8%)", "126,091.02 (85.6%)"} <= set(words)
    assert "revenue, 2026-11-07 to 2026-12-06 (total 147,237.60)" in words
    assert not any("$" in w or "USD" in w for w in words)  # the answer states no currency: none is shown
    (panel,) = panels(svg)
    assert panel.value_of("bar-0-value-2") == pytest.approx(126091.02, rel=0.005)


def test_the_png_is_the_same_figure_reproducibly_and_carries_its_values() -> None:
    chart = chart_of(COMPARE)
    assert chart is not None
    png = render_png(chart)
    assert png == render_png(chart)  # no date, version or random id in the file
    image = Image.open(io.BytesIO(png))
    assert image.size == (900, 420) and len(image.getcolors(1 << 20) or []) > 20  # drawn, not blank
    assert image.text["Title"] == chart.title
    assert "Revenue (GBP): prior: 2026-10-08 to 2026-11-06: 17,249.79" in image.text["Description"]
    assert render_svg(chart) == drawn(COMPARE)


def test_nothing_to_draw_is_none() -> None:
    assert chart_of({"data": {"campaigns": []}}) is None
    assert chart_of({"data": {"series": [], "date_times": []}}) is None


def test_a_rate_series_is_weighted_by_deliveries_never_summed_and_shown_in_percent() -> None:
    rates = copy.deepcopy(SERIES)
    rates["data"]["series"] = [
        {"groupings": {}, "statistics": {"open_rate": [0.5, 0.2, None], "delivered": [100, 300, 0]}},
        {"groupings": {}, "statistics": {"open_rate": [0.1, 0.6, None], "delivered": [300, 100, 0]}},
    ]
    chart = chart_of(rates)
    assert chart is not None
    (panel,) = chart.panels
    assert panel.y_label == "Open rate (%)" and panel.percent
    assert [b.values for b in panel.bars] == [(None, pytest.approx(0.3), None), (pytest.approx(0.2), None, None)]
    svg = render_svg(chart)
    assert {"20.00%", "30.00%"} <= set(texts(svg))
    (drawn_panel,) = panels(svg)
    assert drawn_panel.value_of("bar-0-value-1") == pytest.approx(0.3, rel=0.005)


def test_an_hourly_series_writes_the_hour_under_each_bar() -> None:
    hourly = copy.deepcopy(SERIES)
    hourly["data"]["interval"] = "hourly"
    hourly["data"]["date_times"] = [f"2026-12-04T{h:02d}:00:00-05:00" for h in (9, 10, 11)]
    chart = chart_of(hourly)
    assert chart is not None
    assert chart.panels[0].categories == ("2026-12-04 09:00", "2026-12-04 10:00", "2026-12-04 11:00")
    assert chart.x_label == "hour starting"


def test_a_negative_bucket_is_drawn_below_zero_and_an_empty_series_is_not_drawn() -> None:
    odd = copy.deepcopy(SERIES)
    odd["data"]["series"] = [{"groupings": {}, "statistics": {"conversion_value": [None, -40.0, 60.0]}}]
    chart = chart_of(odd)
    assert chart is not None
    (panel,) = panels(drawn(odd))
    assert panel.value_of("bar-0-value-1") == pytest.approx(-40.0, rel=0.01)  # below the zero line, not cut off
    assert "no data" in texts(drawn(odd))  # the first bucket has no value: said, not drawn as a zero
    empty = copy.deepcopy(SERIES)
    empty["data"]["series"] = [{"groupings": {}, "statistics": {"conversion_value": [None, None, None]}}]
    assert chart_of(empty) is None  # no bucket has a value: no chart of empty axes
