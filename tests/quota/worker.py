"""One process of the multi-process test: reserve slots on one account for a bounded time.

With a fifth argument (the longest request latency, seconds) every slot is a send in flight:
the worker "sends" (sleeps a random latency up to it) and then finishes the send, recording its
slot and the instant just before ``finish`` (no later than the answer the store records)."""

from __future__ import annotations

import json
import random
import sys
import time
import uuid

from klaviyo_analytics.quota import Window, store_from_url


def main() -> None:
    url, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    windows = [Window(w["name"], w["seconds"], w["limit"]) for w in json.loads(sys.argv[4])]
    latency = float(sys.argv[5]) if len(sys.argv) > 5 else None
    store = store_from_url(url)
    sent: list[float | list[float]] = []
    stop = time.time() + seconds
    waiter = uuid.uuid4().hex  # one caller's place in the queue, until its slot is granted
    while time.time() < stop:
        max_wait = stop - time.time()
        if latency is None:
            reservation = store.reserve("acme", "query_campaign_values", windows, max_wait=max_wait)
        else:
            reservation = store.reserve(
                "acme", "query_campaign_values", windows, max_wait=max_wait, flight=10, waiter=waiter
            )
        if not reservation.granted:
            if reservation.pending:
                time.sleep(0.002)
                continue
            break
        waiter = uuid.uuid4().hex
        time.sleep(max(0.0, reservation.wait))
        if latency is None:
            sent.append(reservation.at)  # the slot this process was given, on the store's clock
            continue
        time.sleep(random.uniform(0, latency))
        answered = time.time()
        store.finish("acme", "query_campaign_values", reservation.token)
        sent.append([reservation.at, answered])
    with open(out, "w") as handle:
        json.dump(sent, handle)


if __name__ == "__main__":
    main()
