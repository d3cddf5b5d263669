"""Every shell block in the README names the test that runs it, and the REST recipes run here as
written: in bash, from the repository, with only the ports (8080, 8765) and /tmp swapped for free
ones, so two runs on one machine never collide."""

from __future__ import annotations

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
from tests.readme_recipes import README, REPO, Recipe, recipe, recipes

SHELL = {"sh", "bash", "console", "shell"}


def all_sections() -> list[str]:
    return re.findall(r"^## (.+)$", README.read_text(encoding="utf-8"), re.M)


def shell_blocks() -> list[tuple[str, Recipe]]:
    return [(title, block) for title in all_sections() for block in recipes(title) if block.language in SHELL]


def test_every_shell_block_names_a_test_that_exists() -> None:
    blocks = shell_blocks()
    assert len(blocks) >= 10
    for title, block in blocks:
        assert block.test_file and block.test_name, f"README '{title}': a block has no recipe marker:\n{block.code}"
        source = (REPO / block.test_file).read_text(encoding="utf-8")
        assert re.search(rf"^def {block.test_name}\(", source, re.M), f"{block.test_file}::{block.test_name} is missing"


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
    block = recipe("The REST API", "test_the_sandbox_recipe")
    with running_recipe(block.code, tmp_path, clean_env(tmp_path)) as (process, out):
        deadline = time.monotonic() + 90
        while '"flows"' not in out.read_text(errors="replace"):
            assert process.poll() is None or '"flows"' in out.read_text(), out.read_text()[-3000:]
            assert time.monotonic() < deadline, out.read_text()[-3000:]
            time.sleep(0.3)
        text = out.read_text()
    assert '"account":"acme"' in text.replace(" ", "") and "Traceback" not in text


@pytest.mark.slow
def test_the_rest_api_recipe(tmp_path: Path) -> None:
    """With accounts.toml and the keys a user's .env would hold (here: the sandbox's), the block as written."""
    block = recipe("The REST API", "test_the_rest_api_recipe")
    sandbox_port = free_port()
    sandbox = subprocess.Popen(
        [str(REPO / ".venv/bin/python"), "-m", "klaviyo_analytics.sandbox", "--port", str(sandbox_port), "--quiet"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        toml = subprocess.run(
            [str(REPO / ".venv/bin/python"), "-m", "klaviyo_analytics.sandbox", "--print-accounts-toml"],
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
