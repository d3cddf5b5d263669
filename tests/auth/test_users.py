"""The user directory: users files, grants, token lookup, password checks, the hash CLI."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from klaviyo_analytics.auth import LOCAL, Principal, Role
from klaviyo_analytics.auth.cli import main as users_cli
from klaviyo_analytics.auth.users import UserDirectory, fingerprint, hash_password, load_directory
from klaviyo_analytics.errors import ConfigError
from klaviyo_analytics.klaviyo.redact import redact
from klaviyo_analytics.paths import REPO_ROOT

ACCOUNTS = ("acme", "globex")
ALICE_TOKEN = "alice-token-0123456789abcdef"
BOB_TOKEN = "bob-token-0123456789abcdef"
PASSWORD = "correct horse battery staple"
HASH = hash_password(PASSWORD)

USERS = f"""
[users.alice]
name = "Alice Example"
password_hash = "{HASH}"
tokens_env = ["ALICE_TOKEN"]
grants = {{ acme = "approver", globex = "reader" }}

[users.bob]
tokens_env = ["BOB_TOKENS"]
grants = {{ "*" = "reader", globex = "proposer" }}
"""


def directory(tmp_path: Path, text: str = USERS, **env: str) -> UserDirectory:
    from tests.helpers import make_settings

    users = tmp_path / "users.toml"
    users.write_text(text)
    base = {
        "ALICE_TOKEN": ALICE_TOKEN,
        "BOB_TOKENS": f"{BOB_TOKEN}, {BOB_TOKEN}-second",
        "KLAVIYO_MCP_USERS_FILE": str(users),
    }
    return load_directory(make_settings(tmp_path, **{**base, **env}), ACCOUNTS)


def test_roles_are_cumulative_and_grants_per_account() -> None:
    alice = Principal("alice", {"acme": Role.APPROVER, "globex": Role.READER})
    assert alice.can("acme", Role.PROPOSER) and alice.can("acme", Role.READER) and alice.can("acme", Role.APPROVER)
    assert alice.can("globex", Role.READER) and not alice.can("globex", Role.PROPOSER)
    assert alice.role_for("initech") is None and not alice.can("initech", Role.READER)
    assert alice.visible(["globex", "initech", "acme"]) == ["globex", "acme"]
    wildcard = Principal("bob", {"*": Role.READER, "globex": Role.PROPOSER})
    assert wildcard.role_for("anything") is Role.READER and wildcard.role_for("globex") is Role.PROPOSER
    assert LOCAL.can("whatever", Role.APPROVER) and LOCAL.visible(["a", "b"]) == ["a", "b"]


def test_users_file_gives_principals_by_user_and_token(tmp_path: Path) -> None:
    users = directory(tmp_path)
    assert users.from_file and set(users.users) == {"alice", "bob"}
    alice = users.principal_for_user("alice")
    assert alice == Principal("alice", {"acme": Role.APPROVER, "globex": Role.READER})
    assert users.principal_for_token(ALICE_TOKEN) == alice
    # One env var may hold several comma-separated tokens, like KLAVIYO_MCP_REST_API_TOKENS.
    bob = users.principal_for_token(BOB_TOKEN + "-second")
    assert bob is not None and bob.user == "bob" and bob.role_for("globex") is Role.PROPOSER
    assert users.principal_for_token("not-a-token-0123456789") is None
    assert users.principal_for_token(ALICE_TOKEN[:-1]) is None
    assert users.principal_for_user("mallory") is None
    assert users.health() == {"status": "ok", "source": "users file", "users": 2, "tokens": 3}


def test_password_verification(tmp_path: Path) -> None:
    users = directory(tmp_path)
    assert users.verify_password("alice", PASSWORD)
    assert not users.verify_password("alice", PASSWORD + "x")
    assert not users.verify_password("alice", "")
    assert not users.verify_password("bob", PASSWORD)  # bob has no password: tokens only
    assert not users.verify_password("mallory", PASSWORD)


def test_tokens_and_hashes_are_registered_as_secrets(tmp_path: Path) -> None:
    directory(tmp_path)
    assert redact(f"a log line with {ALICE_TOKEN} and {HASH}") == "a log line with [REDACTED] and [REDACTED]"


def test_without_users_file_the_token_settings_keep_their_meaning(tmp_path: Path) -> None:
    from tests.helpers import make_settings

    settings = make_settings(
        tmp_path, KLAVIYO_MCP_REST_API_KEY="read-token-0123", KLAVIYO_MCP_APPROVER_TOKENS="approve-token-0123"
    )
    users = load_directory(settings, ACCOUNTS)
    assert not users.from_file and users.users == {}
    reader = users.principal_for_token("read-token-0123")
    approver = users.principal_for_token("approve-token-0123")
    assert reader == Principal(fingerprint("read-token-0123"), {"*": Role.PROPOSER})
    assert approver is not None and approver.can("acme", Role.APPROVER) and approver.can("globex", Role.READER)
    assert not reader.can("acme", Role.APPROVER)
    assert not users.verify_password("anyone", "anything at all")


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ('[users.alice]\ngrants = { acme = "admin" }\n', {}, "users.alice.grants: unknown role 'admin'"),
        ('[users.alice]\ngrants = { initech = "reader" }\n', {}, "users.alice.grants: unknown account 'initech'"),
        ('[users.alice]\ntokens_env = ["NOPE_TOKEN"]\n', {}, "users.alice.tokens_env: environment variable NOPE_TOKEN"),
        ('[users.alice]\ntokens_env = ["T"]\n', {"T": "short"}, "users.alice.tokens_env: T holds a token shorter"),
        ('[users.alice]\npassword = "hunter2hunter2"\n', {}, "users.alice.password: unknown field(s) ['password']"),
        ('[users.alice]\npassword_hash = "hunter2"\n', {}, "users.alice.password_hash: must be an argon2 hash"),
        ('[users.alice]\npassword_hash = "$argon2id$garbage"\n', {}, "users.alice.password_hash: is not a well-formed"),
        ('[users.alice]\ngrants = "acme"\n', {}, "users.alice.grants: must be a table"),
        ('[users."bad id!"]\n', {}, "users.bad id!: a user id is"),
        ("[users]\n", {}, "defines no user"),
        ("[accounts.alice]\n", {}, "unknown top-level key(s) ['accounts']"),
        ("[users.alice\n", {}, "not valid TOML"),
        (
            '[users.a]\ntokens_env = ["T"]\n[users.b]\ntokens_env = ["T"]\n',
            {"T": "shared-token-0123456789"},
            "users.b.tokens_env: T holds a token already given to user 'a'",
        ),
    ],
)
def test_bad_users_files_name_file_user_and_field(
    tmp_path: Path, text: str, env: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        directory(tmp_path, text, **env)
    assert caught.value.message.startswith(f"KLAVIYO_MCP_USERS_FILE {tmp_path / 'users.toml'}")
    assert expected in caught.value.message
    assert caught.value.details["variable"] == "KLAVIYO_MCP_USERS_FILE"
    assert "hunter2" not in caught.value.message and "shared-token" not in caught.value.message


def test_missing_users_file(tmp_path: Path) -> None:
    from tests.helpers import make_settings

    settings = make_settings(tmp_path, KLAVIYO_MCP_USERS_FILE=str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"nope\.toml: the file does not exist"):
        load_directory(settings, ACCOUNTS)


def test_a_rest_token_no_user_claims_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds a token no user claims"):
        directory(tmp_path, KLAVIYO_MCP_REST_API_KEY="legacy-token-0123456789")
    # Claimed by naming the variable in tokens_env, it gets the file's grants.
    text = USERS + '\n[users.ci]\ntokens_env = ["KLAVIYO_MCP_REST_API_KEY"]\ngrants = { acme = "reader" }\n'
    users = directory(tmp_path, text, KLAVIYO_MCP_REST_API_KEY="legacy-token-0123456789")
    assert users.principal_for_token("legacy-token-0123456789") == Principal("ci", {"acme": Role.READER})


def test_hash_password_cli_reads_stdin_not_argv(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert users_cli(["hash-password"], stdin=io.StringIO(PASSWORD + "\n"), out=out, err=err) == 0
    printed = out.getvalue().strip()
    assert printed.startswith("$argon2id$") and PASSWORD not in printed
    users = directory(tmp_path, f'[users.carol]\npassword_hash = "{printed}"\n')
    assert users.verify_password("carol", PASSWORD) and not users.verify_password("carol", "wrong password!")
    assert users_cli(["hash-password"], stdin=io.StringIO("short\n"), out=io.StringIO(), err=err) == 1
    assert "at least 12 characters" in err.getvalue()
    with pytest.raises(SystemExit):  # a password on the command line is a usage error
        users_cli(["hash-password", PASSWORD], stdin=io.StringIO(""), out=io.StringIO(), err=io.StringIO())


def test_hash_password_as_a_module(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "klaviyo_analytics", "users", "hash-password"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    users = directory(tmp_path, f'[users.dan]\npassword_hash = "{done.stdout.strip()}"\n')
    assert users.verify_password("dan", PASSWORD)


def test_an_unknown_user_takes_as_long_as_a_wrong_password(tmp_path: Path) -> None:
    import statistics
    import time

    users = directory(tmp_path)

    def seconds(user: str) -> float:
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            assert not users.verify_password(user, "not the password at all")
            runs.append(time.perf_counter() - started)
        return statistics.median(runs)

    users.verify_password("mallory", "warm-up: the dummy hash is made once")
    known, unknown, tokens_only = seconds("alice"), seconds("mallory"), seconds("bob")
    # argon2 runs either way (a real hash, or a dummy one): no shortcut reveals who exists.
    assert 0.33 < unknown / known < 3 and 0.33 < tokens_only / known < 3, (known, unknown, tokens_only)
