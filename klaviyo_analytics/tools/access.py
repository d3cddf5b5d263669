"""Who may run which tool on which account: the one check on the tool path, for every adapter.

The role a tool needs comes from the catalog: a ``read_only`` tool needs ``reader`` on the
account it is about, any other (propose, execute) ``proposer``. Approving is no tool: the REST
approval routes and the console check ``approver`` themselves (``require``).

The account a call is about is its ``account`` argument (or the only one the caller may see, when
left out), or, for ``action_id`` tools, the account of that proposal. An account outside the
caller's grants answers ``FORBIDDEN`` with the same message whether it exists or not, and so does
an action id of another account or of no action at all: nothing reveals what exists beyond the
grants. The handler then runs on a service scoped to the granted accounts, so defaults, lists and
error messages name only those.
"""

from __future__ import annotations

from klaviyo_analytics.auth.principal import ANY_ACCOUNT, Principal, Role
from klaviyo_analytics.errors import ForbiddenError, NotFoundError
from klaviyo_analytics.schemas.common import StrictModel
from klaviyo_analytics.service.core import CallContext, KlaviyoService
from klaviyo_analytics.tools.spec import ToolSpec


def required_role(spec: ToolSpec) -> Role:
    return Role.READER if spec.read_only else Role.PROPOSER


def account_forbidden(principal: Principal, account: str, visible: list[str]) -> ForbiddenError:
    yours = ", ".join(visible) or "(none)"
    return ForbiddenError(
        f"account {account!r} is not one you may use (it is not granted to {principal.user}, or does not exist); "
        f"your accounts: {yours}",
        field="account",
        available_accounts=visible,
    )


def action_forbidden(principal: Principal, action_id: str) -> ForbiddenError:
    return ForbiddenError(
        f"action {action_id!r} is not one you may see (it belongs to an account not granted to {principal.user}, "
        "or does not exist)",
        field="action_id",
    )


def require(principal: Principal, account: str, role: Role, what: str) -> None:
    """Raise FORBIDDEN unless ``principal`` holds ``role`` on ``account`` (which it may see)."""
    held = principal.role_for(account)
    if held is None or not held.includes(role):
        raise ForbiddenError(
            f"{what} needs the {role} role on account {account!r}; {principal.user} has "
            f"{held.value if held else 'no role'} there",
            account=account,
            required_role=role.value,
            role=held.value if held else None,
        )


def authorize(
    spec: ToolSpec, service: KlaviyoService, params: StrictModel, ctx: CallContext
) -> tuple[KlaviyoService, StrictModel]:
    """The service and params the handler runs with, once the caller may run this call."""
    principal = ctx.principal
    if principal.unrestricted:
        return service, params
    # The declared fields, read off the model (no dump of the whole input on every call).
    fields = type(params).model_fields
    target: str | None = None
    if principal.can(ANY_ACCOUNT, Role.READER):
        # Every account is visible: nothing to hide, so unknown names and ids keep their own errors.
        scoped = service
        if "action_id" in fields:
            target = service.ledger.get_proposal(str(params.action_id)).account  # type: ignore[attr-defined]
        elif "account" in fields:
            default = service.registry.default
            target = params.account or (default.slug if default else None)  # type: ignore[attr-defined]
    else:
        visible = principal.visible(service.registry.names)
        scoped = service.scoped(visible)
        if "action_id" in fields:
            target = _action_account(service, principal, str(params.action_id))  # type: ignore[attr-defined]
        elif "account" in fields:
            target = _named_account(principal, params.account, visible)  # type: ignore[attr-defined]
            if target is None and scoped.registry.default is not None:
                # The only account this caller may see is their default, whatever else is configured.
                target = scoped.registry.default.slug
                params = params.model_copy(update={"account": target})
    if target is not None:
        require(principal, target, required_role(spec), spec.name)
    return scoped, params


def _named_account(principal: Principal, named: str | None, visible: list[str]) -> str | None:
    if named:
        if named not in visible:
            raise account_forbidden(principal, named, visible)
        return named
    if not visible:
        raise ForbiddenError(f"no Klaviyo account is granted to {principal.user}", field="account")
    return None


def _action_account(service: KlaviyoService, principal: Principal, action_id: str) -> str:
    try:
        account = service.ledger.get_proposal(action_id).account
    except NotFoundError:
        raise action_forbidden(principal, action_id) from None
    if not principal.can(account, Role.READER):
        raise action_forbidden(principal, action_id)
    return account
