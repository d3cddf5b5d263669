"""Webhook endpoint URLs are checked as a browser parses them: forms the URL parser normalises
(fullwidth digits, ideographic dots, fullwidth names, a soft hyphen, a backslash, percent-encoding,
IPv4 inside 6to4, Teredo and NAT64 addresses) cannot reach a local or private host."""

from __future__ import annotations

import pytest

from klaviyo_analytics.actions.propose_webhooks import check_endpoint_url as used_by_the_tool
from klaviyo_analytics.errors import InvalidArgumentError
from klaviyo_analytics.rules.outbound_url import check_endpoint_url

REFUSED = {
    "fullwidth digits": ("https://１２７.０.０.１/hook", "loopback"),
    "ideographic dots": ("https://127。0。0。1/hook", "loopback"),
    "fullwidth full stops": ("https://127．0．0．1/hook", "loopback"),
    "fullwidth .localhost": ("https://a.ｌｏｃａｌｈｏｓｔ/hook", "loopback"),
    "fullwidth .internal": ("https://metadata.google.ｉｎｔｅｒｎａｌ/computeMetadata/v1/", "private"),
    "soft hyphen": ("https://local\u00adhost/hook", "loopback"),
    "backslash before userinfo": ("https://127.0.0.1\\@hooks.example.com/", "loopback"),
    "percent-encoded host": ("https://%6c%6fcalhost/hook", "loopback"),
    "tab inside the host": ("https://loc\talhost/hook", "loopback"),
    "6to4 of 127.0.0.1": ("https://[2002:7f00:1::]/hook", "loopback"),
    "6to4 of 10.0.0.1": ("https://[2002:a00:1::]/hook", "private"),
    "Teredo with a loopback client": ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", "loopback"),
    "NAT64 of 127.0.0.1": ("https://[64:ff9b::7f00:1]/hook", "loopback"),
    "NAT64 of the metadata address": ("https://[64:ff9b::a9fe:a9fe]/hook", "link_local"),
    "local-use NAT64": ("https://[64:ff9b:1::a00:1]/hook", "private"),
    "short IPv4": ("https://127.1/hook", "loopback"),
    "userinfo": ("https://hooks.example.com@evil.example/hook", "no_credentials"),
}


@pytest.mark.parametrize(("url", "rule"), REFUSED.values(), ids=REFUSED.keys())
def test_normalised_forms_of_local_hosts_are_refused(url: str, rule: str) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        check_endpoint_url(url)
    assert refused.value.details["field"] == "endpoint_url"
    assert refused.value.details["reason"] == rule


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://hooks.example.com/k?a=1", "https://hooks.example.com/k?a=1"),
        ("https://Hooks.Example.com:8443/k", "https://hooks.example.com:8443/k"),
        ("https://bücher.example/k", "https://xn--bcher-kva.example/k"),  # stored as checked: ASCII
        ("https://ｈｏｏｋｓ.example.com/k", "https://hooks.example.com/k"),
        ("https://[2002:808:808::]/k", "https://[2002:808:808::]/k"),  # 6to4 of a public address
    ],
)
def test_public_endpoints_pass_and_are_stored_as_read(url: str, stored: str) -> None:
    assert check_endpoint_url(url) == stored


def test_the_webhook_tool_uses_this_check() -> None:
    assert used_by_the_tool is check_endpoint_url
