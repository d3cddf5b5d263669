"""Is a URL that something else will call (a Klaviyo webhook's endpoint) a public https endpoint?

The URL is first normalised the way a browser's URL parser (WHATWG URL) reads it, and the checks run
on that reading, so a form the parser rewrites cannot slip past them:

- tabs and newlines dropped, leading/trailing C0 controls and spaces trimmed, ``\\`` read as ``/``
  (``https://evil.example\\@127.0.0.1/`` is a host of 127.0.0.1 to a browser);
- the host percent-decoded and mapped by UTS-46 (the ``idna`` package; non-transitional, no STD3
  rules, as WHATWG's domain-to-ASCII): fullwidth digits and letters become ASCII, the ideographic and
  fullwidth full stops become ``.``, a soft hyphen disappears — ``１２７。０。０。１`` is 127.0.0.1 and
  ``ａ．ｌｏｃａｌｈｏｓｔ`` is a.localhost;
- a host that is a number in any form ``inet_aton`` accepts (``127.1``, ``0x7f.0.0.1``,
  ``2130706433``) is that IPv4 address;
- an IPv6 address that carries an IPv4 address — mapped (``::ffff:0:0/96``), 6to4 (``2002::/16``),
  Teredo (``2001::/32``, server and client) and NAT64 (``64:ff9b::/96``, ``64:ff9b:1::/48``) — is
  judged by that IPv4 address too (Python calls 6to4 and NAT64 forms of 127.0.0.1 global).

Then: https only, no credentials, no loopback/private/link-local/reserved/multicast/non-global
address, no ``localhost``/``.local``/``.internal``/… name, no single-label name. The error names the
rule. Hostnames are not resolved (Klaviyo calls the endpoint, not this server). The URL returned is
the normalised one (ASCII host), so what is stored is what was checked.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote, urlsplit, urlunsplit

import idna

from klaviyo_analytics.errors import InvalidArgumentError

LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_WHAT = {
    "loopback": "a loopback address", "unspecified": "the unspecified address", "link_local": "a link-local address",
    "reserved": "a reserved address", "private": "a private-network address", "multicast": "a multicast address",
    "not_global": "an address that is not publicly routable",
}  # fmt: skip
_TAB_OR_NEWLINE = re.compile("[\t\n\r]")
_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))


def _bad_url(rule: str, why: str, field: str = "endpoint_url") -> InvalidArgumentError:
    return InvalidArgumentError(f"{field} {why}.", field=field, rule="public_endpoint", reason=rule)


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host):
        try:  # the legacy forms inet_aton accepts (and WHATWG's IPv4 parser): 127.1, 0x7f.0.0.1, 2130706433
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo server and client, NAT64)."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += list(address.teredo)
    if any(address in network for network in NAT64):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _rule_of(address: IPAddress) -> str | None:
    for rule, flag in (
        ("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
        ("link_local", address.is_link_local), ("reserved", address.is_reserved), ("private", address.is_private),
        ("multicast", address.is_multicast), ("not_global", not address.is_global),
    ):  # fmt: skip
        if flag:
            return rule
    return None


def ip_rule(address: IPAddress) -> tuple[str, IPAddress] | None:
    """(rule, the address it applies to) if ``address`` or an IPv4 address inside it is not public."""
    inner = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
    for candidate in (*inner, address):
        rule = _rule_of(candidate)
        if rule:
            return rule, candidate
    return None


def browser_host(raw: str, field: str = "endpoint_url") -> str:
    """The host as WHATWG's host parser reads it: percent-decoded, UTS-46 mapped, labels to ASCII."""
    host = unquote(raw)
    if host.startswith("["):
        return host.lower()
    try:
        mapped = idna.uts46_remap(host, std3_rules=False, transitional=False)
        labels = [label if label.isascii() else idna.encode(label).decode("ascii") for label in mapped.split(".")]
    except (idna.IDNAError, UnicodeError) as exc:
        raise _bad_url("malformed", f"has a host a browser would refuse ({exc})", field) from None
    return ".".join(labels).lower()


def check_endpoint_url(url: str, field: str = "endpoint_url") -> str:
    """The URL as a browser reads it, or INVALID_ARGUMENT naming ``field`` and the rule it breaks.

    Also the first check on an OAuth client id that is a URL (``auth.client_metadata``), with ``field="client_id"``.
    """
    text = _TAB_OR_NEWLINE.sub("", url).strip(_C0_OR_SPACE).replace("\\", "/")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError as exc:
        raise _bad_url("malformed", f"is not a valid URL ({exc})", field) from None
    if parts.scheme.lower() != "https":
        got = f"got {parts.scheme!r}" if parts.scheme else "no scheme given"
        raise _bad_url("https_only", f"must use https ({got})", field)
    if "@" in parts.netloc:
        raise _bad_url("no_credentials", "must not carry credentials (user:password@); they would be stored", field)
    raw_host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    host = browser_host(raw_host, field).rstrip(".")
    if not host:
        raise _bad_url("host_required", "has no host", field)
    address = _literal_ip(host)
    if address is not None:
        found = ip_rule(address)
        if found:
            rule, culprit = found
            inside = "" if culprit == address else f", inside {address}"
            raise _bad_url(rule, f"points at {_WHAT[rule]} ({culprit}{inside}); use a public https endpoint", field)
        host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    elif host == "localhost" or host.endswith(LOCAL_SUFFIXES):
        raise _bad_url("loopback" if "localhost" in host else "private", f"names a local host ({host!r})", field)
    elif "." not in host:
        raise _bad_url("public_hostname", f"host {host!r} is a single-label (intranet) name", field)
    netloc = host + (f":{parts.port}" if parts.port is not None else "")
    if text == url.strip() and netloc == parts.netloc:
        return text
    return urlunsplit(("https", netloc, parts.path, parts.query, parts.fragment))
