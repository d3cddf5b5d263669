#!/usr/bin/env bash
# Installs the servers the test suite runs for real, from Debian's packages: redis-server (the shared
# quota store), postgresql (the server ledger), chromium (the approval console's browser tests) and
# faketime (the suite under a moved clock).
# The tests start their own instances on loopback, with throwaway data directories; nothing here is
# left running. Safe to run again: packages already present are skipped.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# libfaketime: a test runs the product and the sandbox under a moved process clock (tests/product/test_faked_clock.py).
command -v faketime >/dev/null 2>&1 || need+=(faketime)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "missing test servers: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start system services where an init system runs; the tests use their own instances.
for svc in redis-server postgresql; do
  service "$svc" stop >/dev/null 2>&1 || true
done
