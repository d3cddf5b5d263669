"""The README's recipes: each fenced block of a section, with the test its marker names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MARKER = re.compile(r"<!-- recipe: covered by (tests/[\w/]+\.py)::(\w+) -->")


@dataclass(frozen=True)
class Recipe:
    test_file: str | None
    test_name: str | None
    language: str
    code: str


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def recipes(title: str) -> list[Recipe]:
    """Every fenced block in the section, with the marker on the line before it (if any)."""
    lines = section(title).splitlines()
    found, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```") and len(lines[i]) > 3:
            language = lines[i][3:].strip()
            end = lines.index("```", i + 1)
            previous = lines[i - 1] if i else ""
            marker = MARKER.fullmatch(previous.strip())
            found.append(
                Recipe(
                    marker.group(1) if marker else None,
                    marker.group(2) if marker else None,
                    language,
                    "\n".join(lines[i + 1 : end]) + "\n",
                )
            )
            i = end
        i += 1
    return found


def recipe(title: str, test_name: str) -> Recipe:
    matching = [r for r in recipes(title) if r.test_name == test_name]
    assert len(matching) == 1, f"one block in README '{title}' must name {test_name}"
    return matching[0]
