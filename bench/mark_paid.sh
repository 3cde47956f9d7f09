#!/usr/bin/env bash
# What the transactional outbox costs `markPaid`: the same client (`mark_paid`, contract only)
# against the release build of the last commit before the outbox (8a4b046) and the current one,
# each on a fresh PostgreSQL database, alternating, ROUNDS times. The current build runs twice:
# with the embedded job runner off (the outbox write alone: notice + job rows in the payment's
# transaction) and on (the runner sending the notices beside the payments, log SMS provider).
#
#   bash bench/mark_paid.sh                  # N=2000 disbursements, 8 clients, 2 rounds
#   N=5000 CONCURRENCY=1 bash bench/mark_paid.sh
#
# The old build lives in its own worktree and target dir under /tmp (never this target/).
set -euo pipefail
cd "$(dirname "$0")/.."

BEFORE=${BEFORE:-8a4b046}
N=${N:-2000}
CONCURRENCY=${CONCURRENCY:-8}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-18095}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
OLD_TREE=${OLD_TREE:-/tmp/songnuan-before-outbox}
OLD_TARGET=${OLD_TARGET:-/tmp/songnuan-before-outbox-target}

# NO_BUILD=1 with API_BIN / CLIENT_BIN: measure binaries built earlier (e.g. copied aside).
[ "${NO_BUILD:-}" = 1 ] || cargo build --release -q -p api -p songnuan-bench
API_BIN=${API_BIN:-./target/release/api}
CLIENT_BIN=${CLIENT_BIN:-./target/release/mark_paid}
if [ ! -x "$OLD_TARGET/release/api" ]; then
  [ -d "$OLD_TREE" ] || git worktree add -f "$OLD_TREE" "$BEFORE" >/dev/null
  (cd "$OLD_TREE" && CARGO_TARGET_DIR=$OLD_TARGET cargo build --release -q -p api)
fi

export SONGNUAN_SECRET=bench-secret-bench-secret-bench-secret-0001
export SONGNUAN_ADMIN_PASSWORD=bench-admin-pass
export SONGNUAN_LISTEN=127.0.0.1:$PORT
export SONGNUAN_DB_MAX_CONNECTIONS=12
export SONGNUAN_ANSWER_CACHE_MB=0
export RUST_LOG=warn

API_PID=
trap 'kill $API_PID 2>/dev/null || true' EXIT
measure() { # $1 label, $2 binary, then extra VAR=value settings
  local label=$1 bin=$2; shift 2
  local db=songnuan_bench_markpaid
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  psql "$PG/postgres" -qc "CREATE DATABASE $db"
  env DATABASE_URL="$PG/$db?sslmode=disable" SONGNUAN_DATA_DIR="$(mktemp -d)" "$@" "$bin" \
    >> /tmp/songnuan-bench-markpaid.log 2>&1 &
  API_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
  printf '%-34s ' "$label"
  "$CLIENT_BIN" --url "http://127.0.0.1:$PORT/graphql" --n "$N" --concurrency "$CONCURRENCY" 2>/dev/null
  kill "$API_PID"; wait "$API_PID" 2>/dev/null || true
}

for r in $(seq 1 "$ROUNDS"); do
  echo "-- round $r"
  measure "before the outbox ($BEFORE)" "$OLD_TARGET/release/api"
  measure "outbox, runner off" "$API_BIN" SONGNUAN_JOB_RUNNER=off
  measure "outbox, embedded runner on" "$API_BIN"
done
