"""Money in the account's currency: which currency an account's figures are in, and how to show one.

Klaviyo reports every value (``conversion_value``, ``sum_value``, predicted CLV…) in the account's
``preferred_currency``. It comes from accounts.toml (``install.py --check-api`` records it), else
from ``GET /api/accounts`` — the same request, and so the same cached entry, as the timezone
lookup (freshness.py): one call per account a day at most. A lookup that fails leaves the currency
unknown (``null``) with a warning; it never fails the answer it labels.

Amounts are never added across currencies: ``totals_by_currency`` keeps one total per currency,
and ``convert`` uses only a rate the user configured (``KLAVIYO_MCP_CURRENCY_RATES``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.accounts import Account
from klaviyo_analytics.service.core import CallContext, KlaviyoService
from klaviyo_analytics.service.freshness import ACCOUNTS_PATH, TIMEZONE_TTL_SECONDS

# Symbols read without doubt; any other code is written after the amount ("1,234.00 CHF").
SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥", "INR": "₹"}
# Currencies with no minor unit are shown without decimals.
NO_DECIMALS = {"JPY", "KRW", "ISK", "CLP", "VND"}
UNKNOWN_NOTE = "The account's currency could not be read from Klaviyo; money figures are in its own currency."


def account_currency(svc: KlaviyoService, account: Account, ctx: CallContext) -> str | None:
    """The account's ISO 4217 currency: accounts.toml, else Klaviyo's account (cached for a day)."""
    if account.currency:
        return account.currency
    try:
        document = svc.client.get(account, ACCOUNTS_PATH, deadline=ctx.deadline, cache_ttl=TIMEZONE_TTL_SECONDS)
    except KlaviyoMCPError:
        ctx.notes.append(UNKNOWN_NOTE)
        return None
    for item in document.get("data") or []:
        code = (item.get("attributes") or {}).get("preferred_currency")
        if isinstance(code, str) and code:
            return code.upper()
    ctx.notes.append(UNKNOWN_NOTE)
    return None


def format_money(value: float | None, currency: str | None, *, whole: bool = False) -> str:
    """``£1,234.00``, ``$12``, ``1,234.00 CHF``; ``—`` for no value. Never a bare ``$`` by default."""
    if value is None:
        return "—"
    digits = 0 if whole or (currency or "") in NO_DECIMALS else 2
    sign, amount = ("−" if value < 0 else ""), f"{abs(float(value)):,.{digits}f}"
    symbol = SYMBOLS.get(currency or "")
    if symbol:
        return f"{sign}{symbol}{amount}"
    return f"{sign}{amount} {currency}" if currency else f"{sign}{amount}"


def totals_by_currency(amounts: Iterable[tuple[str | None, float | None]]) -> dict[str, float]:
    """One total per currency (``"unknown"`` when an account's could not be read); never a mixed sum."""
    totals: dict[str, float] = {}
    for currency, amount in amounts:
        if amount is None:
            continue
        key = currency or "unknown"
        totals[key] = round(totals.get(key, 0.0) + amount, 2)
    return dict(sorted(totals.items()))


def convert(totals: Mapping[str, float], target: str | None, rates: Mapping[str, float]) -> float | None:
    """The totals in ``target`` with the configured ``rates`` (units of target per unit), or None
    when a currency has no configured rate: a guessed rate would be a wrong number."""
    if not target:
        return None
    total = 0.0
    for currency, amount in totals.items():
        rate = 1.0 if currency == target else rates.get(currency)
        if rate is None:
            return None
        total += amount * rate
    return round(total, 2)
