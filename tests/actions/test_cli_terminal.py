"""The CLI approves only for a person at a terminal who types back the code it shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from klaviyo_analytics.actions import ProposalStatus
from tests.actions.action_env import Env, environment
from tests.terminal import run_on_tty, shown_code

REPO = Path(__file__).resolve().parents[2]


def shell(env: Env) -> dict[str, str]:
    return {**os.environ, **environment(env.sb, env.tmp), "USER": "carol", "PYTHONPATH": str(REPO)}


def approve_command(action_id: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "klaviyo_analytics", "actions", "approve", action_id, *extra]


def test_a_person_who_types_the_code_approves(env: Env) -> None:
    action_id = env.propose("create_list", name="Typed at a terminal")
    code, text = run_on_tty(approve_command(action_id, "--as", "alice", "--reason", "ok"), shell(env), shown_code)
    assert code == 0, text
    assert f"{action_id} approved by alice" in text
    decision = env.ledger.get_history(action_id).decision
    assert decision is not None and (decision.approver, decision.reason) == ("alice", "ok")
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.APPROVED


def test_the_default_approver_is_the_login_name(env: Env) -> None:
    action_id = env.propose("create_list", name="Approved from a shell")
    code, text = run_on_tty(approve_command(action_id), shell(env), shown_code)
    assert code == 0, text
    assert env.ledger.get_history(action_id).decision.approver == "cli:carol"  # type: ignore[union-attr]


def test_a_wrong_code_is_refused(env: Env) -> None:
    action_id = env.propose("create_list", name="Wrong code")
    code, text = run_on_tty(approve_command(action_id), shell(env), lambda shown: "ZZZZZ9")
    assert code == 1 and "FORBIDDEN: The code typed does not match" in text, text
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING
    assert env.ledger.get_history(action_id).decision is None


def test_without_a_terminal_approve_is_refused(env: Env) -> None:
    action_id = env.propose("create_list", name="No terminal")
    # a model's shell tool: pipes, no TTY; even the right code on stdin cannot help
    done = subprocess.run(
        approve_command(action_id), input="ABCDEF\n", env=shell(env), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("FORBIDDEN: Approving needs a person at an interactive terminal")
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.PENDING


def test_reject_needs_no_terminal(env: Env) -> None:
    action_id = env.propose("create_list", name="Rejected from a pipe")
    done = subprocess.run(
        [sys.executable, "-m", "klaviyo_analytics", "actions", "reject", action_id, "--reason", "no"],
        env=shell(env), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert env.ledger.get_proposal(action_id).status is ProposalStatus.REJECTED
