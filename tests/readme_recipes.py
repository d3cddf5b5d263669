"""The docs' recipes: each fenced block of README.md and docs/*.md, with the test its marker names.

A block's marker is the line before it: ``<!-- recipe: covered by tests/…py::test_name -->``, plus
``; not run as written: <why>`` when the named test runs what the block does rather than the block
itself (Docker, a placeholder id, a crontab line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"
MARKER = re.compile(r"<!-- recipe: covered by (tests/[\w/]+\.py)::(\w+)(?:; not run as written: (.+?))? -->")
HEADING = re.compile(r"(#{1,6}) (.+)")


@dataclass(frozen=True)
class Recipe:
    test_file: str | None
    test_name: str | None
    language: str
    code: str
    page: str = ""
    not_run_because: str | None = None


def pages() -> list[Path]:
    """README.md, then every page of docs/ (sorted), the files whose recipes tests run."""
    return [README, *sorted(DOCS.glob("*.md"))]


def _blocks(path: Path, lines: list[str]) -> list[tuple[int, Recipe]]:
    """(line index, recipe) of every fenced block with a language, in order."""
    found, i = [], 0
    page = str(path.relative_to(REPO))
    while i < len(lines):
        if lines[i].startswith("```") and len(lines[i]) > 3:
            language = lines[i][3:].strip()
            end = lines.index("```", i + 1)
            previous = lines[i - 1] if i else ""
            marker = MARKER.fullmatch(previous.strip())
            code = "\n".join(lines[i + 1 : end]) + "\n"
            if marker:
                recipe = Recipe(marker.group(1), marker.group(2), language, code, page, marker.group(3))
            else:
                recipe = Recipe(None, None, language, code, page)
            found.append((i, recipe))
            i = end
        i += 1
    return found


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, title) of each heading outside fenced blocks (a `# cron` comment is code)."""
    found, fenced = [], False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (heading := HEADING.fullmatch(line)):
            found.append((i, len(heading.group(1)), heading.group(2)))
    return found


def all_recipes() -> list[Recipe]:
    """Every fenced block of every page."""
    return [recipe for path in pages() for _, recipe in _blocks(path, path.read_text(encoding="utf-8").splitlines())]


def recipes(title: str) -> list[Recipe]:
    """Every fenced block under the one heading called ``title`` (any level, any page), up to the next
    heading of the same or a higher level."""
    matches = []
    for path in pages():
        lines = path.read_text(encoding="utf-8").splitlines()
        headings = _headings(lines)
        for n, (start, level, name) in enumerate(headings):
            if name == title:
                end = next((i for i, lv, _ in headings[n + 1 :] if lv <= level), len(lines))
                matches.append([r for i, r in _blocks(path, lines) if start < i < end])
    assert len(matches) == 1, f"one heading in README.md or docs/ must be '{title}', found {len(matches)}"
    return matches[0]


def recipe(title: str, test_name: str) -> Recipe:
    matching = [r for r in recipes(title) if r.test_name == test_name]
    assert len(matching) == 1, f"one block under '{title}' in the docs must name {test_name}"
    return matching[0]


def docs_text() -> str:
    """README.md and every docs page, for tests that look for a command anywhere in the docs."""
    return "\n".join(path.read_text(encoding="utf-8") for path in pages())
