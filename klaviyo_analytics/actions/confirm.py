"""An optional second confirmation from the person at the MCP client (elicitation).

Never instead of approval: execute asks only once the ledger says a person has approved, and only
when ``KLAVIYO_MCP_CONFIRM_WITH_ELICITATION`` is on. The adapter supplies ``confirm`` when its client can
ask; the service calls it without knowing how the question is put.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from klaviyo_analytics.service.core import CallContext

# True: the person accepted. False: they declined or cancelled. None: the question could not be put
# (the client or the session cannot ask), which leaves the approval as the gate.
ConfirmFn = Callable[[str], bool | None]


@dataclass
class ConfirmingContext(CallContext):
    confirm: ConfirmFn | None = None


def confirm_fn(ctx: CallContext) -> ConfirmFn | None:
    return ctx.confirm if isinstance(ctx, ConfirmingContext) else None
