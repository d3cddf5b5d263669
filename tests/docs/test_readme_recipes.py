"""Every shell block in README.md and docs/*.md names the test that runs it, and the REST recipes run
here as written: in bash, from the repository, with only the ports (8080, 8765) and /tmp swapped
for free ones, so two runs on one machine never collide."""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.deploy.conftest import free_port
from tests.readme_recipes import DOCS, REPO, Recipe, all_recipes, pages, recipe

SHELL = {"sh", "bash", "console", "shell"}

# The test named by each recipe the README held before the docs moved to docs/ (14 shell blocks and
# the users.toml block): none may be dropped by a later edit of the pages.
COVERED_BEFORE_THE_MOVE = {
    "test_demo_runs_the_story_end_to_end",
    "test_the_printed_entry_runs_as_claude_runs_it",
    "test_default_run_starts_a_sandbox_and_passes",
    "test_the_rest_api_recipe",
    "test_the_exact_cmd_serves_the_api_and_passes_its_healthcheck",
    "test_the_sandbox_recipe",
    "test_readme_connector_recipe_is_what_the_end_to_end_test_runs",
    "test_a_person_who_types_the_code_approves",
    "test_rest_approval_needs_an_approver_token",
    "test_readme_users_toml_loads",
    "test_hash_password_as_a_module",
    "test_readme_token_recipe",
    "test_the_team_profile",
    "test_one_scrape_sees_calls_served_by_both_workers",
    "test_the_command_writes_one_file_per_account",
}
# Pages linked from the docs that other changes add; a link to one is checked once it exists.
PAGES_WRITTEN_ELSEWHERE = {"docs/configuration.md", "docs/architecture.md", "docs/contributing.md"}


def shell_blocks() -> list[Recipe]:
    return [block for block in all_recipes() if block.language in SHELL]


def test_every_shell_block_names_a_test_that_runs_it() -> None:
    blocks = shell_blocks()
    assert len(blocks) >= 14 and {b.page for b in blocks} > {"README.md"}
    for block in blocks:
        assert block.test_file and block.test_name, f"{block.page}: a block has no recipe marker:\n{block.code}"
        source = (REPO / block.test_file).read_text(encoding="utf-8")
        defined = {n.name for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)}
        assert block.test_name in defined, f"{block.page}: {block.test_file}::{block.test_name} is missing"
        # Either the test's module reads this very block from the docs, or the marker says why it cannot.
        if block.not_run_because is None:
            assert re.search(rf"recipe\([^)]*\"{block.test_name}\"", source), (
                f"{block.page}: {block.test_file} never reads {block.test_name}'s block with recipe(); run the "
                "block, or say in the marker why it cannot run as written (`; not run as written: …`)"
            )


def test_no_recipe_of_the_old_readme_was_dropped() -> None:
    named = {block.test_name for block in all_recipes()}
    assert named >= COVERED_BEFORE_THE_MOVE, sorted(COVERED_BEFORE_THE_MOVE - named)


def test_every_page_is_linked_and_every_relative_link_resolves() -> None:
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    for page in DOCS.glob("*.md"):
        assert page.name == "README.md" or f"]({page.name})" in index, f"docs/README.md does not link {page.name}"
    for path in pages():
        text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            resolved = (path.parent / target).resolve()
            if str(resolved.relative_to(REPO)) in PAGES_WRITTEN_ELSEWHERE and not resolved.exists():
                continue
            assert resolved.exists(), f"{path.relative_to(REPO)} links {target}, which does not exist"


@contextmanager
def running_recipe(code: str, tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    rest, sandbox = free_port(), free_port()
    script = code.replace("8080", str(rest)).replace("8765", str(sandbox)).replace("/tmp/", f"{tmp_path}/")
    # gunicorn.conf.py binds KLAVIYO_MCP_REST_PORT, as a user's .env may set it.
    env = {**env, "KLAVIYO_MCP_REST_PORT": str(rest)}
    out = tmp_path / "recipe.out"
    with out.open("w") as sink:
        process = subprocess.Popen(
            ["bash", "-e", "-c", script], cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield process, out
    finally:
        # The recipe leaves gunicorn (and the sandbox) running in the background, as a person's shell would.
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        time.sleep(0.5)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # A user's shell: no project settings but what the recipe and its .env give; per-user dirs in tmp.
    return {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"), "LANG": "C.UTF-8", **extra,
    }  # fmt: skip


def wait_for_output(process: subprocess.Popen[str], out: Path, count: int, seconds: float = 60) -> list[str]:
    """The JSON lines the recipe's curls printed (curl -s prints no newline: split on the braces)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = out.read_text(encoding="utf-8", errors="replace")
        documents = re.findall(r'\{"(?:status|data|error)".*?\}(?=\{"|\s*$|\n)', text, re.S)
        if len(documents) >= count or process.poll() is not None:
            return documents
        time.sleep(0.3)
    raise AssertionError(f"the recipe printed too little in {seconds} s:\n{out.read_text()[-3000:]}")


@pytest.mark.slow
def test_the_sandbox_recipe(tmp_path: Path) -> None:
    block = recipe("The REST API without a Klaviyo account", "test_the_sandbox_recipe")
    with running_recipe(block.code, tmp_path, clean_env(tmp_path)) as (process, out):
        deadline = time.monotonic() + 90
        while '"flows"' not in out.read_text(errors="replace"):
            assert process.poll() is None or '"flows"' in out.read_text(), out.read_text()[-3000:]
            assert time.monotonic() < deadline, out.read_text()[-3000:]
            time.sleep(0.3)
        text = out.read_text()
    assert '"account":"acme"' in text.replace(" ", "") and "Traceback" not in text


@pytest.mark.slow
def test_the_rest_api_recipe_fails_fast_without_its_configuration(tmp_path: Path) -> None:
    """The block as written, with no accounts.toml where gunicorn looks: it ends within seconds, non-zero,
    with one line naming the file (the wait loop is bounded and stops when gunicorn has exited)."""
    block = recipe("The REST API", "test_the_rest_api_recipe")
    started = time.monotonic()
    with running_recipe(block.code, tmp_path, clean_env(tmp_path)) as (process, out):
        process.wait(timeout=40)
        text = out.read_text()
    assert process.returncode != 0 and time.monotonic() - started < 30, text
    assert "CONFIG_ERROR: no accounts.toml found" in text and "Traceback" not in text, text


@pytest.mark.slow
def test_the_rest_api_recipe(tmp_path: Path) -> None:
    """With accounts.toml and the keys a user's .env would hold (here: the sandbox's), the block as written."""
    block = recipe("The REST API", "test_the_rest_api_recipe")
    sandbox_port = free_port()
    sandbox = subprocess.Popen(
        [str(REPO / ".venv/bin/python"), "-m", "klaviyo_sandbox", "--port", str(sandbox_port), "--quiet"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        toml = subprocess.run(
            [str(REPO / ".venv/bin/python"), "-m", "klaviyo_sandbox", "--print-accounts-toml"],
            cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        accounts = tmp_path / "accounts.toml"
        accounts.write_text(toml)
        env = clean_env(
            tmp_path, KLAVIYO_MCP_ACCOUNTS_FILE=str(accounts), KLAVIYO_BASE_URL=f"http://127.0.0.1:{sandbox_port}",
            KLAVIYO_ACME_KEY="pk_sandbox_acme_demo", KLAVIYO_GLOBEX_KEY="pk_sandbox_globex_demo",
        )  # fmt: skip
        with running_recipe(block.code, tmp_path, env) as (process, out):
            deadline = time.monotonic() + 90
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.3)
            assert process.returncode == 0, out.read_text()[-3000:]
            text = out.read_text()
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    # /health, the accounts, campaign performance and the live flows: four answers, none an error.
    assert text.count('"status"') >= 1 and '"accounts"' in text and '"campaigns"' in text and '"flows"' in text, text
    assert '"error"' not in text and "Traceback" not in text, text
