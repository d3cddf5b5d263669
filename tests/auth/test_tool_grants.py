"""Grants on the tool path itself (run_tool, which every adapter calls), across the whole catalog."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.auth import LOCAL, Principal, Role
from klaviyo_analytics.errors import KlaviyoMCPError
from klaviyo_analytics.klaviyo.deadline import Deadline
from klaviyo_analytics.service import CallContext
from klaviyo_analytics.tools import run_tool, visible_tools
from klaviyo_analytics.tools.spec import ToolSpec
from tests.auth.conftest import Team

RITA = Principal("rita", {"acme": Role.READER})
# What some tools need besides an account, to get past validation to the grants check.
EXTRA: dict[str, dict[str, Any]] = {
    "klaviyo_propose_create_list": {"name": "Grants"},
    "klaviyo_propose_add_profiles_to_list": {"list_id": "Xy12Ab", "emails": ["a@example.com"]},
    "klaviyo_propose_pause_flow": {"flow_id": "Xy12Ab"},
    "klaviyo_get_flow_structure": {"flow_id": "Xy12Ab"},
}


def call(team: Team, spec: ToolSpec, principal: Principal, **args: Any) -> dict[str, Any]:
    args = {**EXTRA.get(spec.name, {}), **args}
    ctx = CallContext(deadline=Deadline(30), caller=principal.user, principal=principal)
    return run_tool(spec, team.service, args, ctx)


def failure(team: Team, spec: ToolSpec, principal: Principal, **args: Any) -> KlaviyoMCPError:
    with pytest.raises(KlaviyoMCPError) as caught:
        call(team, spec, principal, **args)
    return caught.value


def account_tools() -> list[ToolSpec]:
    """The tools whose arguments are valid with an account alone (the rest fail validation first)."""
    tools = []
    for spec in visible_tools(read_only=False):
        if "account" not in spec.params.model_fields:
            continue
        try:
            spec.params.model_validate({"account": "globex", **EXTRA.get(spec.name, {})})
        except ValueError:
            continue
        tools.append(spec)
    return tools


def test_every_tool_refuses_other_accounts_alike(team: Team) -> None:
    tools = account_tools()
    assert len(tools) >= 10, [t.name for t in tools]
    for spec in tools:
        other = failure(team, spec, RITA, account="globex")
        missing = failure(team, spec, RITA, account="initech")
        assert other.code == missing.code == "FORBIDDEN", spec.name
        assert other.message.replace("globex", "X") == missing.message.replace("initech", "X"), spec.name
    # The same calls as the local single user reach Klaviyo (or the ledger) as before.
    assert call(team, next(t for t in tools if t.name == "klaviyo_get_flows"), LOCAL, account="globex")


def test_roles_follow_the_catalog(team: Team) -> None:
    refused, allowed = [], []
    for spec in account_tools():
        try:
            call(team, spec, RITA, account="acme")
            allowed.append(spec.name)
        except KlaviyoMCPError as exc:
            if exc.code == "FORBIDDEN":
                refused.append(spec.name)
                assert exc.details == {"account": "acme", "required_role": "proposer", "role": "reader"}
    writes = {t.name for t in account_tools() if not t.read_only}
    # Every write tool is refused to a reader; no read tool is.
    assert set(refused) == writes and writes
    assert not set(allowed) & writes
