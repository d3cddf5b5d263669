"""Fault injection: the ways a real Klaviyo call goes wrong, on demand and reproducibly.

A :class:`FaultConfig` says how often each fault strikes; a :class:`FaultInjector` rolls the dice
for every ``/api`` request that matches ``only_methods`` / ``only_paths`` (all of them when both
are empty). The dice come from ``random.Random(seed)`` and every matching request consumes the
same number of draws, so a given request sequence always meets the same faults.

Kinds, in the order they are checked:

- ``storm``: once started, the next ``storm_length`` matching requests are answered 429 with a
  Retry-After of ``storm_retry_after`` seconds (scaled by the sandbox time scale);
- ``drop``: the connection dies without a response (transport: ``httpx.RemoteProtocolError``);
- ``error``: a 5xx JSON:API error, the request is not applied;
- ``malformed``: a 200 whose body is truncated JSON or a non-JSON:API document;
- ``applied_error``: the request is applied, then answered 500 (exactly-once tests);
- ``latency`` is independent of the others: the response is delayed by ``latency_seconds``.

The ``--faults`` SPEC string is comma-separated ``name=value`` pairs, e.g.
``error_rate=0.1,storm=0.05,latency=0.1:2.5,drop=0.05,malformed=0.05,applied_error=0.1,seed=3,only=POST``;
``only`` takes ``|``-separated methods and ``paths`` ``|``-separated path prefixes.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["storm", "drop", "error", "malformed", "applied_error"]

_RATES = ("error_rate", "storm", "latency", "drop", "malformed", "applied_error")


@dataclass(frozen=True)
class FaultConfig:
    error_rate: float = 0.0
    storm: float = 0.0
    storm_length: int = 3
    storm_retry_after: float = 1.0
    latency: float = 0.0
    latency_seconds: float = 1.0
    drop: float = 0.0
    malformed: float = 0.0
    applied_error: float = 0.0
    seed: int = 0
    only_methods: frozenset[str] = field(default_factory=frozenset)
    only_paths: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in _RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, not {value}")
        if self.storm_length < 1 or self.latency_seconds < 0 or self.storm_retry_after <= 0:
            raise ValueError("storm_length must be >= 1, latency_seconds >= 0, storm_retry_after > 0")
        object.__setattr__(self, "only_methods", frozenset(m.upper() for m in self.only_methods))

    @classmethod
    def parse(cls, spec: str) -> FaultConfig:
        """Build from the CLI SPEC string (see the module docstring)."""
        values: dict[str, Any] = {}
        for raw in filter(None, (part.strip() for part in spec.split(","))):
            name, sep, value = raw.partition("=")
            if not sep:
                raise ValueError(f"fault {raw!r} is not name=value")
            name = name.strip()
            if name == "latency" and ":" in value:
                rate, seconds = value.split(":", 1)
                values["latency"], values["latency_seconds"] = float(rate), float(seconds)
            elif name == "only":
                values["only_methods"] = frozenset(filter(None, value.split("|")))
            elif name == "paths":
                values["only_paths"] = tuple(filter(None, value.split("|")))
            elif name in ("seed", "storm_length"):
                values[name] = int(value)
            elif name in cls.__dataclass_fields__:
                values[name] = float(value)
            else:
                raise ValueError(f"unknown fault {name!r}")
        return cls(**values)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultConfig:
        """Build from the JSON body of ``POST /__sandbox/faults`` (also accepts ``only``/``paths``)."""
        values = dict(raw)
        if "only" in values:
            values["only_methods"] = values.pop("only")
        if "paths" in values:
            values["only_paths"] = values.pop("paths")
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if isinstance(values.get("only_methods"), str):
            values["only_methods"] = values["only_methods"].split("|")
        if isinstance(values.get("only_paths"), str):
            values["only_paths"] = values["only_paths"].split("|")
        values["only_methods"] = frozenset(values.get("only_methods", ()))
        values["only_paths"] = tuple(values.get("only_paths", ()))
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["only_methods"] = sorted(self.only_methods)
        out["only_paths"] = list(self.only_paths)
        return out


@dataclass(frozen=True)
class FaultDecision:
    kind: FaultKind | None
    latency: float
    variant: int  # picks among flavours of a fault (e.g. which malformed body)
    retry_after: float = 0.0  # seconds (before time scaling), for storms


NO_FAULT = FaultDecision(kind=None, latency=0.0, variant=0)


class FaultInjector:
    """Rolls the configured faults for each matching request, reproducibly."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._storm_left = 0
        self._lock = threading.Lock()

    def applies_to(self, method: str, path: str) -> bool:
        cfg = self.config
        if cfg.only_methods and method.upper() not in cfg.only_methods:
            return False
        return not cfg.only_paths or any(path.startswith(prefix) for prefix in cfg.only_paths)

    def decide(self, method: str, path: str) -> FaultDecision:
        if not path.startswith("/api/") or not self.applies_to(method, path):
            return NO_FAULT
        cfg = self.config
        with self._lock:
            rolls = [self._rng.random() for _ in range(6)]
            variant = self._rng.randrange(1 << 16)
            latency = cfg.latency_seconds if rolls[0] < cfg.latency else 0.0
            kind: FaultKind | None = None
            if self._storm_left > 0:
                self._storm_left -= 1
                kind = "storm"
            elif rolls[1] < cfg.drop:
                kind = "drop"
            elif rolls[2] < cfg.error_rate:
                kind = "error"
            elif rolls[3] < cfg.storm:
                self._storm_left = cfg.storm_length - 1
                kind = "storm"
            elif rolls[4] < cfg.malformed:
                kind = "malformed"
            elif rolls[5] < cfg.applied_error:
                kind = "applied_error"
        return FaultDecision(kind=kind, latency=latency, variant=variant, retry_after=cfg.storm_retry_after)
