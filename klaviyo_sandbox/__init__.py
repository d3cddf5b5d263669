"""Klaviyo sandbox: a local, spec-faithful emulator of the Klaviyo API (revision 2026-07-15).

    from klaviyo_sandbox import Sandbox, SandboxConfig, FaultConfig, serve

    sb = Sandbox(SandboxConfig(seed=7, size="small", time_scale=1.0, faults=None, anchor=None))
    client = httpx.Client(transport=sb.transport, base_url="https://a.klaviyo.com")
    with serve(sb, host="127.0.0.1", port=0) as base_url: ...   # a real socket on loopback

``sb.accounts`` lists the seeded accounts (``acme``, ``globex``) with their demo keys;
``add_key`` adds a key with restricted scopes; ``set_faults`` injects failures; ``log()``,
``state()`` and ``reset()`` inspect and rewind. Requests and responses follow the OpenAPI spec
as extracted into spec_extract.json (see scripts/extract_spec.py). ``python -m
klaviyo_sandbox --help`` serves it from the command line.
"""

from klaviyo_sandbox.app import Sandbox
from klaviyo_sandbox.config import DemoAccount, SandboxConfig, accounts_toml
from klaviyo_sandbox.faults import FaultConfig
from klaviyo_sandbox.server import serve

__all__ = ["DemoAccount", "FaultConfig", "Sandbox", "SandboxConfig", "accounts_toml", "serve"]
