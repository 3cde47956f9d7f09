#!/usr/bin/env bash
# Bounded fuzzing of the GraphQL schema (issue 9): the real `api` binary on loopback with a fresh
# SQLite database and the 富民县 demo loaded, fuzzed as ADMIN and as GRASSROOTS by
# .ci/fuzz/fuzz.py (hypothesis-graphql; why not the schemathesis CLI: see its header).
# Fails on any HTTP 5xx, any error with extensions.code INTERNAL, any request not answered with
# GraphQL JSON in time, /health slower than 1 s or failing at any moment, RSS after the run above
# 2x its idle figure, or verifyAuditChain not ok. Every finding is printed with its query,
# variables and answer, and kept in target/fuzz-report/findings.json.
#
# Bounds (environment): FUZZ_EXAMPLES valid cases per operation and role (100),
# FUZZ_NEGATIVE_EXAMPLES invalid ones (25), FUZZ_MAX_SECONDS per role (240), FUZZ_SEED (9).
# About 13,000 requests; some 2 minutes on 2 cores after the build.
# FUZZ_PROFILE=release fuzzes a release build (default: the debug build the tests share);
# FUZZ_BIN=path uses a binary built beforehand; FUZZ_STRICT_CODES=1 also fails on errors whose
# extensions.code is missing or outside the contract (listed either way).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

EXAMPLES=${FUZZ_EXAMPLES:-100}
NEGATIVE=${FUZZ_NEGATIVE_EXAMPLES:-25}
MAX_SECONDS=${FUZZ_MAX_SECONDS:-240}
SEED=${FUZZ_SEED:-9}
PROFILE=${FUZZ_PROFILE:-debug}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=$TARGET_DIR/fuzz-venv
REPORT=$TARGET_DIR/fuzz-report

step() { printf -- '-- %s\n' "$*"; }
started=$SECONDS

# ---- Python tools, pinned, from PyPI
if ! "$VENV/bin/python" -c 'import sys; sys.exit(0)' 2>/dev/null; then
  step "creating $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
fi
step "pip install -r .ci/fuzz/requirements.txt"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r .ci/fuzz/requirements.txt
PY=$VENV/bin/python
# Hypothesis' own cache (unicode tables, constants) goes under target/, not into the work tree.
export HYPOTHESIS_STORAGE_DIRECTORY=$TARGET_DIR/fuzz-hypothesis

# ---- the server binary. In debug, built with the workspace's feature set including dev
# dependencies, as `cargo test --workspace` resolves it, so the dependencies the tests compiled
# are reused and only the binaries are built (`-p api` alone would unify features differently
# and compile many crates a second time).
if [ -n "${FUZZ_BIN:-}" ]; then
  BIN=$FUZZ_BIN # a binary built beforehand (local iterations)
elif [ "$PROFILE" = release ]; then
  cargo build --release -p api
  BIN=$TARGET_DIR/release/api
else
  cargo build --workspace --bins --tests
  BIN=$TARGET_DIR/debug/api
fi
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }

# ---- a fresh data dir, secrets and a free loopback port
WORK=$(mktemp -d "${TMPDIR:-/tmp}/songnuan-fuzz.XXXXXX")
SERVER_PID=
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -f "$WORK/server.log" ]; then
    mkdir -p "$REPORT"
    cp "$WORK/server.log" "$REPORT/server.log" || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADMIN_PASSWORD=$("$PY" -c 'import secrets; print(secrets.token_hex(12))')
unset DATABASE_URL REDIS_URL SONGNUAN_ANNUAL_CAP SONGNUAN_TRUST_FORWARDED_FOR
export SONGNUAN_DATA_DIR=$WORK/data
export SONGNUAN_SECRET=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
export SONGNUAN_ADMIN_PASSWORD=$ADMIN_PASSWORD
export SONGNUAN_LISTEN=127.0.0.1:$PORT
export RUST_LOG=${FUZZ_RUST_LOG:-warn}
mkdir -p "$SONGNUAN_DATA_DIR"

step "loading the demo (api demo) into $SONGNUAN_DATA_DIR"
"$BIN" demo >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log" >&2; exit 1; }
tail -n 1 "$WORK/demo.log"

step "starting $BIN on 127.0.0.1:$PORT"
"$BIN" >"$WORK/server.log" 2>&1 </dev/null &
SERVER_PID=$!
for _ in $(seq 1 100); do
  if curl -fsS -m 1 "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "server exited" >&2; exit 1; }
  sleep 0.2
done
curl -fsS -m 1 "http://127.0.0.1:$PORT/health" >/dev/null || { echo "server did not answer /health" >&2; exit 1; }

# ---- fuzz (the driver has its own bounds; timeout is the last resort)
rc=0
timeout --signal=TERM --kill-after=10 $(( 2 * MAX_SECONDS + 300 )) \
  "$PY" .ci/fuzz/fuzz.py --port "$PORT" --pid "$SERVER_PID" --admin-password "$ADMIN_PASSWORD" \
  --examples "$EXAMPLES" --negative-examples "$NEGATIVE" --max-seconds "$MAX_SECONDS" --seed "$SEED" \
  --report "$REPORT" --verbose ${FUZZ_STRICT_CODES:+--strict-codes} </dev/null || rc=$?

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "FAIL  the server is no longer running; its log ends with:" >&2
  tail -n 40 "$WORK/server.log" >&2
  rc=1
fi
if grep -qE '(ERROR|panicked)' "$WORK/server.log"; then
  echo "-- server log: lines with ERROR or panicked (first 40 of $(grep -cE '(ERROR|panicked)' "$WORK/server.log"))"
  grep -E '(ERROR|panicked)' "$WORK/server.log" | head -n 40 | cut -c1-600
fi
step "fuzz step took $(( SECONDS - started )) s (build included); report in $REPORT"
exit "$rc"
