"""A flow action whose ``data`` (or an email's ``message``) is not an object is a 400 naming its path,
never a crash in the create rules (a code action's ``data`` was a 500)."""

from __future__ import annotations

from typing import Any

import pytest

from klaviyo_analytics.actions import flow_schema
from klaviyo_analytics.errors import InvalidArgumentError


def definition(action: dict[str, Any]) -> dict[str, Any]:
    return {
        "triggers": [{"type": "list", "id": "L1"}],
        "actions": [{"temporary_id": "a", **action}],
        "entry_action_id": "a",
    }


@pytest.mark.parametrize("data", ["not-an-object", [1, 2], 7, True])
def test_a_code_action_whose_data_is_not_an_object_is_refused_by_path(data: object) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        flow_schema.check(definition({"type": "code", "data": data}))
    assert refused.value.http_status == 400
    assert refused.value.details["field"] == "definition.actions[0].data"
    assert "actions[0].data: must be an object" in refused.value.message


def test_an_email_whose_message_is_not_an_object_is_refused_by_path() -> None:
    action = {"type": "send-email", "data": {"status": "draft", "message": "hello"}}
    with pytest.raises(InvalidArgumentError) as refused:
        flow_schema.check(definition(action))
    assert any(e["path"] == "actions[0].data.message" for e in refused.value.details["errors"])
