"""Contract: both releases of Klaviyo's Python SDK drive the sandbox, every method they can make.

klaviyo-api 24.0.0 (revision 2026-07-15, the venv's) and 25.0.0 (revision 2026-10-15, installed by
``make venv`` into .venv/sdk/klaviyo-api-25 from the hash-locked requirements-sdk25.txt) each run
in their own process (sdk_driver.py), one after the other, against their own sandbox on loopback. Every
SDK method whose route the sandbox emulates at the SDK's revision is called, and the SDK's cursor
handling follows ``links.next``, which the sandbox writes as ``https`` links (``public_url``).
A failure the sandbox causes fails the test; the counts are in docs/sandbox.md's fidelity table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from klaviyo_sandbox import Sandbox, SandboxConfig, revision, serve
from klaviyo_sandbox.omni_resources import audience_id, variation_id

from .conftest import ANCHOR

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("sdk_driver.py")
SDK25 = REPO / ".venv" / "sdk" / "klaviyo-api-25"
PUBLIC = "https://a.klaviyo.com"
# The least each release must get through (a driver that silently calls nothing must not pass).
FLOOR = {"24.0.0": 140, "25.0.0": 149}  # measured when written (docs/sandbox.md)


def _plan(sb: Sandbox, base: str) -> dict[str, Any]:
    acc = sb.store.accounts["acme"]
    sent = next(c for c in acc.campaigns.values() if c.status == "Sent" and c.channel == "email")
    draft = next(c for c in acc.campaigns.values() if c.status == "Draft" and c.channel == "email")
    flow = next(f for f in acc.flows.values() if f.status == "live")
    action = next(acc.actions[a] for a in flow.action_ids if acc.actions[a].message_ids)
    ids = {
        "campaign": sent.id,
        "message": sent.message_ids[0],
        "variation": variation_id(acc.messages[sent.message_ids[0]]),
        "audience": audience_id(sent),
        "draft": draft.id,
        "draft_message": draft.message_ids[0],
        "draft_variation": variation_id(acc.messages[draft.message_ids[0]]),
        "flow": flow.id,
        "send_action": action.id,
        "send_action_def": action.definition,
        "flow_message": action.message_ids[0],
        "list": next(iter(acc.lists)),
        "segment": next(iter(acc.segments)),
        "profile": next(iter(acc.profiles)),
        "template": next(iter(acc.templates)),
        "metric": sb.accounts[0].conversion_metric_id,
        "tag": next(iter(acc.tags)),
        "form": next(iter(acc.forms)),
        "form_version": next(iter(acc.form_versions)),
        "event": acc.event_log[-1].id,
        "created_webhook": "none-yet",  # the driver's create_webhook replaces it
        "created_flow": "none-yet",
    }
    served = {
        name: sorted({(op.method, op.path) for op in revision.operations(name).values()}) for name in revision.EMULATED
    }
    return {"base_url": base, "api_key": sb.accounts[0].api_key, "ids": ids, "served": served}


def _run_both(tmp_path: Path) -> dict[str, dict[str, Any]]:
    """One release after the other: the test keeps to one core, as any test of the parallel pass
    does (two drivers at once starved the pass's timing-sensitive neighbours of CPU)."""
    env24 = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    runs = {"24.0.0": env24, "25.0.0": {**env24, "PYTHONPATH": str(SDK25)}}
    out = {}
    for release, env in runs.items():
        sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6, public_url=PUBLIC))
        with serve(sb, host="127.0.0.1", port=0) as base:
            plan = tmp_path / f"plan-{release}.json"
            plan.write_text(json.dumps(_plan(sb, base)), encoding="utf-8")
            done = subprocess.run(
                [sys.executable, str(DRIVER), str(plan)], env=env, capture_output=True, timeout=120, check=False
            )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        out[release] = json.loads(done.stdout)
    return out


@pytest.mark.slow
def test_both_sdk_releases_run_every_call_without_a_failure_the_sandbox_causes(tmp_path: Path) -> None:
    if not (SDK25 / "klaviyo_api").is_dir():
        pytest.fail(f"klaviyo-api 25.0.0 is not installed at {SDK25}: run `make venv`")
    reports = _run_both(tmp_path)
    for release, report in reports.items():
        assert report["release"] == release
        failed = [f for f in report["failures"] if f["result"] == "failed"]
        assert failed == [], f"{release}: {json.dumps(failed, indent=1)}"
        assert report["counts"]["ok"] >= FLOOR[release], report["counts"]
    assert (reports["24.0.0"]["revision"], reports["25.0.0"]["revision"]) == revision.EMULATED
    # Every query parameter each SDK can send on an emulated route is one the sandbox takes at that
    # revision (for 2026-10-15 the operation table, omni.py, is written from 25.0.0: this holds it to it).
    for report in reports.values():
        table = {(op.method, op.path): op for op in revision.operations(report["revision"]).values()}
        refused = []
        for route, names in report["query"].items():
            op = table[tuple(route.split(" ", 1))]
            takes = (
                set(op.query) | ({"page[cursor]"} if op.cursor else set()) | ({"page[size]"} if op.page_size else set())
            )
            refused += [f"{route}: {name}" for name in names if name not in takes]
        assert refused == [], f"{report['release']}: {refused}"
    # The read tools of Klaviyo's MCP server, replayed with their arguments through 24.0.0 (it pins < 25).
    mcp = reports["24.0.0"]["mcp_reads"]
    assert mcp["failures"] == [] and mcp["ok"] == mcp["calls"] == 18, mcp
