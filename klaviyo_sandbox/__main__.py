"""``python -m klaviyo_sandbox``: serve the Klaviyo sandbox on loopback.

    --print-env            `export NAME=value` lines (KLAVIYO_BASE_URL and each demo key) for eval, then exit
    --print-accounts-toml  an accounts.toml for the seeded accounts, then exit

Serving prints one line with the base URL to stdout and logs requests to stderr; Ctrl-C stops.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys

from klaviyo_analytics.clock import Clock, clock_for
from klaviyo_sandbox.adapters import is_loopback
from klaviyo_sandbox.app import Sandbox
from klaviyo_sandbox.config import SIZES, DemoAccount, SandboxConfig, accounts_toml
from klaviyo_sandbox.faults import FaultConfig
from klaviyo_sandbox.server import base_url, make_server
from klaviyo_sandbox.tls import SelfSigned


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m klaviyo_sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated accounts (default: 7)")
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies rate-limit windows (default: 1)")
    parser.add_argument(
        "--today",
        "--anchor",
        dest="today",
        type=_pin,
        default=_pin_default(),
        metavar="YYYY-MM-DD|INSTANT",
        help="pin the sandbox's today; its data ends there (default: KLAVIYO_MCP_TODAY, else the real date)",
    )
    parser.add_argument("--faults", default=None, metavar="SPEC", help="e.g. error_rate=0.1,storm=0.05,seed=3")
    parser.add_argument(
        "--public-url",
        default=None,
        metavar="ORIGIN",
        help="origin written into links, e.g. https://a.klaviyo.com (Klaviyo's SDK follows only https cursors)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a generated self-signed certificate (its path is printed to stderr)",
    )
    parser.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback host")
    parser.add_argument("--print-env", action="store_true", help="print shell env lines and exit")
    parser.add_argument("--print-accounts-toml", action="store_true", help="print accounts.toml and exit")
    parser.add_argument("--quiet", action="store_true", help="do not log requests to stderr")
    return parser


def _pin(text: str) -> Clock:
    try:
        return clock_for(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _pin_default() -> Clock:
    """KLAVIYO_MCP_TODAY, the product's setting, so one variable pins both sides of a demo."""
    raw = os.environ.get("KLAVIYO_MCP_TODAY", "").strip()
    try:
        return clock_for(raw or None)
    except ValueError as exc:
        raise SystemExit(f"KLAVIYO_MCP_TODAY is invalid: {exc}") from None


def env_lines(url: str, accounts: list[DemoAccount]) -> list[str]:
    # `export`, so that `eval "$(... --print-env)"` reaches the programs the shell starts next (gunicorn),
    # not only the shell itself.
    pairs = [("KLAVIYO_BASE_URL", url), *((a.key_env, a.api_key) for a in accounts)]
    return [f"export {name}={shlex.quote(value)}" for name, value in pairs]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.allow_remote and not (is_loopback(args.host) or args.host == "localhost"):
        print(f"refusing to bind {args.host}: not a loopback address (pass --allow-remote to insist)", file=sys.stderr)
        return 2
    try:
        faults = FaultConfig.parse(args.faults) if args.faults else None
        config = SandboxConfig(
            seed=args.seed,
            size=args.size,
            time_scale=args.time_scale,
            faults=faults,
            clock=args.today,
            public_url=args.public_url,
        )
    except ValueError as exc:
        print(f"invalid option: {exc}", file=sys.stderr)
        return 2
    sandbox = Sandbox(config)
    host = f"[{args.host}]" if ":" in args.host else args.host
    if args.print_env:
        scheme = "https" if args.tls else "http"
        print("\n".join(env_lines(f"{scheme}://{host}:{args.port}", sandbox.accounts)))
        return 0
    if args.print_accounts_toml:
        print(accounts_toml(sandbox.accounts), end="")
        return 0
    tls = SelfSigned.generate() if args.tls else None
    if tls is not None:
        print(f"sandbox: TLS certificate to trust: {tls.cert_file}", file=sys.stderr)
    server = make_server(sandbox, args.host, args.port, quiet=args.quiet, tls=tls)
    print(f"Klaviyo sandbox serving on {base_url(server)}", flush=True)
    # Ctrl-C stops it even when started where SIGINT is ignored (a `&` job of a script, nohup), which
    # Python would otherwise leave ignored; SIGTERM (kill, a service manager) stops it the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("sandbox: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
