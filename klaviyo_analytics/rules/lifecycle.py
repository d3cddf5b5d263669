"""The lifecycle stages a store's automation usually covers, and how a flow is judged to serve one.

A flow's stage is read from its name first (a "Win-back" flow triggered by Placed Order is a
winback, not a post-purchase flow), then from its trigger (Started Checkout is an abandoned
checkout, Viewed Product a browse abandonment, Placed Order a post-purchase, a list trigger a
welcome). Each stage names the ``klaviyo_propose_flow`` recipe (actions/flow_recipes.py) that adds it.

Smart Sending (skip a profile that got a message in the last hours) is Klaviyo's default for
marketing flows; it is usually turned off only where the message must follow the trigger at once —
a welcome, an abandoned checkout — and for transactional messages. Elsewhere, off is worth a look.
"""

from __future__ import annotations

import re

# stage -> (name pattern, trigger metrics, recipe)
STAGES: dict[str, tuple[re.Pattern[str], tuple[str, ...], str | None]] = {
    "welcome": (re.compile(r"welcome|onboard|new subscriber", re.I), (), "welcome_series"),
    "abandoned_checkout": (
        re.compile(r"abandon\w*\s*(cart|checkout)|(cart|checkout)\s*(abandon|reminder)", re.I),
        ("Started Checkout", "Added to Cart"),
        "abandoned_checkout",
    ),
    "browse_abandonment": (re.compile(r"browse|viewed product", re.I), ("Viewed Product",), "browse_abandonment"),
    "post_purchase": (
        re.compile(r"post[- ]?purchase|thank you|order follow|cross[- ]?sell|review request", re.I),
        ("Placed Order", "Ordered Product", "Fulfilled Order"),
        "post_purchase",
    ),
    "winback": (re.compile(r"win[- ]?back|we miss you|lapsed|re-?engage", re.I), (), "winback"),
    "sunset": (re.compile(r"sunset|unengaged|re-?permission|list clean", re.I), (), "sunset"),
}
# Stages where a message sends right after its trigger, so Smart Sending is often off on purpose.
SMART_SENDING_OFF_OK = {"welcome", "abandoned_checkout"}


def stage_of(name: str, trigger_type: str | None, trigger_metric: str | None) -> str | None:
    """The stage a flow serves, judged from its name, then its trigger; None: none of the six."""
    for stage, (pattern, _, _) in STAGES.items():
        if pattern.search(name or ""):
            return stage
    if trigger_metric:
        for stage, (_, metrics, _) in STAGES.items():
            if trigger_metric in metrics:
                return stage
    if trigger_type == "Added to List":
        return "welcome"
    return None


def trigger_text(trigger_type: str | None, trigger_metric: str | None) -> str:
    if trigger_type == "Metric" and trigger_metric:
        return f"Metric: {trigger_metric}"
    return trigger_type or "Unknown"


def recipe_for(stage: str | None) -> str | None:
    return STAGES[stage][2] if stage in STAGES else None
