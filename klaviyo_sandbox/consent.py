"""A profile's ``subscriptions`` (``additional-fields[profile]=subscriptions``): the consent that
subscription jobs set (subscriptions.py), or, for seeded profiles, consent inferred from list
membership."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from klaviyo_sandbox.models import Account, Profile


def _iso(value: datetime) -> str:
    return value.isoformat()


def profile_subscriptions(account: Account, p: Profile) -> dict[str, Any]:
    """Consent a subscription job set; otherwise (seeded profiles) a list member counts as subscribed."""
    given = p.consent.get("email")
    if given is not None:
        consent, when = given["consent"], _iso(given["at"])
    else:
        member = any(p.id in rec.members for rec in account.lists.values())
        consent, when = ("SUBSCRIBED" if member else "NEVER_SUBSCRIBED"), None
    email: dict[str, Any] = {
        "can_receive_email_marketing": consent == "SUBSCRIBED",
        "consent": consent,
        "suppression": [{"reason": "UNSUBSCRIBE", "timestamp": when}] if consent == "UNSUBSCRIBED" else [],
        "list_suppressions": [],
    }
    if given is not None:
        email |= {"consent_timestamp": when, "last_updated": when, "method": "API", "method_detail": given["source"]}
    out: dict[str, Any] = {"email": {"marketing": email}}
    sms = p.consent.get("sms")
    if sms is not None:
        out["sms"] = {
            "marketing": {
                "can_receive_sms_marketing": sms["consent"] == "SUBSCRIBED",
                "consent": sms["consent"],
                "consent_timestamp": _iso(sms["at"]),
                "method": "API",
                "method_detail": sms["source"],
                "last_updated": _iso(sms["at"]),
            }
        }
    return out
