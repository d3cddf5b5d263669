"""Links without their tracking parameters, so one page clicked through several tracked URLs is one row.

Stripped: ``utm_*`` (Klaviyo's "add tracking parameters" and any custom ones of that family),
Klaviyo's ``_kx``/``_ke`` identity tokens, and the click ids other tools append (``fbclid``,
``gclid``, ``mc_cid``…). Every other parameter stays, since it may choose the page (``?variant=2``);
the fragment stays too. Scheme and host are lower-cased, a bare host gains its ``/``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING = frozenset({"_kx", "_ke", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "_hsmi"})


def is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING


def strip_tracking(url: str) -> tuple[str, list[str]]:
    """(the URL without tracking parameters, the names of those removed, in order)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url, []
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_tracking(k)]
    removed = list(dict.fromkeys(k for k, _ in pairs if is_tracking(k)))
    path = parts.path or ("/" if parts.netloc else "")
    clean = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(kept), parts.fragment))
    return clean, removed
