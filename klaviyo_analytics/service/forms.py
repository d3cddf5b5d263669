"""klaviyo_get_form_performance: views, submits and submit rate per signup form and version.

One ``form-values`` report per (≤ 1 year) chunk answers every form question on a window: it is
asked with every statistic the tool shows, grouped by form and version, never filtered, so one
form's question after all forms' (or before) is a selection from the cached answer — the same
rule as the campaign and flow reports (reports.py). A given ``form_id`` is checked with one
cached ``GET /api/forms/{id}`` before any report call (``form_id`` is in entities.ID_FIELDS, checked
at the reports' one door), so a typo is NOT_FOUND even when the report quota is spent. List
growth is one metric-aggregates call (not the report quota):
``Subscribed to List`` counted by ``form_id``. Names and versions come from ``GET /api/forms``
and one ``form-versions`` call per form shown, cached for an hour.
"""

from __future__ import annotations

from typing import Any

from klaviyo_analytics.errors import InvalidArgumentError, KlaviyoMCPError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.rules.significance import two_proportions
from klaviyo_analytics.rules.timeframes import Period, chunk, resolve_period
from klaviyo_analytics.schemas.forms import (
    AbReadout,
    FormCounts,
    FormPerformanceParams,
    FormPerformanceResult,
    FormRow,
    FormSeries,
    FormVersionRow,
)
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.freshness import report_ttl
from klaviyo_analytics.service.metrics import aggregate, find_metrics
from klaviyo_analytics.service.reports import chunk_warning
from klaviyo_analytics.service.trends import INTERVAL_MAX_DAYS

STATISTICS = ["viewed_form", "viewed_form_uniques", "submits", "closed_form"]
SERIES_STATISTICS = ["viewed_form", "viewed_form_uniques", "submits"]
GROUP_BY = ["form_id", "form_version_id"]
METADATA_TTL_SECONDS = 3600.0
SUBSCRIBED = "Subscribed to List"
SIGNIFICANCE = 0.05
AB_TEST = "two-proportion z-test (pooled) on submits over unique viewers, two-sided, p < 0.05"
BENCHMARK = (
    "No cited benchmark for signup-form submit rates ships with this product (Klaviyo's API documentation gives "
    "none), so no health band is applied: compare forms with each other and with their own history."
)
SUBMIT_RATE_NOTE = "Submit rate is submits over unique viewers, as in Klaviyo's form reports."
Counts = dict[str, int]


def _rate(counts: Counts) -> float | None:
    viewers = counts.get("viewed_form_uniques", 0)
    return round(counts.get("submits", 0) / viewers, 4) if viewers else None


def _form_counts(counts: Counts) -> dict[str, Any]:
    return {
        "views": counts.get("viewed_form", 0),
        "unique_views": counts.get("viewed_form_uniques", 0),
        "submits": counts.get("submits", 0),
        "submit_rate": _rate(counts),
        "closes": counts.get("closed_form", 0),
    }


def _add(target: Counts, statistics: dict[str, Any]) -> None:
    for name in STATISTICS:
        target[name] = target.get(name, 0) + int(statistics.get(name) or 0)


def version_counts(
    svc: KlaviyoService, account: Account, period: Period, ctx: CallContext
) -> tuple[dict[tuple[str, str], Counts], list[str]]:
    """Counts per (form id, version id), summed over the window's ≤ 1-year chunks."""
    chunks = chunk(period)
    out: dict[tuple[str, str], Counts] = {}
    for window in chunks:
        attributes = {"statistics": STATISTICS, "group_by": GROUP_BY}
        ttl = report_ttl(svc, account, window, ctx)
        report = svc.values_report(account, "form-values", window, attributes, ctx, cache_ttl=ttl)
        for row in report.results:
            groupings = row.get("groupings") or {}
            key = (str(groupings.get("form_id") or ""), str(groupings.get("form_version_id") or ""))
            if key[0]:
                _add(out.setdefault(key, {}), row.get("statistics") or {})
    return out, chunk_warning(chunks)


def _metadata(
    svc: KlaviyoService, account: Account, form_ids: set[str], ctx: CallContext
) -> tuple[dict[str, Any], dict[str, Any]]:
    """({form id: attributes}, {version id: attributes}) for the forms shown."""
    forms = {
        str(item.get("id")): item.get("attributes") or {}
        for item in svc.client.get_all(account, "/api/forms", {}, deadline=ctx.deadline, cache_ttl=METADATA_TTL_SECONDS)
    }
    versions: dict[str, Any] = {}
    for form_id in sorted(form_ids):
        path = f"/api/forms/{form_id}/form-versions"
        for item in svc.client.get_all(account, path, {}, deadline=ctx.deadline, cache_ttl=METADATA_TTL_SECONDS):
            versions[str(item.get("id"))] = item.get("attributes") or {}
    return forms, versions


def list_growth(svc: KlaviyoService, account: Account, period: Period, ctx: CallContext) -> dict[str, int] | None:
    """New list subscriptions per form id (``Subscribed to List`` by ``form_id``); None without the metric."""
    metric = find_metrics(svc, account, [SUBSCRIBED], ctx).get(SUBSCRIBED)
    if metric is None:
        return None
    out: dict[str, int] = {}
    for window in chunk(period):
        found = aggregate(
            svc, account, metric.id, window, ctx, measurements=["count"], interval="month", by=["form_id"]
        )
        for (form_id, *_), value in found.totals("count").items():
            if form_id:
                out[form_id] = out.get(form_id, 0) + int(value)
    return out


def ab_readout(versions: list[FormVersionRow]) -> AbReadout | None:
    """The two most-viewed versions compared on submit rate; None for a form with one version."""
    shown = sorted((v for v in versions if v.unique_views), key=lambda v: -v.unique_views)[:2]
    if len(shown) < 2:
        return None
    a, b = shown
    p = two_proportions(a.submits, a.unique_views, b.submits, b.unique_views)
    significant = p is not None and p < SIGNIFICANCE
    better = a if (a.submit_rate or 0) >= (b.submit_rate or 0) else b
    name = better.variation_name or better.form_version_id
    if p is None:
        verdict = "Too few submits to compare the versions yet."
    elif significant:
        verdict = f"Version {name} converts better ({better.submit_rate:.2%}), p = {p:.3g}."
    else:
        verdict = f"No winner yet: the difference could be chance (p = {p:.2g}); keep the test running."
    return AbReadout(
        test=AB_TEST,
        p_value=round(p, 6) if p is not None else None,
        significant=significant,
        leader=better.form_version_id if significant else None,
        verdict=verdict,
    )


def _series(
    svc: KlaviyoService, account: Account, period: Period, interval: str, names: dict[str, Any], form_id: str | None,
    ctx: CallContext,
) -> tuple[list[str], list[FormSeries]]:  # fmt: skip
    if period.days > INTERVAL_MAX_DAYS[interval]:
        raise InvalidArgumentError(
            f"a {interval} series covers at most {INTERVAL_MAX_DAYS[interval]} days; this window has {period.days}. "
            "Use a longer interval or a shorter window.",
            field="interval",
        )
    attributes = {"statistics": SERIES_STATISTICS, "group_by": ["form_id"], "interval": interval}
    ttl = report_ttl(svc, account, period, ctx)
    report = svc.values_report(account, "form-series", period, attributes, ctx, cache_ttl=ttl)
    rows = []
    for row in report.results:
        fid = str((row.get("groupings") or {}).get("form_id") or "")
        if not fid or (form_id and fid != form_id):
            continue
        values = row.get("statistics") or {}
        views = [int(v or 0) for v in values.get("viewed_form") or []]
        uniques = [int(v or 0) for v in values.get("viewed_form_uniques") or []]
        submits = [int(v or 0) for v in values.get("submits") or []]
        rates = [round(s / u, 4) if u else None for s, u in zip(submits, uniques, strict=False)]
        rows.append(
            FormSeries(
                form_id=fid, name=names.get(fid, {}).get("name"), views=views, submits=submits, submit_rate=rates
            )
        )
    return report.date_times, rows


def get_form_performance(
    svc: KlaviyoService, params: FormPerformanceParams, ctx: CallContext
) -> ToolResult[FormPerformanceResult]:
    account = svc.account(params.account)
    period = resolve_period(params.start_date, params.end_date, params.timeframe, svc.today(account))
    assert period is not None  # required=True
    per_version, warnings = version_counts(svc, account, period, ctx)
    if params.form_id:
        per_version = {k: v for k, v in per_version.items() if k[0] == params.form_id}
    form_ids = {form_id for form_id, _ in per_version}
    try:
        forms, versions = _metadata(svc, account, form_ids, ctx)
    except KlaviyoMCPError as exc:
        forms, versions = {}, {}
        warnings.append(f"Form names could not be fetched ({exc.code}); ids are shown.")
        ctx.incomplete.append("form names")
    growth = list_growth(svc, account, period, ctx)
    if growth is None:
        warnings.append(f"The account has no {SUBSCRIBED!r} metric, so list growth per form is unknown.")
    rows = []
    totals: Counts = {}
    for form_id in form_ids:
        version_rows = []
        form_totals: Counts = {}
        for (fid, vid), counts in per_version.items():
            if fid != form_id:
                continue
            _add(form_totals, counts)
            meta = versions.get(vid, {})
            version_rows.append(
                FormVersionRow(
                    form_version_id=vid, variation_name=meta.get("variation_name"), form_type=meta.get("form_type"),
                    status=meta.get("status"), **_form_counts(counts),
                )
            )  # fmt: skip
        _add(totals, form_totals)
        version_rows.sort(key=lambda v: -v.unique_views)
        info = forms.get(form_id, {})
        rows.append(
            FormRow(
                form_id=form_id, name=info.get("name"), status=info.get("status"), ab_test=info.get("ab_test"),
                list_growth=None if growth is None else growth.get(form_id, 0), versions=version_rows,
                ab_result=ab_readout(version_rows), **_form_counts(form_totals),
            )
        )  # fmt: skip
    rows.sort(key=lambda r: (-r.submits, r.form_id))
    if not rows:
        which = f"The form {params.form_id}" if params.form_id else "No form"
        warnings.append(f"{which} had no views in {period.start}..{period.end} (a draft form has none).")
    warnings.append(SUBMIT_RATE_NOTE)
    result: dict[str, Any] = {}
    if params.interval:
        dates, series = _series(svc, account, period, params.interval, forms, params.form_id, ctx)
        result = {"interval": params.interval, "date_times": dates, "series": series}
    return ToolResult(
        FormPerformanceResult(
            forms=rows,
            form_count=len(rows),
            totals=FormCounts(**_form_counts(totals)),
            list_growth_total=None if growth is None else sum(r.list_growth or 0 for r in rows),
            benchmark=BENCHMARK,
            **result,
        ),
        account=account.slug,
        period=period,
        warnings=warnings,
    )
