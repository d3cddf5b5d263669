#!/usr/bin/env bash
# Builds the project's virtualenv from the hash-locked requirements, independent of the interpreter's
# bundled pip: a pinned, hash-checked pip (requirements-bootstrap.txt) is installed first and the lock
# is installed with it. The stamp is written only after a complete install, and a venv without one
# (a failed or interrupted install) is rebuilt from scratch, never reused.
#
#   scripts/bootstrap-venv.sh [VENV_DIR] [LOCK_FILE]      (PY picks the interpreter; default python3.11)
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${1:-.venv}
lock=${2:-requirements.txt}
py=${PY:-$(command -v python3.11 || command -v python3 || true)}
stamp="$venv/.installed"

fail() {
  {
    echo ""
    echo "bootstrap failed: $1"
    echo "  The half-built $venv was removed, so the next run starts clean."
    echo "  What to check: Python >= 3.11 with its venv module (Debian: apt-get install python3-venv),"
    echo "  access to the package index (or a configured mirror: PIP_INDEX_URL), and free disk."
    echo "  Then run the same make command again."
  } >&2
  rm -rf "$venv"
  exit 1
}

[ -n "$py" ] || fail "no python3.11 or python3 on PATH; install Python 3.11 or newer, or set PY=/path/to/python"
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || fail "$py is older than Python 3.11; set PY=/path/to/python3.11"

if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv" || fail "'$py -m venv $venv' did not create a virtualenv"
fi
# From here on the venv counts as half-built until the stamp is written again.
rm -f "$stamp"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
"${pip[@]}" install --quiet --require-hashes --no-deps -r requirements-bootstrap.txt \
  || fail "the pinned installer (requirements-bootstrap.txt) did not install"
# The lock is complete (pip-compile wrote every dependency, hashed), so the resolver has nothing to add
# (--no-deps; the bootstrap test's `pip check` guards that). Bytecode is compiled here, at install: where
# PYTHONDONTWRITEBYTECODE is set, imports never write it, and every process would compile from source.
"${pip[@]}" install --quiet --require-hashes --no-deps -r "$lock" \
  || fail "the locked requirements ($lock) did not install"
# The checkout on the venv's import path (klaviyo_analytics/paths.py CHECKOUT_PTH), so the approval
# command a proposal prints, `<venv>/bin/python -m klaviyo_analytics …`, runs from any directory.
site_packages=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
pwd -P >"$site_packages/klaviyo-mcp.pth" || fail "could not register the checkout in $site_packages"
date -u +%Y-%m-%dT%H:%M:%SZ >"$stamp"
