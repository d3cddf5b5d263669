"""The weekly digest on the sandbox: deterministic (a fixed anchor), its figures the tools' own,
user text escaped, and the cron command writing one file per account."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from klaviyo_analytics.clock import ManualClock
from klaviyo_analytics.klaviyo.accounts import load_registry
from klaviyo_analytics.klaviyo.client import KlaviyoClient
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.render.digest import to_html, to_markdown
from klaviyo_analytics.service import CallContext, KlaviyoService
from klaviyo_analytics.service import digest as digest_tool
from klaviyo_analytics.service.digest_sections import Digest
from klaviyo_analytics.tools import get_tool, run_tool
from klaviyo_sandbox import Sandbox, SandboxConfig
from tests.product.conftest import TIME_SCALE, sandbox_settings

ANCHOR = date(2026, 6, 17)
SNAPSHOT = Path(__file__).parent.parent / "snapshots" / "digest_acme.md"


@pytest.fixture
def fixed(tmp_path: Path) -> KlaviyoService:
    sandbox = Sandbox(SandboxConfig(seed=11, anchor=ANCHOR, time_scale=TIME_SCALE))
    settings = sandbox_settings(sandbox, tmp_path)
    client = KlaviyoClient(settings, transport=sandbox.transport)
    noon = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, 12, tzinfo=UTC)
    return KlaviyoService(settings, load_registry(settings), client, clock=ManualClock(noon))


def ask(service: KlaviyoService, name: str, **arguments: Any) -> dict[str, Any]:
    return run_tool(get_tool(name), service, arguments, CallContext(Deadline(45)))


def test_the_digest_holds_its_content_and_the_tools_figures(fixed: KlaviyoService) -> None:
    answer = ask(fixed, "klaviyo_get_weekly_digest", account="acme")
    digest = answer["data"]
    content = "\n".join(digest["lines"]) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(content, encoding="utf-8")
    assert content == SNAPSHOT.read_text(encoding="utf-8"), "digest changed: review it, then UPDATE_SNAPSHOTS=1"
    flows = ask(fixed, "klaviyo_compare_periods", account="acme", entity="flow", timeframe="last_7_days")["data"]
    # Money in the account's currency (USD here), as the answer's metadata states it.
    assert answer["metadata"]["currency"] == "USD" and "## Revenue (USD)" in content
    revenue = f"${flows['current_totals']['conversion_value']:,.2f}"
    assert f"| Revenue | {revenue} |" in content
    split = ask(fixed, "klaviyo_get_revenue_split", account="acme", timeframe="last_7_days")["data"]
    assert f"Revenue ${split['total_revenue']:,.2f}:" in content
    for anomaly in ask(fixed, "klaviyo_find_anomalies", account="acme")["data"]["anomalies"]:
        assert (anomaly["name"] or "All flows") in content
    assert "Browse Abandonment stopped sending" in content and "```" in content  # a chart


def test_html_has_charts_and_escapes_account_text() -> None:
    hostile = "<script>alert(1)</script> | **bold**" + "x" * 300
    digest = Digest("acme", hostile, sections={"top_flows": {"ranked": [
        {"rank": 1, "id": "F1", "name": hostile, "value": 10.0, "delivered": 200, "health": {}}]}})  # fmt: skip
    page = to_html(digest)
    assert "<script>" not in page and "&lt;script&gt;" in page
    markdown = to_markdown(digest)
    assert "\\<script\\>" in markdown and "\\| \\*\\*bold\\*\\*" in markdown
    assert max(len(line) for line in markdown.splitlines() if "bold" in line) < 160  # names cut to 80
    full = Digest("acme", None, sections={"revenue": {"total_revenue": 100.0, "email_share": 0.5, "sources": [
        {"source": "campaigns", "revenue": 30.0, "share": 0.3}, {"source": "flows", "revenue": 20.0, "share": 0.2},
        {"source": "other", "revenue": 50.0, "share": 0.5}]}})  # fmt: skip
    svg = to_html(full)
    assert svg.count("<rect") == 3 and 'width="180"' in svg  # the largest bar spans the chart


def test_the_command_writes_one_file_per_account(
    fixed: KlaviyoService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("klaviyo_analytics.service.build_service", lambda settings: fixed)
    monkeypatch.setattr("klaviyo_analytics.config.load_settings", lambda: fixed.settings)
    out = tmp_path / "digests"
    assert digest_tool.main(["--all", "--format", "html", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["acme.html", "globex.html"]
    assert "<svg" in (out / "globex.html").read_text()
