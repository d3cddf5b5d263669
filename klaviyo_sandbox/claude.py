"""``python -m klaviyo_sandbox.claude``: the MCP server on the embedded sandbox, for Claude to start.

What ``install.py --sandbox`` registers with Claude Desktop and Claude Code: no Klaviyo account, no
key, no network. It serves a seeded sandbox on a free loopback port, writes the server's own
configuration (``.env`` and ``accounts.toml``) into a state directory of its own, and runs
``server.py`` over stdio with ``KLAVIYO_MCP_CONFIG_DIR`` pointing there — so the user's real
configuration is never read, and the approval command the server prints (which names that
directory) reaches the same ledger. stdin and stdout are handed to ``server.py`` untouched: they are
the JSON-RPC channel; this launcher writes only to stderr.

Rate-limit windows are multiplied by ``--time-scale`` on both sides (sandbox and pacer): Klaviyo's
real windows (a report endpoint allows 2 calls a minute) would stop a conversation after a few
questions, so the default shrinks them 50x, as the demo does.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from klaviyo_sandbox.app import Sandbox
from klaviyo_sandbox.config import SandboxConfig, accounts_toml
from klaviyo_sandbox.server import serve

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "server.py"
DEFAULT_TIME_SCALE = 0.02
# Shown to the model in klaviyo_list_accounts and to the person in install.py's output.
SYNTHETIC = "synthetic sandbox data"
SYNTHETIC_NOTICE = (
    "The sandbox's accounts, campaigns, flows and revenue are synthetic, generated from a seed: "
    "nothing here is a real Klaviyo account."
)


def default_state_dir() -> Path:
    # platformdirs is a dependency of the product, and this runs in its venv.
    import platformdirs

    return Path(platformdirs.user_data_dir("klaviyo-mcp", appauthor=False)) / "sandbox"


def write_config(state: Path, sandbox: Sandbox, base_url: str, time_scale: float) -> None:
    """The server's configuration, in files (not only its environment): the approval CLI a person runs
    with ``KLAVIYO_MCP_CONFIG_DIR`` set to ``state`` reads the same ledger and the same sandbox."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    labelled = [dataclasses.replace(a, label=f"{a.label} ({SYNTHETIC})") for a in sandbox.accounts]
    (state / "accounts.toml").write_text(
        f"# Written by python -m klaviyo_sandbox.claude at each start: {SYNTHETIC}.\n\n" + accounts_toml(labelled),
        encoding="utf-8",
    )
    lines = [
        f"# Written by python -m klaviyo_sandbox.claude at each start ({SYNTHETIC}; the keys are the sandbox's own).",
        f"KLAVIYO_BASE_URL={base_url}",
        f"KLAVIYO_MCP_RATE_LIMIT_TIME_SCALE={time_scale}",
        f"KLAVIYO_MCP_LEDGER_PATH={state / 'ledger.sqlite3'}",
        f"KLAVIYO_MCP_OAUTH_STATE_PATH={state / 'oauth.sqlite3'}",
        *(f"{a.key_env}={a.api_key}" for a in sandbox.accounts),
    ]
    env_file = state / ".env"
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env_file.chmod(0o600)


def server_environment(state: Path) -> dict[str, str]:
    """Only what server.py needs: the config dir. Nothing of the caller's environment is passed on but
    the locale and home, so a real account's key or setting in it cannot reach the sandbox's server."""
    kept = {k: v for k, v in os.environ.items() if k in {"HOME", "LANG", "LC_ALL", "TZ", "SYSTEMROOT"}}
    return {**kept, "KLAVIYO_MCP_CONFIG_DIR": str(state), "PYTHONUNBUFFERED": "1"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m klaviyo_sandbox.claude", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"multiplies Klaviyo's rate-limit windows (default {DEFAULT_TIME_SCALE}: 50x shorter; 1 = real limits)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated accounts (default: 7)")
    parser.add_argument("--state-dir", type=Path, help="where its config and ledger live (default: per-user data dir)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not 0 < args.time_scale <= 1:
        print("--time-scale must be above 0 and at most 1", file=sys.stderr)
        return 2
    state = (args.state_dir or default_state_dir()).expanduser().absolute()
    sandbox = Sandbox(SandboxConfig(seed=args.seed, time_scale=args.time_scale))
    with serve(sandbox) as base_url:
        write_config(state, sandbox, base_url, args.time_scale)
        print(f"klaviyo sandbox on {base_url}: {SYNTHETIC_NOTICE}", file=sys.stderr, flush=True)
        # This interpreter and this checkout's server.py: no input reaches the command line.
        server = subprocess.Popen([sys.executable, str(SERVER)], env=server_environment(state))  # noqa: S603

        def forward(signum: int, _frame: FrameType | None) -> None:
            server.send_signal(signum)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, forward)
        return server.wait()


if __name__ == "__main__":
    raise SystemExit(main())


def entry(python: Path, time_scale: float = DEFAULT_TIME_SCALE, state_dir: Path | None = None) -> dict[str, Any]:
    """The MCP server entry install.py --sandbox prints: absolute paths, and the checkout on PYTHONPATH so
    that ``-m`` finds this package whatever directory (and environment) Claude starts it from."""
    args = ["-m", "klaviyo_sandbox.claude", "--time-scale", f"{time_scale:g}"]
    if state_dir is not None:
        args += ["--state-dir", str(state_dir.expanduser().absolute())]
    return {"command": str(python), "args": args, "env": {"PYTHONPATH": str(REPO)}}
