"""The settings table: declared once (the Settings fields), one prefix, renamed names still read with a
warning, and the generated .env.example and docs/configuration.md held to it byte for byte."""

from __future__ import annotations

import ast
import dataclasses
import logging
import re
from pathlib import Path

import pytest

from klaviyo_analytics import config
from klaviyo_analytics.actions.cli_identity import CREDENTIAL_ENV
from klaviyo_analytics.adapters import prometheus
from klaviyo_analytics.config import BY_NAME, GROUPS, SETTINGS, Settings, load_settings
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.paths import CONFIG_DIR_VARIABLE, REPO_ROOT
from klaviyo_analytics.render import config_docs

# Variables other software reads by these names: renaming them would break that software.
FOREIGN = {"WEB_CONCURRENCY", "PROMETHEUS_MULTIPROC_DIR"}
# Settings added after the rename, so born with the prefix: they have no old name to keep.
BORN_PREFIXED = {
    "KLAVIYO_MCP_TODAY",
    "KLAVIYO_MCP_REGISTRATION_RATE_LIMIT",
    "KLAVIYO_MCP_REGISTRATION_TOKEN",
    "KLAVIYO_MCP_REGISTRATION_UNUSED_HOURS",
    "KLAVIYO_MCP_REFRESH_REUSE_GRACE_SECONDS",
    "KLAVIYO_MCP_WARM_BUDGET_SHARE",
    "KLAVIYO_MCP_OAUTH_CIMD_TEST_CA_FILE",
}


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_warned", set())  # each old name warns once per process


def test_every_settings_field_is_a_row_of_the_table_and_back() -> None:
    not_settings = {"env", "config_dir"}
    fields = {f.name: f for f in dataclasses.fields(Settings) if f.name not in not_settings}
    assert [s.field for s in SETTINGS] == list(fields), "every Settings field is declared with setting()"
    for row in SETTINGS:
        assert fields[row.field].default == row.default, row.name
        assert row.group in GROUPS and row.help.strip(), row.name
    assert Settings() == load_settings({}, use_dotenv=False), "the table's defaults are the dataclass's"
    assert len(BY_NAME) == len(SETTINGS), "a variable names one setting"


def test_secrets_stay_out_of_repr() -> None:
    settings = load_settings(
        {"KLAVIYO_MCP_WEBHOOK_URL": "https://hooks.example.com/x", "KLAVIYO_MCP_WEBHOOK_SECRET": "hook-secret-000111"},
        use_dotenv=False,
    )
    assert "hook-secret-000111" not in repr(settings)
    assert all(not f.repr for f in dataclasses.fields(Settings) if f.name in {s.field for s in SETTINGS if s.secret})


def test_every_name_carries_the_product_prefix() -> None:
    for row in SETTINGS:
        if row.name in FOREIGN:
            assert row.old is None, row.name
            continue
        assert row.name.startswith("KLAVIYO_"), f"{row.name}: give it the KLAVIYO_MCP_ prefix (old name in old=)"
        if not row.name.startswith("KLAVIYO_MCP_"):
            continue
        if row.name in BORN_PREFIXED:
            assert row.old is None, row.name
            continue
        assert row.old and not row.old.startswith("KLAVIYO_"), f"{row.name} keeps its old name for one release"
    olds = [s.old for s in SETTINGS if s.old]
    assert len(set(olds)) == len(olds) and not set(olds) & set(BY_NAME)
    for generic in ("READ_ONLY", "LOG_LEVEL", "WEBHOOK_URL", "WEBHOOK_SECRET", "TOOLSETS", "USERS_FILE"):
        assert generic in olds, generic


def test_an_old_name_still_works_and_warns_on_stderr_naming_the_new_one(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.WARNING, logger="klaviyo_analytics.config"):
        settings = load_settings({"READ_ONLY": "true", "LOG_LEVEL": "debug"}, use_dotenv=False)
    assert settings.read_only is True and settings.log_level == "DEBUG"
    messages = [r.getMessage() for r in caplog.records]
    assert any("READ_ONLY is deprecated: rename it to KLAVIYO_MCP_READ_ONLY" in m for m in messages), messages
    assert any("KLAVIYO_MCP_LOG_LEVEL" in m for m in messages), messages
    assert capsys.readouterr().out == "", "stdout is the MCP channel"


def test_when_both_names_are_set_the_new_one_wins_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="klaviyo_analytics.config"):
        settings = load_settings({"REST_PORT": "9001", "KLAVIYO_MCP_REST_PORT": "9002"}, use_dotenv=False)
    assert settings.rest_port == 9002
    assert any("ignoring REST_PORT" in r.getMessage() for r in caplog.records)


def test_a_bad_value_under_the_old_name_names_the_variable_that_was_set() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"REST_PORT": "seventy"}, use_dotenv=False)
    assert caught.value.details["variable"] == "REST_PORT"
    assert "old name of KLAVIYO_MCP_REST_PORT" in caught.value.message


def test_no_warning_without_old_names(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="klaviyo_analytics.config"):
        load_settings({"KLAVIYO_MCP_READ_ONLY": "true"}, use_dotenv=False)
    assert caplog.records == []


@pytest.mark.parametrize("path", list(config_docs.GENERATED), ids=lambda p: p.name)
def test_generated_settings_files_are_what_the_table_renders(path: Path) -> None:
    render = config_docs.GENERATED[path]
    assert path.read_text(encoding="utf-8") == render(), (
        f"{path.relative_to(REPO_ROOT)} is stale: run `{config_docs.REGENERATE}`"
    )


def test_generated_files_list_every_setting_by_group_with_secrets_marked() -> None:
    example, page = config_docs.render_env_example(), config_docs.render_configuration_page()
    for title, _ in GROUPS.values():
        assert f"# === {title} ===" in example and f"\n## {title}\n" in page
    for row in SETTINGS:
        assert re.search(rf"^(# )?{row.name}=", example, re.M), row.name
        line = next(line for line in page.splitlines() if line.startswith(f"| `{row.name}` |"))
        assert ("*Secret.*" in line) == row.secret, row.name
        if row.old:
            assert f"| `{row.old}` | `{row.name}` |" in page


def _module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments, so ``os.environ.get(NAME)`` is seen too."""
    found = {}
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found.update({t.id: value.value for t in targets if isinstance(t, ast.Name)})
    return found


def _literal_env_reads(path: Path) -> set[str]:
    """Names read as os.environ.get("X"), os.environ["X"] or os.getenv("X") in one file, X a literal or a
    module-level string constant."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants = _module_constants(tree)

    def name_of(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        return constants.get(node.id) if isinstance(node, ast.Name) else None

    names = set()
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Call) and node.args:
            if ast.unparse(node.func) in {"os.environ.get", "os.getenv", "environ.get"}:
                target = name_of(node.args[0])
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            target = name_of(node.slice)
        if target is not None:
            names.add(target)
    return names


# Read from the environment, deliberately not settings (so not in .env files or .env.example): why.
NOT_SETTINGS = {
    CONFIG_DIR_VARIABLE: "locates .env itself, so it can only come from the real environment",
    CREDENTIAL_ENV: "one person's password or token proving who approves at the CLI, for that one command: "
    "read from a .env file the machine keeps for everyone, it would prove nothing",
}


def test_the_product_reads_no_variable_outside_the_table() -> None:
    files = [*(REPO_ROOT / "klaviyo_analytics").rglob("*.py"), *(REPO_ROOT / "api").rglob("*.py")]
    files += [REPO_ROOT / name for name in ("server.py", "gunicorn.conf.py")]
    read = set().union(*(_literal_env_reads(p) for p in files if "sandbox" not in p.parts))
    assert read - set(BY_NAME) - set(NOT_SETTINGS) == set()
    assert set(NOT_SETTINGS) <= read, "each allowance is a variable the product still reads"
    assert not set(NOT_SETTINGS) & set(BY_NAME)
    assert all(name.startswith(config.PREFIX) for name in NOT_SETTINGS), "not settings, but the product's names"
    assert prometheus.MULTIPROC_ENV in BY_NAME
