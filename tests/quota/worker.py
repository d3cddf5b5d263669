"""One process of the multi-process test: reserve slots on one account for a bounded time."""

from __future__ import annotations

import json
import sys
import time

from klaviyo_analytics.quota import Window, store_from_url


def main() -> None:
    url, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    windows = [Window(w["name"], w["seconds"], w["limit"]) for w in json.loads(sys.argv[4])]
    store = store_from_url(url)
    sent: list[float] = []
    stop = time.time() + seconds
    while time.time() < stop:
        reservation = store.reserve("acme", "query_campaign_values", windows, max_wait=stop - time.time())
        if not reservation.granted:
            break
        sent.append(reservation.at)  # the slot this process was given, on the store's clock
        time.sleep(max(0.0, reservation.wait))
    with open(out, "w") as handle:
        json.dump(sent, handle)


if __name__ == "__main__":
    main()
