"""Docs that cannot drift: the README's generated tables and its troubleshooting list."""

from __future__ import annotations

from klaviyo_analytics import docs
from klaviyo_analytics.errors import ALL_ERRORS
from klaviyo_analytics.paths import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_generated_sections_are_current() -> None:
    assert docs.updated_readme(README) == README, "README.md is stale: run `make docs`"


def test_every_error_code_has_troubleshooting() -> None:
    troubleshooting = README.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    for error in ALL_ERRORS:
        assert f"`{error.code}`" in troubleshooting, error.code


def test_the_two_commands_come_first() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make demo" in first_block and "make test" in first_block


def test_check_mode_detects_a_stale_readme(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "README.md"
    stale.write_text(
        README.replace("`klaviyo_list_accounts` | `GET /v1/accounts`", "`klaviyo_list_accounts` | `GET /old`")
    )
    assert docs.main(["--check", "--readme", str(stale)]) == 1
    assert docs.main(["--readme", str(stale)]) == 0
    assert docs.main(["--check", "--readme", str(stale)]) == 0


def test_no_default_renders_as_a_pydantic_sentinel() -> None:
    """A field with a default_factory (metric aggregates' `by`) used to show `PydanticUndefined`."""
    reference = docs.render_reference()
    assert "PydanticUndefined" not in reference
    assert "Undefined" not in (REPO_ROOT / "README.md").read_text()
    by_row = next(line for line in reference.splitlines() if line.startswith("| `by` |"))
    assert "Default" not in by_row, by_row
