"""docs/deploying-for-a-team.md: every block names the test that runs it, and these run theirs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

from klaviyo_analytics.auth import Principal, Role
from klaviyo_analytics.auth.keys import load_signing_key
from klaviyo_analytics.auth.users import hash_password, load_directory
from tests.helpers import TWO_ACCOUNTS, make_settings
from tests.readme_recipes import REPO, recipe, recipes

SECTION = "Deploy for a team"
PLACEHOLDER_HASH = "$argon2id$v=19$m=65536,t=3,p=4$..."


def test_every_block_names_a_test_that_exists() -> None:
    blocks = recipes(SECTION)
    assert len(blocks) >= 4
    for block in blocks:
        assert block.test_file and block.test_name, f"a block has no recipe marker:\n{block.code}"
        source = (REPO / block.test_file).read_text(encoding="utf-8")
        assert f"def {block.test_name}(" in source, f"{block.test_file}::{block.test_name} does not exist"


def readme_users(tmp_path: Path) -> Path:
    text = recipe(SECTION, "test_readme_users_toml_loads").code
    assert PLACEHOLDER_HASH in text
    path = tmp_path / "users.toml"
    path.write_text(text.replace(PLACEHOLDER_HASH, hash_password("alice's long password")))
    return path


def test_readme_users_toml_loads(tmp_path: Path) -> None:
    tokens = {"ALICE_TOKEN": "a" * 32, "BOB_TOKEN": "b" * 32}
    users_file = readme_users(tmp_path)
    settings = make_settings(tmp_path, TWO_ACCOUNTS, KLAVIYO_MCP_USERS_FILE=str(users_file), **tokens)
    users = load_directory(settings, ["acme", "globex"])
    alice = users.principal_for_token("a" * 32)
    assert alice == Principal("alice", {"acme": Role.APPROVER, "globex": Role.READER})
    assert users.verify_password("alice", "alice's long password")
    bob = users.principal_for_token("b" * 32)
    assert bob is not None and bob.role_for("acme") is Role.PROPOSER and bob.role_for("globex") is Role.READER


def test_readme_token_recipe(tmp_path: Path) -> None:
    # Run in an empty directory, with this checkout's venv for the page's .venv/bin/python.
    script = recipe(SECTION, "test_readme_token_recipe").code.replace(".venv/bin/python", sys.executable)
    (tmp_path / ".env").write_text("KLAVIYO_ACME_KEY=pk_test_acme_0123456789\n")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-euc", script], cwd=tmp_path, env={"PATH": path, "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = {k: v for k, v in dotenv_values(tmp_path / ".env").items() if v is not None}
    assert env["KLAVIYO_ACME_KEY"] == "pk_test_acme_0123456789"  # appended, nothing overwritten
    assert len(env["ALICE_TOKEN"]) >= 40 and len(env["BOB_TOKEN"]) >= 40 and env["ALICE_TOKEN"] != env["BOB_TOKEN"]
    # One approval key for both servers: approved over REST, verified where it runs.
    assert len(env["KLAVIYO_MCP_APPROVAL_SECRET"]) >= 40
    assert len(env["POSTGRES_PASSWORD"]) >= 40 and env["POSTGRES_PASSWORD"] != env["KLAVIYO_MCP_APPROVAL_SECRET"]
    signing = load_signing_key(
        make_settings(tmp_path, TWO_ACCOUNTS, KLAVIYO_MCP_OAUTH_SIGNING_KEY=env["KLAVIYO_MCP_OAUTH_SIGNING_KEY"])
    )
    assert signing.kid  # an ES256 key the servers accept, read back from .env as one value
    # The tokens it wrote are the ones the page's users.toml names.
    users_file = readme_users(tmp_path)
    users = load_directory(
        make_settings(tmp_path, TWO_ACCOUNTS, KLAVIYO_MCP_USERS_FILE=str(users_file), **env), ["acme", "globex"]
    )
    alice = users.principal_for_token(env["ALICE_TOKEN"])
    assert alice is not None and alice.user == "alice"
