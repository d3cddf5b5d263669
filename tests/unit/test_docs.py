"""Docs that cannot drift: the README's generated tables and its troubleshooting list."""

from __future__ import annotations

import json
from dataclasses import replace

from klaviyo_analytics import config_docs, docs
from klaviyo_analytics.errors import ALL_ERRORS
from klaviyo_analytics.paths import REPO_ROOT
from klaviyo_analytics.schemas.segments import SegmentsParams
from klaviyo_analytics.tools import CATALOG, get_tool
from klaviyo_analytics.tools.spec import SCHEMAS_FILE, build_schemas, committed_schemas

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
    schemas = tmp_path / "schemas.json"
    schemas.write_text(SCHEMAS_FILE.read_text(encoding="utf-8"))
    config_docs.write(tmp_path)  # the settings files, current: only the README is stale
    args = ["--readme", str(stale), "--schemas", str(schemas), "--root", str(tmp_path)]
    assert docs.main(["--check", *args]) == 1
    assert docs.main(args) == 0
    assert docs.main(["--check", *args]) == 0


def test_check_mode_detects_stale_committed_schemas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    readme = tmp_path / "README.md"
    readme.write_text(README)
    schemas = tmp_path / "schemas.json"
    committed = SCHEMAS_FILE.read_text(encoding="utf-8")
    assert '"type"' in committed
    schemas.write_text(committed.replace('"type"', '"typo"', 1))  # one stale key is enough
    config_docs.write(tmp_path)
    args = ["--readme", str(readme), "--schemas", str(schemas), "--root", str(tmp_path)]
    assert docs.main(["--check", *args]) == 1
    assert docs.main(args) == 0
    assert schemas.read_text(encoding="utf-8") == SCHEMAS_FILE.read_text(encoding="utf-8")


def test_the_committed_schemas_are_what_the_models_build() -> None:
    assert SCHEMAS_FILE.read_text(encoding="utf-8") == build_schemas(CATALOG), "schemas.json is stale: run `make docs`"


def test_tools_read_their_committed_schemas_and_others_build_their_own() -> None:
    committed = json.loads(SCHEMAS_FILE.read_text(encoding="utf-8"))
    spec = get_tool("klaviyo_get_flows")
    fresh = replace(spec)  # a new entry, so nothing is cached on it yet
    assert fresh.input_schema == committed[spec.name]["input"] and fresh.output_schema == committed[spec.name]["output"]
    assert committed_schemas(fresh) is not None
    other = replace(spec, params=SegmentsParams)  # not the committed models: built from its own
    assert committed_schemas(other) is None
    assert "segment_id" in other.input_schema["properties"]


def test_no_default_renders_as_a_pydantic_sentinel() -> None:
    """A field with a default_factory (metric aggregates' `by`) used to show `PydanticUndefined`."""
    reference = docs.render_reference()
    assert "PydanticUndefined" not in reference
    assert "Undefined" not in (REPO_ROOT / "README.md").read_text()
    by_row = next(line for line in reference.splitlines() if line.startswith("| `by` |"))
    assert "Default" not in by_row, by_row
