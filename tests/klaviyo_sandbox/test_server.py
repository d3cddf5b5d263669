"""The sandbox over real sockets on loopback, its control routes, and the command line."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from klaviyo_sandbox import FaultConfig, Sandbox, SandboxConfig, serve
from klaviyo_sandbox.__main__ import accounts_toml, env_lines, main
from klaviyo_sandbox.adapters import is_loopback, make_wsgi_app
from klaviyo_sandbox.tls import SelfSigned

from .conftest import ACME_KEY, ANCHOR, REPO, REVISION

HEADERS = {"Authorization": f"Klaviyo-API-Key {ACME_KEY}", "revision": REVISION}


def test_served_on_loopback_through_a_real_client(sandbox: Sandbox) -> None:
    with serve(sandbox, host="127.0.0.1", port=0) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, headers=HEADERS) as client:
            response = client.get("/api/lists", params={"page[size]": "2"})
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/vnd.api+json"
            assert response.json()["links"]["next"].startswith(f"{base_url}/api/lists?")
            created = client.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Socket"}}})
            assert created.status_code == 201
            assert client.get("/api/nope").status_code == 404
            log = client.get("/__sandbox/log").json()["entries"]
            assert [e["status"] for e in log] == [200, 201, 404]
            state = client.get("/__sandbox/state").json()
            assert state["accounts"]["acme"]["lists"][0]["name"] == "Socket"
            assert client.post("/__sandbox/reset").json() == {"reset": True}
            assert client.get("/__sandbox/state").json()["accounts"]["acme"]["lists"] == []
            assert client.get("/__sandbox/nothing").status_code == 404


def test_concurrent_clients_are_all_answered(fast_sandbox: Sandbox) -> None:
    def create(i: int) -> int:
        with httpx.Client(base_url=base_url, headers=HEADERS) as client:
            body = {"data": {"type": "list", "attributes": {"name": f"Parallel {i}"}}}
            return client.post("/api/lists", json=body).status_code

    with serve(fast_sandbox) as base_url, ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(create, range(96)))
    assert statuses == [201] * 96
    assert len(fast_sandbox.state()["accounts"]["acme"]["lists"]) == 96


def test_dropped_connection_over_the_socket(sandbox: Sandbox) -> None:
    sandbox.set_faults(FaultConfig(drop=1.0))
    with serve(sandbox) as base_url, httpx.Client(base_url=base_url, headers=HEADERS) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.get("/api/lists")
        sandbox.set_faults(None)
        assert client.get("/api/lists").status_code == 200


def test_foreign_wsgi_servers_get_a_broken_body_on_drop(sandbox: Sandbox) -> None:
    sandbox.set_faults(FaultConfig(drop=1.0))
    app = make_wsgi_app(sandbox.handle)
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/lists", "QUERY_STRING": "", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": None, "REMOTE_ADDR": "127.0.0.1",
               "HTTP_AUTHORIZATION": HEADERS["Authorization"], "HTTP_REVISION": REVISION}  # fmt: skip
    body = b"".join(app(environ, lambda status, headers: seen.append((status, headers))))
    declared = int(dict(seen[0][1])["Content-Length"])
    assert declared > len(body)


def test_control_routes_refuse_remote_callers(sandbox: Sandbox) -> None:
    app = sandbox.wsgi_app
    statuses: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/__sandbox/log", "QUERY_STRING": "", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "REMOTE_ADDR": "203.0.113.9",
               "HTTP_HOST": "sandbox.example"}  # fmt: skip
    b"".join(app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["403 Forbidden"]
    assert not is_loopback("203.0.113.9") and is_loopback("::1") and not is_loopback("localhost")


def test_serve_refuses_a_public_host(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="non-loopback"), serve(sandbox, host="0.0.0.0"):  # noqa: S104 - the point
        pass


def test_env_and_accounts_toml(sandbox: Sandbox) -> None:
    lines = env_lines("http://127.0.0.1:8765", sandbox.accounts)
    assert lines == [
        "export KLAVIYO_BASE_URL=http://127.0.0.1:8765",
        "export KLAVIYO_ACME_KEY=pk_sandbox_acme_demo",
        "export KLAVIYO_GLOBEX_KEY=pk_sandbox_globex_demo",
    ]
    toml = accounts_toml(sandbox.accounts)
    assert '[acme]\napi_key_env = "KLAVIYO_ACME_KEY"\n' in toml
    assert f'conversion_metric_id = "{sandbox.accounts[0].conversion_metric_id}"' in toml
    assert "[globex]" in toml


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "klaviyo_sandbox", *args],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_cli_print_env_is_shell_sourceable(tmp_path: Path) -> None:
    result = _cli("--print-env", "--port", "9999")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "export KLAVIYO_BASE_URL=http://127.0.0.1:9999"
    script = tmp_path / "env.sh"
    script.write_text(result.stdout)
    # A child process sees the variables, not only the shell that evaluated them.
    shell = subprocess.run(
        ["sh", "-c", f'eval "$(cat {script})" && sh -c \'echo $KLAVIYO_ACME_KEY\''],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert shell.stdout.strip() == "pk_sandbox_acme_demo"


@pytest.mark.slow
def test_cli_refuses_public_hosts_without_allow_remote() -> None:
    result = _cli("--host", "0.0.0.0", "--print-env")  # noqa: S104 - the point
    assert result.returncode == 2
    assert "loopback" in result.stderr


def test_cli_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--print-accounts-toml", "--seed", "7"]) == 0
    assert "[acme]" in capsys.readouterr().out
    assert main(["--faults", "volcano=1", "--print-env"]) == 2
    assert main(["--host", "::1", "--port", "1", "--print-env"]) == 0
    assert capsys.readouterr().out.startswith("export KLAVIYO_BASE_URL='http://[::1]:1'")


def run_cli_until(stop: signal.Signals, *, ignoring: tuple[signal.Signals, ...] = ()) -> str:
    """The sandbox CLI started (with ``ignoring`` set to ignored, as a shell's ``&`` job inherits
    SIGINT), asked once over HTTP, then sent ``stop``; its stderr."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "klaviyo_sandbox", "--port", "0", "--anchor", "2026-03-01"]
    if ignoring:
        traps = " ".join(str(int(signum)) for signum in ignoring)
        command = ["bash", "-c", f'trap "" {traps}; exec "$@"', "bash", *command]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        base_url = line.strip().rsplit(" ", 1)[-1]
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base_url, headers=HEADERS) as client:
            assert client.get("/api/accounts").status_code == 200
        time.sleep(0.3)  # the request line is logged just after the answer is sent
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:  # never leave it running into the next test
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    return err


@pytest.mark.slow
def test_cli_serves_until_interrupted() -> None:
    err = run_cli_until(signal.SIGINT)
    assert "GET /api/accounts" in err and "sandbox: stopped" in err


@pytest.mark.slow
def test_cli_stops_on_ctrl_c_or_sigterm_even_when_started_with_sigint_ignored() -> None:
    assert "sandbox: stopped" in run_cli_until(signal.SIGINT, ignoring=(signal.SIGINT,))
    assert "sandbox: stopped" in run_cli_until(signal.SIGTERM)


def test_tls_on_loopback_serves_https_links_a_client_follows(tmp_path: Path) -> None:
    tls = SelfSigned.generate(tmp_path)
    sb = Sandbox(SandboxConfig(seed=7, anchor=ANCHOR, time_scale=1e-6))
    with serve(sb, tls=tls) as base:
        assert base.startswith("https://127.0.0.1:")
        with httpx.Client(verify=ssl.create_default_context(cafile=str(tls.cert_file)), headers=HEADERS) as c:
            first = c.get(f"{base}/api/tags", params={"page[size]": "2"}).json()
            assert first["links"]["next"].startswith(f"{base}/api/tags?")
            second = c.get(first["links"]["next"]).json()  # the whole link, as written
        assert {t["id"] for t in second["data"]}.isdisjoint({t["id"] for t in first["data"]})
        with pytest.raises(httpx.ConnectError):  # not trusted without the generated certificate
            httpx.get(f"{base}/api/tags", headers=HEADERS)
