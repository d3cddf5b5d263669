"""``redis://host:port/db``: the store for several hosts (redis-py).

A reservation is one Lua script, so Redis runs the read of the send log and the append of the
new send as one atomic step for every client on every host; ``finish`` is another (it stamps the
send's answer with Redis's clock). The script reads Redis's own clock
(``TIME``), so hosts whose clocks disagree still share one timeline; waits come back as durations.
The ``limits`` package (behind Flask-Limiter) has moving windows over Redis too, but it answers
"is there room now", not "when is the next slot, and take it": a pacer that queues callers FIFO
needs the latter, hence this short script.

Keys: ``klaviyo-mcp:quota:{sends|block|waiters}:<account>:<bucket>``, ``…:cache:<key>``, ``…:flight:<key>``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import redis

from klaviyo_analytics.quota.base import (
    WAITER_GRACE_SECONDS,
    CacheEntry,
    Reservation,
    StoreUnavailable,
    Window,
    decode_entry,
    encode_entry,
)

PREFIX = "klaviyo-mcp:quota:"
SOCKET_TIMEOUT_SECONDS = 2.0

# A send is one list element, "<slot> <answer or expiry> <1 in flight | 0 answered> <token>".
# KEYS: send log, block, waiters (a hash: id -> "<first ask> <keep until>"). ARGV: max_wait,
# flight, token, waiter id ('' for none), grace, then name, seconds, limit per window.
# Returns {granted (0/1), wait, binding window name, slot, pending (0/1)}, the rule of
# base.earliest. Numbers go out as strings: Redis would truncate a Lua number reply to an integer.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local max_wait, flight, waiter, grace = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[4], tonumber(ARGV[5])
local longest = 0
for i = 6, #ARGV, 3 do
  if tonumber(ARGV[i + 1]) > longest then longest = tonumber(ARGV[i + 1]) end
end
local sends, kept = {}, {}
local texts = redis.call('LRANGE', KEYS[1], 0, -1)
for _, text in ipairs(texts) do
  local at, e, o = string.match(text, '^(%S+) (%S+) (%S+) ')
  at, e = tonumber(at), tonumber(e)
  if e > now - longest then
    table.insert(kept, text)
    table.insert(sends, {at, e, o == '1'})
  end
end
local blocked = tonumber(redis.call('GET', KEYS[2]) or '0')
local function rule()
  local slot, binding, pending = now, '', false
  local answers = {}
  for _, send in ipairs(sends) do
    if send[1] > slot then slot = send[1] end
    if send[3] and send[2] > now then
      table.insert(answers, {math.max(send[1], now), 1})
    else
      table.insert(answers, {send[2], 0})
    end
  end
  if blocked > slot then slot, binding = blocked, 'retry_after' end
  table.sort(answers, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[2] < b[2] end)
  for i = 6, #ARGV, 3 do
    local seconds, limit = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
    if #answers >= limit then
      local cut = #answers - limit + 1
      local candidate = answers[cut][1] + seconds
      local waiting = false
      for k = 1, cut do
        if answers[k][2] == 1 then waiting = true end
      end
      if candidate > slot or (waiting and not pending) then
        if candidate > slot then slot = candidate end
        binding = ARGV[i]
      end
      if waiting then pending = true end
    end
  end
  return slot, binding, pending
end
local ahead, since = 0, now
if waiter ~= '' and max_wait >= 0 then
  local mine = redis.call('HGET', KEYS[3], waiter)
  if mine then
    local first, keep = string.match(mine, '^(%S+) (%S+)$')
    if tonumber(keep) > now then since = tonumber(first) end
  end
  local queue = redis.call('HGETALL', KEYS[3])
  for k = 1, #queue, 2 do
    local first, keep = string.match(queue[k + 1], '^(%S+) (%S+)$')
    first, keep = tonumber(first), tonumber(keep)
    if keep <= now then
      redis.call('HDEL', KEYS[3], queue[k])
    elseif queue[k] ~= waiter and (first < since or (first == since and queue[k] < waiter)) then
      ahead = ahead + 1
    end
  end
  redis.call('HDEL', KEYS[3], waiter)
end
for _ = 1, ahead do
  local queued = rule()
  table.insert(sends, {queued, math.huge, true})
end
local slot, binding, pending = rule()
if ahead > 0 then pending = true end
local wait = slot - now
if waiter ~= '' and max_wait >= 0 and pending and wait <= max_wait then
  redis.call('HSET', KEYS[3], waiter, string.format('%.6f %.6f', since, now + math.max(wait, 0) + grace))
  local ttl = math.ceil(math.max(wait, 0) + grace) + 1
  if redis.call('TTL', KEYS[3]) < ttl then redis.call('EXPIRE', KEYS[3], ttl) end
end
if pending or wait > max_wait then
  local p = 0
  if pending and wait <= max_wait then p = 1 end
  return {0, string.format('%.6f', wait), binding, string.format('%.6f', slot), p}
end
if #kept < #texts then  -- drop the sends no window can see any more
  redis.call('DEL', KEYS[1])
  for _, text in ipairs(kept) do redis.call('RPUSH', KEYS[1], text) end
end
local open = 0
if flight > 0 then open = 1 end
redis.call('RPUSH', KEYS[1], string.format('%.6f %.6f %d %s', slot, slot + flight, open, ARGV[3]))
redis.call('EXPIRE', KEYS[1], math.ceil(longest + wait + flight) + 1)
return {1, string.format('%.6f', wait), binding, string.format('%.6f', slot), 0}
"""

# KEYS: send log. ARGV: token. Stamp the send's answer now (Redis's clock), if still in flight.
FINISH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local texts = redis.call('LRANGE', KEYS[1], 0, -1)
for i, text in ipairs(texts) do
  local at, o, token = string.match(text, '^(%S+) %S+ (%S+) (%S+)$')
  if token == ARGV[1] then
    if o == '1' then
      local done = math.max(tonumber(at), now)
      redis.call('LSET', KEYS[1], i - 1, string.format('%.6f %.6f 0 %s', tonumber(at), done, token))
    end
    return 1
  end
end
return 0
"""

# KEYS: send log. ARGV: seconds. How many slots fall in the last ``seconds`` (Redis's clock).
USED = """
local t = redis.call('TIME')
local since = tonumber(t[1]) + tonumber(t[2]) / 1000000 - tonumber(ARGV[1])
local n = 0
for _, text in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if tonumber(string.match(text, '^(%S+)')) > since then n = n + 1 end
end
return n
"""

# KEYS: block. ARGV: seconds. Extend the block to now + seconds, never shorten it.
BLOCK = """
local t = redis.call('TIME')
local until_at = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
local current = redis.call('GET', KEYS[1])
if current and tonumber(current) >= until_at then return 0 end
redis.call('SET', KEYS[1], string.format('%.6f', until_at), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
return 1
"""


class RedisStore:
    backend = "redis"

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        try:
            self._redis = redis.Redis.from_url(
                url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS
            )
        except ValueError as exc:
            raise StoreUnavailable(f"not a usable Redis URL ({exc})") from None
        self._reserve = self._redis.register_script(RESERVE)
        self._finish = self._redis.register_script(FINISH)
        self._used = self._redis.register_script(USED)
        self._block = self._redis.register_script(BLOCK)

    def _call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis cannot be used ({type(exc).__name__})") from None

    @staticmethod
    def _keys(account: str, bucket: str) -> list[str]:
        return [
            f"{PREFIX}sends:{account}:{bucket}",
            f"{PREFIX}block:{account}:{bucket}",
            f"{PREFIX}waiters:{account}:{bucket}",
        ]

    def ping(self) -> None:
        self._call(lambda: self._redis.set(f"{PREFIX}ping", "1", px=10_000))

    def reserve(
        self,
        account: str,
        bucket: str,
        windows: Sequence[Window],
        max_wait: float,
        flight: float = 0.0,
        waiter: str = "",
    ) -> Reservation:
        token = uuid.uuid4().hex
        args = [repr(float(max_wait)), repr(float(flight)), token, waiter, repr(WAITER_GRACE_SECONDS)]
        for window in windows:
            args += [window.name, repr(float(window.seconds)), str(window.limit)]
        granted, wait, binding, slot, pending = self._call(
            lambda: self._reserve(keys=self._keys(account, bucket), args=args)
        )
        name = binding.decode() if isinstance(binding, bytes) else str(binding)
        return Reservation(bool(granted), float(wait), name, float(slot), token if granted else "", bool(pending))

    def finish(self, account: str, bucket: str, token: str) -> None:
        self._call(lambda: self._finish(keys=self._keys(account, bucket)[:1], args=[token]))

    def block(self, account: str, bucket: str, seconds: float) -> None:
        self._call(lambda: self._block(keys=self._keys(account, bucket)[1:2], args=[repr(float(seconds))]))

    def used(self, account: str, bucket: str, seconds: float) -> int:
        return int(self._call(lambda: self._used(keys=self._keys(account, bucket)[:1], args=[repr(float(seconds))])))

    def cache_get(self, key: str) -> CacheEntry | None:
        raw = self._call(lambda: self._redis.get(f"{PREFIX}cache:{key}"))
        entry = decode_entry(raw)
        if raw is not None and entry is None:
            self._call(lambda: self._redis.delete(f"{PREFIX}cache:{key}"))
        return entry

    def cache_put(self, key: str, value: Any, ttl: float, keep: float) -> None:
        now = self._clock()
        text = encode_entry(value, now, now + ttl)
        self._call(lambda: self._redis.set(f"{PREFIX}cache:{key}", text, px=max(1, int((ttl + keep) * 1000))))

    def corrupt(self, key: str, text: str) -> None:
        """Overwrite an entry's stored text (tests of the corrupt-entry rule)."""
        self._call(lambda: self._redis.set(f"{PREFIX}cache:{key}", text, keepttl=True))

    def cache_clear(self) -> None:
        def clear() -> None:
            keys = list(self._redis.scan_iter(match=f"{PREFIX}cache:*", count=500))
            if keys:
                self._redis.delete(*keys)

        self._call(clear)

    def lead(self, key: str, lease: float) -> bool:
        px = max(1, int(lease * 1000))
        return bool(self._call(lambda: self._redis.set(f"{PREFIX}flight:{key}", "1", nx=True, px=px)))

    def release(self, key: str) -> None:
        self._call(lambda: self._redis.delete(f"{PREFIX}flight:{key}"))
