"""Klaviyo's ``filter`` grammar: parse, check against an operation's allowed filters, evaluate.

Grammar (Klaviyo "Filtering" guide): ``op(field,value)``, combined with ``and(f1,f2,...)`` or
with top-level commas (``f1,f2`` reads as ``and(f1,f2)``); strings quoted with ``'`` or ``"``
(an unquoted one is a 400, as on Klaviyo); lists ``[v1,v2]``; ``true``/``false``/``null``;
numbers; unquoted datetimes (``2023-03-01T00:00:00Z``, or a bare date). ``or``/``not`` are
listed by no operation we serve, so they are rejected. The allowed fields and operators come
from the operation's ``x-klaviyo-filters``: ``{field: {"operators": {"single": [...], "list":
[...]}, "value": {"type", "enum"?, "format"?}}}`` — ``list`` operators take a list argument.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from klaviyo_sandbox.jsonapi import ApiError, invalid

Value = str | int | float | bool | datetime | None | list[Any]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<punct>[(),\[\]])
      | (?P<bare>[^\s(),\[\]'"]+)
    )""",
    re.VERBOSE,
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


@dataclass(frozen=True)
class Condition:
    op: str
    field: str
    value: Value


class _Parser:
    def __init__(self, text: str, parameter: str) -> None:
        self.parameter = parameter
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        stripped = text.strip()
        while pos < len(stripped):
            m = _TOKEN.match(stripped, pos)
            if m is None or m.end() == pos:
                raise self.error(f"Invalid filter near {stripped[pos : pos + 20]!r}.")
            kind = m.lastgroup or "bare"
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def error(self, detail: str) -> ApiError:
        return invalid(detail, parameter=self.parameter)

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expect: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (expect is not None and tok[1] != expect):
            raise self.error(f"Invalid filter: expected {expect or 'more input'}.")
        self.i += 1
        return tok

    def parse(self) -> list[Condition]:
        if not self.tokens:
            raise self.error("Filter is empty.")
        out = self.call()
        # Top-level expressions joined by commas are read as one and(...): Klaviyo accepts
        # ``equals(a,1),equals(b,2)``, and its own clients (the official MCP server) send it.
        while self.peek() == ("punct", ","):
            self.take(",")
            out += self.call()
        if self.peek() is not None:
            raise self.error("Invalid filter: unexpected trailing input.")
        return out

    def call(self) -> list[Condition]:
        kind, name = self.take()
        if kind != "bare":
            raise self.error("Invalid filter: expected an operator such as equals(...).")
        self.take("(")
        if name == "and":
            conds = self.call()
            while self.peek() == ("punct", ","):
                self.take(",")
                conds += self.call()
            self.take(")")
            return conds
        if name in ("or", "not"):
            raise self.error(f"The '{name}' operator is not supported on this endpoint.")
        fkind, field = self.take()
        if fkind != "bare":
            raise self.error("Invalid filter: the first argument must be a field name.")
        if name == "has":  # has(profile): GET /api/events' one-argument operator
            self.take(")")
            return [Condition(op=name, field=field, value=None)]
        self.take(",")
        value = self.value()
        self.take(")")
        return [Condition(op=name, field=field, value=value)]

    def value(self) -> Value:
        kind, text = self.take()
        if text == "[":
            items: list[Any] = []
            if self.peek() != ("punct", "]"):
                items.append(self.value())
                while self.peek() == ("punct", ","):
                    self.take(",")
                    items.append(self.value())
            self.take("]")
            return items
        if kind == "str":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "punct":
            raise self.error(f"Invalid filter: unexpected {text!r}.")
        value = _bare(text)
        if isinstance(value, str):  # Klaviyo answers 400 "Invalid filter" to an unquoted string
            raise self.error(
                f"Invalid filter: the string {text!r} must be quoted ('…' or \"…\"); only numbers, true, false, "
                "null and datetimes go unquoted."
            )
        return value


def _bare(text: str) -> Value:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if _NUMBER.match(text):
        return float(text) if "." in text else int(text)
    if _DATETIME.match(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))  # naive stays naive
    return text


def parse_datetime(text: str) -> datetime:
    """ISO 8601; naive values are UTC."""
    return aware(datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T")))


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse(text: str, parameter: str = "filter") -> list[Condition]:
    return _Parser(text, parameter).parse()


def check(
    conds: list[Condition], allowed: Mapping[str, Any], parameter: str = "filter", max_items: int | None = None
) -> list[Condition]:
    """Validate against ``x-klaviyo-filters``-shaped rules; coerce date-time values."""
    out: list[Condition] = []
    for cond in conds:
        rule = allowed.get(cond.field)
        if rule is None:
            raise invalid(f"'{cond.field}' is not a valid filter field for this endpoint.", parameter=parameter)
        form = "none" if cond.op == "has" else "list" if isinstance(cond.value, list) else "single"
        ops = rule["operators"].get(form, [])
        if cond.op not in ops:
            raise invalid(
                f"Operator '{cond.op}' with a {form} value is not allowed for field '{cond.field}'.",
                parameter=parameter,
            )
        if form == "none":
            out.append(cond)
            continue
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        if max_items is not None and len(values) > max_items:
            raise invalid(f"At most {max_items} values are allowed per filter.", parameter=parameter)
        coerced = [_coerce(v, rule.get("value", {}), cond.field, parameter) for v in values]
        out.append(Condition(cond.op, cond.field, coerced if isinstance(cond.value, list) else coerced[0]))
    return out


def _coerce(value: Value, spec: Mapping[str, Any], field: str, parameter: str) -> Value:
    kind = spec.get("type", "string")
    if kind == "boolean":
        if not isinstance(value, bool):
            raise invalid(f"'{field}' takes true or false.", parameter=parameter)
        return value
    if spec.get("format") == "date-time":
        if isinstance(value, str):
            try:
                return parse_datetime(value)
            except ValueError:
                pass
        if not isinstance(value, datetime):
            raise invalid(f"'{field}' takes an ISO 8601 datetime.", parameter=parameter)
        return aware(value)
    if kind == "string" and not isinstance(value, str):
        raise invalid(f"'{field}' takes a quoted string.", parameter=parameter)
    enum = spec.get("enum")
    if enum is not None and value not in enum:
        raise invalid(f"'{value}' is not a valid value for '{field}'.", parameter=parameter)
    return value


def _compare(op: str, actual: Any, wanted: Any) -> bool:
    if actual is None:
        return False
    if op == "greater-than":
        return bool(actual > wanted)
    if op == "greater-or-equal":
        return bool(actual >= wanted)
    if op == "less-than":
        return bool(actual < wanted)
    return bool(actual <= wanted)


def _holds(cond: Condition, actual: Any) -> bool:
    op, wanted = cond.op, cond.value
    if op == "has":
        return actual is not None
    many = actual if isinstance(actual, list | tuple | set | frozenset) else None
    if op in ("equals", "any"):
        pool = wanted if isinstance(wanted, list) else [wanted]
        return any(a in pool for a in many) if many is not None else actual in pool
    if op in ("contains-any", "contains-all"):
        pool = wanted if isinstance(wanted, list) else [wanted]
        have = set(many) if many is not None else {actual}
        return any(p in have for p in pool) if op == "contains-any" else all(p in have for p in pool)
    if op == "contains":
        return wanted in many if many is not None else isinstance(actual, str) and str(wanted) in actual
    if op == "starts-with":
        return isinstance(actual, str) and actual.startswith(str(wanted))
    if op == "ends-with":
        return isinstance(actual, str) and actual.endswith(str(wanted))
    return _compare(op, actual, wanted)


def matches(conds: list[Condition], get: Callable[[str], Any]) -> bool:
    """True when every condition holds for the item whose field values ``get`` returns."""
    return all(_holds(cond, get(cond.field)) for cond in conds)
