#!/usr/bin/env bash
# Notices per second through Redis: the release `worker` (relay + apalis consumers) sending
# N queued notices to the fake SMS provider on loopback, on PostgreSQL.
#
# Set-up (not timed): a fresh database, a Redis of its own on a spare port, the fake provider,
# the API with REDIS_URL (it only queues), and N paid disbursements made through the API by
# `mark_paid` — N NOTICE jobs waiting in the outbox. Timed: from the worker's start until the
# last job is DONE (relay hand-over, Redis, claim, the provider's HTTP round trip, the notice
# and job rows written), polled every 0.1 s.
#
#   bash bench/queue.sh                      # N=5000, one worker, 64 jobs at a time
#   N=10000 WORKERS=2 CONCURRENCY=32 bash bench/queue.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-5000}
WORKERS=${WORKERS:-1}
CONCURRENCY=${CONCURRENCY:-64}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}

# SKIP_BUILD=1 with BIN=<dir>: measure binaries built earlier (e.g. copied aside).
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p api -p worker -p songnuan-tests -p songnuan-bench --bin api --bin worker --bin fake-sms --bin mark_paid
BIN=${BIN:-target/release}

spare_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(spare_port)
API_PORT=$(spare_port)
SMS_PORT=$(spare_port)
DB=songnuan_bench_queue
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
PIDS+=($!)
"$BIN/fake-sms" "127.0.0.1:$SMS_PORT" >/dev/null 2>&1 &
PIDS+=($!)
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql "$PG/postgres" -qc "CREATE DATABASE $DB"

export DATABASE_URL="$PG/$DB?sslmode=disable"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export SONGNUAN_SECRET=bench-secret-bench-secret-bench-secret-0001
export SONGNUAN_ADMIN_PASSWORD=bench-admin-pass
export SONGNUAN_LISTEN="127.0.0.1:$API_PORT"
export SONGNUAN_DATA_DIR="$WORK/data"
export SONGNUAN_REMINDER_AT=off
export SONGNUAN_SMS_PROVIDER=http SONGNUAN_SMS_URL="http://127.0.0.1:$SMS_PORT"
export SONGNUAN_SMS_KEY=fake-access-key SONGNUAN_SMS_SIGN=送暖 SONGNUAN_SMS_TEMPLATE=SMS_0001
export SONGNUAN_SMS_PER_NUMBER_DAILY=1000
export SONGNUAN_WORKER_CONCURRENCY=$CONCURRENCY
# Jobs run in batches (a few statements per batch), so the pool need not grow with CONCURRENCY.
export SONGNUAN_DB_MAX_CONNECTIONS=${DB_CONNECTIONS:-16}
export RUST_LOG=warn

for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN/api" >"$WORK/api.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$API_PORT/health" >/dev/null && break; sleep 0.2; done
"$BIN/mark_paid" --url "http://127.0.0.1:$API_PORT/graphql" --n "$N" --concurrency 8 >/dev/null 2>&1

sql() { psql "$PG/$DB" -Atc "$1"; }
queued=$(sql "SELECT count(*) FROM jobs WHERE kind = 'NOTICE' AND status = 'QUEUED'")
echo "queued notices: $queued (workers: $WORKERS, $CONCURRENCY jobs at a time each)"
start=$(date +%s.%N)
for _ in $(seq 1 "$WORKERS"); do
  "$BIN/worker" >>"$WORK/worker.log" 2>&1 &
  PIDS+=($!)
done
while [ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'NOTICE' AND status = 'DONE'")" -lt "$queued" ]; do
  sleep 0.1
  if [ "$(echo "$(date +%s.%N) - $start > 600" | bc)" = 1 ]; then echo "timed out" >&2; exit 1; fi
done
end=$(date +%s.%N)
sent=$(sql "SELECT count(*) FROM notices WHERE status = 'SENT'")
secs=$(echo "$end - $start" | bc -l)
printf 'sent %s notices in %.2f s: %.0f notices/s\n' "$sent" "$secs" "$(echo "$sent / $secs" | bc -l)"
