"""Lifecycle stages are judged from a flow's name first, then its trigger."""

from __future__ import annotations

import pytest

from klaviyo_analytics.actions.flow_recipes import RECIPES
from klaviyo_analytics.rules import lifecycle


@pytest.mark.parametrize(
    ("name", "trigger_type", "metric", "stage"),
    [
        ("Welcome Series", "Added to List", None, "welcome"),
        ("Newsletter signup", "Added to List", None, "welcome"),  # a list trigger without another stage's name
        ("Checkout reminder", "Metric", "Started Checkout", "abandoned_checkout"),
        ("Abandoned Cart Reminder", "Metric", "Added to Cart", "abandoned_checkout"),
        ("Still looking?", "Metric", "Viewed Product", "browse_abandonment"),
        ("Post-Purchase Thank You", "Metric", "Placed Order", "post_purchase"),
        ("Customer Win-back", "Metric", "Placed Order", "winback"),  # the name wins over the trigger
        ("Sunset unengaged", "Added to List", None, "sunset"),
        ("Birthday Discount", "Date Based", None, None),
    ],
)
def test_stage_of(name: str, trigger_type: str, metric: str | None, stage: str | None) -> None:
    assert lifecycle.stage_of(name, trigger_type, metric) == stage


def test_every_stage_recipe_is_a_propose_flow_recipe() -> None:
    assert {lifecycle.recipe_for(stage) for stage in lifecycle.STAGES} <= set(RECIPES)
    assert lifecycle.trigger_text("Metric", "Viewed Product") == "Metric: Viewed Product"
    assert lifecycle.trigger_text(None, None) == "Unknown"
