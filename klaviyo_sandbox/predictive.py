"""Profiles' ``predictive_analytics`` (``additional-fields[profile]=predictive_analytics``)."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from typing import Any

from klaviyo_sandbox.models import Account, Profile


def predictive_analytics(account: Account, p: Profile) -> dict[str, Any]:
    """Klaviyo's predictions for one profile, seeded by its id (the same every run): one profile in
    five has too little history and gets nulls, as Klaviyo gives before it can predict. The next
    order is expected from a month before the account's latest profile update to three months
    after it, so some customers are overdue."""
    rng = random.Random(hashlib.sha256(p.id.encode()).digest())
    if rng.random() < 0.2:
        return dict.fromkeys(PREDICTIVE_FIELDS)
    orders = rng.randint(1, 12)
    aov = round(rng.uniform(25, 180), 2)
    predicted_orders = round(rng.uniform(0, 4), 2)
    churn = round(min(0.99, max(0.01, rng.betavariate(2, 3))), 2)
    latest = max(q.updated for q in account.profiles.values())
    next_order = (latest + timedelta(days=rng.randint(-30, 90))).date().isoformat()
    return {
        "historic_clv": round(orders * aov, 2),
        "predicted_clv": round(predicted_orders * aov, 2),
        "total_clv": round((orders + predicted_orders) * aov, 2),
        "historic_number_of_orders": orders,
        "predicted_number_of_orders": predicted_orders,
        "average_days_between_orders": round(rng.uniform(15, 120), 1) if orders > 1 else None,
        "average_order_value": aov,
        "churn_probability": churn,
        "expected_date_of_next_order": next_order,
    }


PREDICTIVE_FIELDS = (
    "historic_clv", "predicted_clv", "total_clv", "historic_number_of_orders", "predicted_number_of_orders",
    "average_days_between_orders", "average_order_value", "churn_probability", "expected_date_of_next_order",
)  # fmt: skip
