"""Flow recipes as data, and the pure functions that turn one (plus a marketer's choices) into a plan.

A recipe is one row of ``RECIPES``: what triggers it (a list, a segment or a metric, found by name
when the marketer names none) and its default emails, each with the wait before it and a subject.
Adding a recipe is adding a row. ``plan`` makes one CODE template per email (created first, each
checked by name like every create) and then the flow, whose definition references the templates.
Every send action is posted as ``draft``; setting a flow live stays a person's job in Klaviyo.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from klaviyo_analytics.actions.plans import by_name, ref, step
from klaviyo_analytics.actions.recipes import quoted
from klaviyo_analytics.errors import InvalidArgumentError

MAX_EMAILS = 10
MAX_SUBJECT = 80  # longer subject lines are cut off by every inbox; past this it is almost always a slip
MAX_DELAY_DAYS = 365
_DELAY = re.compile(r"^\s*(-?\d+)\s*(day|days|hour|hours|minute|minutes)?\s*$", re.IGNORECASE)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Recipe:
    title: str  # the flow's default name
    trigger: str  # list | segment | metric
    default_metric: str | None  # metric trigger found by this name when no trigger_id is given
    emails: tuple[tuple[str, str], ...]  # (wait before it, subject)
    about: str


RECIPES: dict[str, Recipe] = {
    "welcome_series": Recipe(
        "Welcome Series", "list", None,
        (("0 days", "Welcome to {org}"), ("1 day", "The story behind {org}"), ("2 days", "A little something for you")),
        "for everyone who joins a list",
    ),
    "abandoned_checkout": Recipe(
        "Abandoned Checkout", "metric", "Started Checkout",
        (("4 hours", "You left something behind"), ("1 day", "Still thinking it over?")),
        "for shoppers who start a checkout and do not finish",
    ),
    "browse_abandonment": Recipe(
        "Browse Abandonment", "metric", "Viewed Product",
        (("2 hours", "Still looking?"),),
        "for visitors who view a product and leave",
    ),
    "post_purchase": Recipe(
        "Post-Purchase Cross-Sell", "metric", "Placed Order",
        (("3 days", "Thank you for your order"), ("14 days", "You might also like")),
        "after an order: thanks, then related products",
    ),
    "winback": Recipe(
        "Winback", "segment", None,
        (("0 days", "We miss you"), ("7 days", "A little something to come back")),
        "for profiles entering a lapsed-customer segment (klaviyo_propose_segment recipe winback makes one)",
    ),
    "sunset": Recipe(
        "Sunset Unengaged", "segment", None,
        (("0 days", "Do you still want to hear from {org}?"), ("5 days", "Last chance to stay subscribed")),
        "for profiles entering an unengaged segment: a last ask before they are suppressed",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Email:
    wait: tuple[int, str]  # (value, unit) before this email; (0, "days") sends at once
    subject: str


def parse_delay(text: str | int, field: str) -> tuple[int, str]:
    found = _DELAY.match(str(text))
    if found is None:
        raise InvalidArgumentError(
            f"{field} must be a wait such as '2 days', '4 hours' or '30 minutes', not {text!r}.",
            field=field,
            rule="flow_values",
        )
    value, unit = int(found.group(1)), (found.group(2) or "days").lower()
    unit = unit if unit.endswith("s") else f"{unit}s"
    if value < 0:
        raise InvalidArgumentError(
            f"{field} cannot be negative ({text!r}); use 0 to send at once.", field=field, rule="flow_values"
        )
    days = value if unit == "days" else value / 24 if unit == "hours" else value / 1440
    if days > MAX_DELAY_DAYS:
        raise InvalidArgumentError(
            f"{field} is longer than {MAX_DELAY_DAYS} days ({text!r}).", field=field, rule="flow_values"
        )
    return value, unit


def emails_of(
    recipe: Recipe, org: str, count: int | None, delays: list[Any] | None, subjects: list[str] | None
) -> list[Email]:
    """The emails as the marketer wants them: ``count`` (default: the recipe's), each wait and
    subject given or the recipe's (its last one repeated, numbered, past its own list)."""
    n = count if count is not None else len(delays or subjects or recipe.emails)
    if not 1 <= n <= MAX_EMAILS:
        raise InvalidArgumentError(
            f"emails must be between 1 and {MAX_EMAILS}, not {n}.", field="emails", rule="flow_values"
        )
    for name, given in (("delays", delays), ("subjects", subjects)):
        if given is not None and len(given) != n:
            raise InvalidArgumentError(
                f"{name} must have one entry per email ({n}), not {len(given)}.", field=name, rule="flow_recipe"
            )
    out = []
    for i in range(n):
        wait, subject = recipe.emails[min(i, len(recipe.emails) - 1)]
        if i >= len(recipe.emails):
            subject = f"{subject} ({i + 1})"
        subject = check_subject(subjects[i] if subjects else subject.format(org=org), f"subjects[{i}]")
        out.append(Email(parse_delay(delays[i] if delays else wait, f"delays[{i}]"), subject))
    return out


def check_name(name: str | None, default: str) -> str:
    name = default if name is None else name.strip()
    if not 1 <= len(name) <= 255:
        raise InvalidArgumentError("name must be 1 to 255 characters.", field="name", rule="flow_values")
    return name


def check_subject(text: str, field: str) -> str:
    subject = text.strip()
    if not subject:
        raise InvalidArgumentError(f"{field} is empty.", field=field, rule="flow_values")
    if len(subject) > MAX_SUBJECT:
        raise InvalidArgumentError(
            f"{field} has {len(subject)} characters; at most {MAX_SUBJECT}.", field=field, rule="flow_values"
        )
    return subject


def check_send_time(value: str | None) -> str | None:
    """Quiet hours: every wait ends at this time of day (the profile's timezone), ``HH:MM``."""
    if value is None:
        return None
    if not _TIME.match(value):
        raise InvalidArgumentError(
            f"send_time must be HH:MM (24-hour), not {value!r}.", field="send_time", rule="flow_values"
        )
    return f"{value}:00"


def template_html(subject: str, org: str) -> str:
    """A plain starting point the marketer edits in Klaviyo; the unsubscribe tag keeps it compliant."""
    return (
        f"<html><body><h1>{html.escape(subject)}</h1>"
        f"<p>Hi {{{{ first_name|default:'there' }}}}, a note from {html.escape(org)}.</p>"
        "<p>{% unsubscribe %}</p></body></html>"
    )


def wait_text(wait: tuple[int, str]) -> str:
    value, unit = wait
    return f"wait {value} {unit[:-1] if value == 1 else unit}"


def outline(trigger: str, emails: list[Email], send_time: str | None) -> list[str]:
    """The flow as a person reads it: trigger → wait 1 day → email "Welcome" → …"""
    steps = [trigger]
    for email in emails:
        if email.wait[0] or send_time:
            until = f" until {send_time[:5]}" if send_time else ""
            steps.append(wait_text(email.wait) + until)
        steps.append(f"email {email.subject!r}")
    return steps


def definition(
    trigger: dict[str, Any],
    emails: list[Email],
    sender: dict[str, Any],
    template_ids: list[Any],
    smart_sending: bool,
    send_time: str | None,
) -> dict[str, Any]:
    """The encoded definition POST /api/flows takes: temporary ids, linked in order, all draft."""
    actions: list[dict[str, Any]] = []
    for i, (email, template_id) in enumerate(zip(emails, template_ids, strict=True), start=1):
        if email.wait[0] or send_time:
            delay = {"unit": email.wait[1], "value": email.wait[0], "timezone": "profile"}
            if send_time:
                delay["delay_until_time"] = send_time
            actions.append({"temporary_id": f"wait-{i}", "type": "time-delay", "data": delay})
        message = {
            **sender, "subject_line": email.subject, "template_id": template_id,
            "smart_sending_enabled": smart_sending, "name": f"Email {i}",
        }  # fmt: skip
        actions.append(
            {"temporary_id": f"email-{i}", "type": "send-email", "data": {"status": "draft", "message": message}}
        )
    for this, after in zip(actions, [*actions[1:], None], strict=True):
        this["links"] = {"next": after["temporary_id"] if after else None}
    return {
        "triggers": [trigger], "profile_filter": None, "actions": actions,
        "entry_action_id": actions[0]["temporary_id"],
    }  # fmt: skip


def flow_filter(name: str) -> str:
    """get_flows filters names with single-value operators: ``equals(name,"…")``."""
    return f"equals(name,{quoted(name)})"


def plan(
    name: str, emails: list[Email], org: str, build: dict[str, Any], existing: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Templates first, then the flow referencing them. ``build``: definition() arguments but the
    template ids; ``existing``: same-named templates (by name) and flows seen when proposing."""
    steps = []
    for i, email in enumerate(emails, start=1):
        template = f"{name} – Email {i} (template)"
        attributes = {"name": template, "editor_type": "CODE", "html": template_html(email.subject, org)}
        steps.append(
            step(
                f"create_template_{i}", f"Create the HTML template {template!r}", "POST", "/api/templates",
                body={"data": {"type": "template", "attributes": attributes}}, returns={"id": "id"},
                check=by_name(
                    "/api/templates", template, "created", existing.get(template, []), match=("editor_type",)
                ),
            )
        )  # fmt: skip
    refs = [ref(f"create_template_{i}") for i in range(1, len(emails) + 1)]
    steps.append(create_flow_step(name, definition(template_ids=refs, **build), existing.get("flow", [])))
    return steps


def create_flow_step(name: str, encoded: dict[str, Any], existing: list[str]) -> dict[str, Any]:
    body = {"data": {"type": "flow", "attributes": {"name": name, "definition": encoded}}}
    check = by_name("/api/flows", name, "created", existing, {"filter": flow_filter(name)})
    return step(
        "create_flow", f"Create the draft flow {name!r}", "POST", "/api/flows", body=body,
        returns={"id": "id", "status": "attributes.status"}, check=check,
    )  # fmt: skip
