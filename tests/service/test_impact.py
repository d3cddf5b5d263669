"""An anomaly's money impact: the move priced at the prior window's own value per unit."""

from __future__ import annotations

from klaviyo_analytics.service.impact import change_impact, stopped_impact

BEFORE = {"sent": 1000.0, "delivered": 1000.0, "opens": 400.0, "clicks": 50.0, "unique_conversions": 10.0,
          "conversions": 10.0, "conversion_value": 500.0, "unsubscribes": 2.0}  # fmt: skip


def test_counts_are_priced_per_unit_and_scaled_to_the_window() -> None:
    now = {**BEFORE, "sent": 400.0, "conversions": 4.0, "conversion_value": 200.0}
    assert change_impact("sent", now, BEFORE, (7, 7)) == -300.0  # 600 fewer sends at 0.50 a send
    assert change_impact("conversions", now, BEFORE, (7, 7)) == -300.0  # 6 fewer orders at 50
    assert change_impact("conversion_value", now, BEFORE, (7, 7)) == -300.0
    assert change_impact("conversion_value", now, BEFORE, (7, 14)) == -50.0  # a 14-day prior is halved


def test_rates_are_priced_per_success_and_losses_per_delivery() -> None:
    now = {**BEFORE, "unique_conversions": 5.0, "unsubscribes": 12.0}
    assert change_impact("conversion_rate", now, BEFORE, (7, 7)) == -250.0  # 5 fewer buyers at 50
    assert change_impact("unsubscribe_rate", now, BEFORE, (7, 7)) == -5.0  # 10 more, 0.50 a delivery
    assert change_impact("open_rate", BEFORE, BEFORE, (7, 7)) == 0.0


def test_a_stop_costs_what_the_prior_window_made() -> None:
    quiet = dict.fromkeys(BEFORE, 0.0)
    assert stopped_impact("stopped_sending", quiet, BEFORE, (7, 7)) == -500.0
    assert stopped_impact("stopped_converting", {**quiet, "delivered": 800.0}, BEFORE, (7, 7)) == -400.0
    assert stopped_impact("stopped_sending", quiet, {**BEFORE, "conversion_value": 0.0}, (7, 7)) == 0.0
