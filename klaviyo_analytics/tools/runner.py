"""Running a catalog tool, the same way for every adapter.

``run_tool`` validates the raw arguments, checks the caller's grants (``access.authorize``), calls
the handler and wraps its result in the envelope; every adapter calls it, which is why MCP and
REST return identical payloads and enforce the same roles.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

from pydantic import ValidationError

from klaviyo_analytics.actions.secret_env import refuse_in_input
from klaviyo_analytics.errors import InvalidArgumentError, KlaviyoMCPError
from klaviyo_analytics.klaviyo.memo import Memoized, recording
from klaviyo_analytics.logs import get_logger
from klaviyo_analytics.quota.tally import note_report, tally
from klaviyo_analytics.rules.timeframes import future_warning
from klaviyo_analytics.rules.untrusted import is_plain, scrub, user_content
from klaviyo_analytics.schemas.common import Envelope, Metadata, MoneyAnswer, PeriodOut, StrictModel
from klaviyo_analytics.service.core import CallContext, KlaviyoService, ToolResult
from klaviyo_analytics.service.entities import named_ids
from klaviyo_analytics.service.money import account_currency
from klaviyo_analytics.tools.access import authorize
from klaviyo_analytics.tools.resume import resumed
from klaviyo_analytics.tools.spec import ToolSpec

log = get_logger("klaviyo_analytics.tools")


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(body)"


def validate_params(model: type[StrictModel], raw: Mapping[str, Any]) -> StrictModel:
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        allowed_fields = sorted(model.model_fields)
        for error in exc.errors(include_url=False, include_input=False):
            field = _field_name(error["loc"])
            if error["type"] == "extra_forbidden":
                message = f"unknown field {field!r}; allowed fields: {', '.join(allowed_fields) or '(none)'}"
            else:
                message = f"{field}: {error['msg']}"
            problems.append({"field": field, "message": message})
        first = problems[0]
        return_msg = first["message"] if len(problems) == 1 else f"{first['message']} (and {len(problems) - 1} more)"
        raise InvalidArgumentError(return_msg, field=first["field"], errors=problems) from None


def run_tool(spec: ToolSpec, service: KlaviyoService, raw: Mapping[str, Any], ctx: CallContext) -> dict[str, Any]:
    """The envelope as a plain dict (MCP's structured content)."""
    # Hidden characters out of every string, plan bodies and echoed input included (untrusted.scrub).
    payload: dict[str, Any] = scrub(run_tool_envelope(spec, service, raw, ctx).model_dump(mode="json"))
    return payload


def run_tool_json(spec: ToolSpec, service: KlaviyoService, raw: Mapping[str, Any], ctx: CallContext) -> bytes:
    """The same envelope as JSON bytes (the REST body), scrubbed as ``run_tool``'s.

    pydantic serializes it in one step; only a body with something beyond printable ASCII or an
    escape in it (where a hidden character could be) takes the slower scrubbed path.
    """
    envelope = run_tool_envelope(spec, service, raw, ctx)
    text = envelope.model_dump_json()
    if is_plain(text) and "\\" not in text:
        return text.encode()
    return json.dumps(scrub(envelope.model_dump(mode="json")), separators=(",", ":"), ensure_ascii=False).encode()


def run_tool_envelope(
    spec: ToolSpec, service: KlaviyoService, raw: Mapping[str, Any], ctx: CallContext
) -> Envelope[Any]:
    started = time.perf_counter()
    outcome, partial = "INTERNAL_ERROR", False
    try:
        params = validate_params(spec.params, raw)
        if not spec.read_only:  # before any read: a write tool's input never asks for a secret
            refuse_in_input(params.model_dump(mode="json", exclude_none=True))
        scoped, params = authorize(spec, service, params, ctx)
        if spec.read_only:  # the ids it names are checked before its first report (entities.py)
            ctx.named_ids[:] = named_ids(params)
        memo = service.client.cache.memo if spec.read_only else None
        key = _memo_key(spec, scoped, params) if memo is not None else None
        hit = memo.get(key) if memo is not None else None
        # Account text in the output models is cleaned, or dropped, as KLAVIYO_MCP_USER_CONTENT says (untrusted.py).
        with user_content(service.settings.user_content), tally() as quota_use, recording() as reads:
            notes_before = len(ctx.notes)
            if hit is not None:
                # The same answer the handler would give from the same cache entries (memo.py): its
                # reads count as cache hits, and its reports too, so metadata.quota is stated afresh.
                result = hit.result
                service.client.cache.hits += hit.reads
                ctx.notes.extend(hit.notes)
                for account, bucket, limit in hit.reports:
                    note_report(account, bucket, limit, sent=False)
            else:
                result = with_currency(scoped, spec.handler(scoped, params, ctx), ctx)
                if spec.resume_rows is not None:
                    result = resumed(spec.name, *spec.resume_rows, scoped, params, result)
            # The account's report budget, stale answers and a degraded store, from what the client noted.
            quota_extra, quota_warnings = quota_use.metadata(service.client.pacer, service.settings.quota_warn_share)
            extra = {**quota_extra, **result.extra_metadata, **({"partial": True} if ctx.incomplete else {})}
            metadata = Metadata(
                account=result.account,
                period=PeriodOut(**result.period.to_dict()) if result.period else None,
                revision=service.settings.klaviyo_revision,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                **extra,
            )
            late = future_warning(result.period, _today_of(service, result.account)) if result.period else None
            found = [*ctx.notes, *quota_warnings, *([late] if late else [])]
            warnings = [*result.warnings, *dict.fromkeys(w for w in found if w not in result.warnings)]
            envelope = spec.envelope(data=result.data, metadata=metadata, warnings=warnings)
            # Only a whole, fresh answer is kept: no pending part, stale report or quota warning.
            whole = not (ctx.incomplete or quota_warnings or quota_use.stale_fetched_at or quota_use.degraded)
            if hit is None and memo is not None and reads.memoizable and whole and extra.get("partial") is not True:
                reports = tuple((a, b, entry[0]) for (a, b), entry in quota_use.reports.items())
                memo.put(key, Memoized(result, tuple(ctx.notes[notes_before:]), reports, reads.expires_at, reads.count))
        log.info("tool.call", tool=spec.name, caller=ctx.caller, latency_ms=metadata.latency_ms)
        outcome, partial = "ok", extra.get("partial") is True
        return envelope
    except KlaviyoMCPError as exc:
        outcome = exc.code
        raise
    finally:
        # Both adapters pass here, so one call records MCP and REST alike (transport from the caller).
        # Imported here: prometheus_client is not worth loading before the first call.
        from klaviyo_analytics.adapters import prometheus

        seconds = time.perf_counter() - started
        transport = ctx.transport or prometheus.transport_of(ctx.caller)
        prometheus.observe_tool(service, spec.name, transport, seconds, outcome, partial=partial)


def with_currency(service: KlaviyoService, result: ToolResult[Any], ctx: CallContext) -> ToolResult[Any]:
    """State an answer's currency in ``metadata.currency`` when its model holds money
    (:class:`MoneyAnswer`): one place for every tool, so no money figure leaves without its
    currency. An answer about several accounts (the portfolio) states each row's instead."""
    if not isinstance(result.data, MoneyAnswer) or result.account is None or "currency" in result.extra_metadata:
        return result
    currency = account_currency(service, service.account(result.account), ctx)
    return replace(result, extra_metadata={**result.extra_metadata, "currency": currency})


def _memo_key(spec: ToolSpec, scoped: KlaviyoService, params: StrictModel) -> tuple[Any, ...]:
    """Everything a read-only answer depends on besides the cache: the tool, its validated
    arguments, the accounts the caller sees (and their default, and currency), the text mode, the
    configured exchange rates and the day."""
    default = scoped.registry.default
    return (
        spec.name,
        params.model_dump_json(),
        tuple(scoped.registry.names),
        default.slug if default else None,
        scoped.settings.user_content,
        scoped.settings.currency_rates,
        tuple(account.currency for account in scoped.registry.accounts.values()),
        # Each account's own date: presets move when any of them turns a day, not only at UTC midnight.
        scoped.today(),
        tuple(scoped.today(account) for account in scoped.registry.accounts.values()),
    )


def _today_of(service: KlaviyoService, slug: str | None) -> date:
    """Today where the answer's account is (UTC for an answer about no one account)."""
    account = service.registry.accounts.get(slug) if slug else None
    return service.today(account)


def internal_error(spec_name: str, exc: BaseException) -> KlaviyoMCPError:
    """An unexpected failure: logged in full to stderr, reported without internals."""
    log.exception("tool.crash", tool=spec_name, error_type=type(exc).__name__)
    return KlaviyoMCPError(f"{spec_name} failed unexpectedly; the server log has the details")
