"""Settings and the account registry: precedence, fail-fast errors that never echo values."""

from __future__ import annotations

from pathlib import Path

import pytest

from klaviyo_analytics import paths
from klaviyo_analytics.config import SETTINGS, load_settings
from klaviyo_analytics.errors import ConfigError, InvalidArgumentError, UnknownAccountError
from klaviyo_analytics.klaviyo.accounts import load_registry, parse_accounts
from klaviyo_analytics.klaviyo.redact import redact
from tests.helpers import ACME_KEY, ONE_ACCOUNT, TWO_ACCOUNTS, make_settings, write_accounts


def test_defaults() -> None:
    settings = load_settings({}, use_dotenv=False)
    assert settings.klaviyo_revision == "2026-07-15"
    assert settings.tool_deadline_seconds == 45
    assert settings.cache_ttl_seconds == 300
    assert settings.read_only is False
    assert settings.rest_tokens == ()


def test_dotenv_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo, user = tmp_path / "repo", tmp_path / "user"
    repo.mkdir()
    user.mkdir()
    monkeypatch.setattr(paths, "REPO_ROOT", repo)
    (repo / ".env").write_text("KLAVIYO_MCP_CACHE_TTL_SECONDS=10\nKLAVIYO_MAX_RETRIES=7\nREST_PORT=9000\n")
    (user / ".env").write_text("KLAVIYO_MCP_CACHE_TTL_SECONDS=20\nKLAVIYO_MAX_RETRIES=8\n")
    settings = load_settings({"KLAVIYO_MCP_CACHE_TTL_SECONDS": "30"}, config_dir=user)
    assert settings.cache_ttl_seconds == 30  # the real environment wins
    assert settings.klaviyo_max_retries == 8  # the per-user .env beats the repo root
    assert settings.rest_port == 9000  # the repo root .env is the fallback


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KLAVIYO_MCP_TOOL_DEADLINE_SECONDS", "-1"),
        ("KLAVIYO_REVISION", "yesterday"),
        ("KLAVIYO_REVISION", "2026-07-16"),  # well formed, never published
        ("KLAVIYO_REVISION", "2023-02-22"),  # published, retired
        ("KLAVIYO_MCP_READ_ONLY", "perhaps"),
        ("KLAVIYO_MCP_REST_PORT", "70000"),
        ("KLAVIYO_BASE_URL", "ftp://x"),
        ("KLAVIYO_MAX_RETRIES", "lots-of-secret-value"),
        ("KLAVIYO_MCP_LEDGER_URL", "mysql://root:hunter2-secret@db/ledger"),
    ],
)
def test_bad_values_fail_fast_naming_the_variable_not_the_value(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value}, use_dotenv=False)
    assert caught.value.details["variable"] == name
    assert name in caught.value.message
    assert value not in caught.value.message


def test_the_ledger_is_in_one_place_and_its_url_is_a_secret() -> None:
    url = "postgresql://ledger:pg-password-0001@db:5432/klaviyo"
    with pytest.raises(ConfigError, match="KLAVIYO_MCP_LEDGER_PATH and KLAVIYO_MCP_LEDGER_URL are both set") as caught:
        load_settings(
            {"KLAVIYO_MCP_LEDGER_URL": url, "KLAVIYO_MCP_LEDGER_PATH": "/tmp/ledger.sqlite3"}, use_dotenv=False
        )
    assert "pg-password-0001" not in caught.value.message
    settings = load_settings({"KLAVIYO_MCP_LEDGER_URL": url}, use_dotenv=False)
    assert settings.ledger_url == url and "pg-password-0001" not in repr(settings)
    assert redact("could not connect with password pg-password-0001") == "could not connect with password [REDACTED]"


def test_every_setting_is_documented_in_env_example() -> None:
    example = (paths.REPO_ROOT / ".env.example").read_text()
    for setting in SETTINGS:
        assert f"\n{setting.name}=" in "\n" + example or f"\n# {setting.name}=" in "\n" + example, setting.name


def test_registry_resolves_default_and_named_accounts(tmp_path: Path) -> None:
    single = load_registry(make_settings(tmp_path))
    assert single.resolve(None).slug == "acme"
    assert single.resolve(None).api_key == ACME_KEY
    assert ACME_KEY not in repr(single.resolve(None))

    several = load_registry(make_settings(tmp_path, TWO_ACCOUNTS))
    assert several.resolve("globex").label == "Globex"
    with pytest.raises(InvalidArgumentError) as missing:
        several.resolve(None)
    assert missing.value.field == "account"
    assert missing.value.details["allowed"] == ["acme", "globex"]
    with pytest.raises(UnknownAccountError) as unknown:
        several.resolve("initech")
    assert unknown.value.details["available_accounts"] == ["acme", "globex"]
    assert "acme, globex" in unknown.value.message


def test_missing_key_env_fails_fast_naming_the_variable(tmp_path: Path) -> None:
    accounts = write_accounts(tmp_path / "accounts.toml", ONE_ACCOUNT)
    settings = load_settings({"KLAVIYO_MCP_ACCOUNTS_FILE": str(accounts)}, use_dotenv=False)
    with pytest.raises(ConfigError) as caught:
        load_registry(settings)
    assert caught.value.details["variable"] == "KLAVIYO_ACME_KEY"


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ({"Bad Slug": {}}, "not a valid slug"),
        ({"acme": "x"}, "must be a table"),
        ({"acme": {"api_key_env": "K", "conversion_metric_id": "X"}}, "label"),
        ({"acme": {"api_key_env": "not a name", "conversion_metric_id": "X", "label": "A"}}, "api_key_env"),
        ({"acme": {"api_key_env": "K", "conversion_metric_id": "a/b", "label": "A"}}, "alphanumeric"),
    ],
)
def test_invalid_accounts_documents(document: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_accounts(document, {"K": "pk_test_value_123"})


def test_accounts_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_registry(load_settings({"KLAVIYO_MCP_ACCOUNTS_FILE": str(tmp_path / "nope.toml")}, use_dotenv=False))
    bad = tmp_path / "bad.toml"
    bad.write_text("[acme\n")
    with pytest.raises(ConfigError, match="cannot read"):
        load_registry(load_settings({"KLAVIYO_MCP_ACCOUNTS_FILE": str(bad)}, use_dotenv=False))
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="defines no accounts"):
        load_registry(load_settings({"KLAVIYO_MCP_ACCOUNTS_FILE": str(empty)}, use_dotenv=False))


def test_search_path_finds_the_user_config_dir_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path / "repo")
    user = tmp_path / "user"
    user.mkdir()
    write_accounts(user / "accounts.toml", ONE_ACCOUNT)
    settings = load_settings({"KLAVIYO_ACME_KEY": ACME_KEY}, config_dir=user)
    assert load_registry(settings).source == user / "accounts.toml"
    with pytest.raises(ConfigError, match=r"no accounts\.toml found"):
        load_registry(load_settings({}, config_dir=tmp_path / "elsewhere"))


def test_optional_timezone_is_validated(tmp_path: Path) -> None:
    good = {"acme": {**ONE_ACCOUNT["acme"], "timezone": "Europe/London"}}
    assert load_registry(make_settings(tmp_path, good)).resolve(None).timezone == "Europe/London"
    bad = {"acme": {**ONE_ACCOUNT["acme"], "timezone": "Mars/Olympus"}}
    with pytest.raises(ConfigError, match="IANA"):
        load_registry(make_settings(tmp_path, bad))


@pytest.mark.parametrize("revision", ["2026-07-15", "2026-10-15", "2026-04-15", "2026-07-15.pre"])
def test_klaviyo_revision_accepts_published_revisions(revision: str) -> None:
    assert load_settings({"KLAVIYO_REVISION": revision}, use_dotenv=False).klaviyo_revision == revision


def test_klaviyo_revision_errors_say_what_is_allowed() -> None:
    with pytest.raises(ConfigError) as never:
        load_settings({"KLAVIYO_REVISION": "2026-08-01"}, use_dotenv=False)
    assert "a revision Klaviyo published" in never.value.message and "2026-10-15" in never.value.message
    with pytest.raises(ConfigError) as retired:
        load_settings({"KLAVIYO_REVISION": "2024-02-15"}, use_dotenv=False)
    assert "retired on 2026-02-15" in retired.value.message


def test_an_unknown_key_is_named_with_the_nearest_valid_one() -> None:
    """`lable` used to read as "missing label", with no word of the typo."""
    with pytest.raises(ConfigError) as caught:
        parse_accounts({"acme": {"api_key_env": "K", "lable": "Acme"}}, {"K": "pk_test_value_123"})
    assert caught.value.message.startswith(
        "account 'acme': unknown key 'lable' in accounts.toml; did you mean 'label'?"
    )
    assert caught.value.details["field"] == "lable"
    with pytest.raises(ConfigError, match=r"unknown key .colour. in accounts\.toml; allowed: api_key_env, label"):
        parse_accounts({"acme": {"api_key_env": "K", "label": "A", "colour": "red"}}, {"K": "pk_test_value_123"})
