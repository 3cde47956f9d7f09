#!/usr/bin/env bash
# The worker killed with SIGKILL at random points of a 1000-notice run, three times: after the
# last restart every notice must be delivered, none twice (0 duplicate out-ids at the provider).
#
# Real processes: the `api` (REDIS_URL set: it only queues), the `worker` (relay + apalis
# consumers), a fresh PostgreSQL database, a Redis of its own on a spare port (nothing on disk),
# and the fake SMS provider (`fake-sms`), which prints every send request it records. The 1000
# notices come from 1000 paid disbursements made through the API by `bench`'s `mark_paid`.
#
#   bash .ci/kill-worker.sh            # N=1000
#   N=300 bash .ci/kill-worker.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
PG=${KILL_PG:-postgres://postgres@127.0.0.1:5432}
BIN=${BIN:-target/debug}

cargo build -q -p api -p worker -p songnuan-tests -p songnuan-bench --bin api --bin worker --bin fake-sms --bin mark_paid

spare_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
REDIS_PORT=$(spare_port)
API_PORT=$(spare_port)
SMS_PORT=$(spare_port)
DB=sn_kill_$(date +%s)_$RANDOM
WORK=$(mktemp -d)
PIDS=()
WORKER_PID=

cleanup() {
  [ -n "$WORKER_PID" ] && kill -9 "$WORKER_PID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
"$BIN/fake-sms" "127.0.0.1:$SMS_PORT" >"$WORK/sms.log" 2>&1 &
PIDS+=($!)
psql "$PG/postgres" -qc "CREATE DATABASE $DB"

export DATABASE_URL="$PG/$DB?sslmode=disable"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export SONGNUAN_SECRET=kill-worker-secret-kill-worker-secret-0001
export SONGNUAN_ADMIN_PASSWORD=kill-worker-admin-pass
export SONGNUAN_LISTEN="127.0.0.1:$API_PORT"
export SONGNUAN_DATA_DIR="$WORK/data"
export SONGNUAN_REMINDER_AT=off
export SONGNUAN_SMS_PROVIDER=http SONGNUAN_SMS_URL="http://127.0.0.1:$SMS_PORT"
export SONGNUAN_SMS_KEY=fake-access-key SONGNUAN_SMS_SIGN=送暖 SONGNUAN_SMS_TEMPLATE=SMS_0001
# A killed worker's jobs come back after their lease (and its fetched tasks after 3 missed
# heartbeats); short here so the run stays short.
export SONGNUAN_JOB_LEASE_SECS=4 SONGNUAN_WORKER_HEARTBEAT_SECS=1 SONGNUAN_HANDOVER_TIMEOUT_SECS=5
export SONGNUAN_JOB_BACKOFF_MS=200
export RUST_LOG=warn

for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN/api" >"$WORK/api.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$API_PORT/health" >/dev/null && break; sleep 0.2; done

start_worker() {
  "$BIN/worker" >>"$WORK/worker.log" 2>&1 &
  WORKER_PID=$!
}
sql() { psql "$PG/$DB" -Atc "$1"; }
done_count() { sql "SELECT count(*) FROM jobs WHERE kind = 'NOTICE' AND status = 'DONE'"; }

start_worker
"$BIN/mark_paid" --url "http://127.0.0.1:$API_PORT/graphql" --n "$N" --concurrency 8 \
  >"$WORK/mark_paid.log" 2>&1 &
MARK_PID=$!
PIDS+=($MARK_PID)

# Three kills, each once the run has passed a random number of delivered notices, plus a
# random few milliseconds: mid-request, mid-claim, mid-write, wherever it falls.
t1=$((N / 20 + RANDOM % (N / 4)))
t2=$((t1 + N / 10 + RANDOM % (N / 5)))
t3=$((t2 + N / 10 + RANDOM % (N / 5)))
deadline=$((SECONDS + 150))
for t in $t1 $t2 $t3; do
  while [ "$(done_count)" -lt "$t" ]; do
    [ $SECONDS -lt $deadline ] || { echo "no progress towards $t delivered notices" >&2; tail -20 "$WORK/worker.log" >&2; exit 1; }
    sleep 0.05
  done
  sleep "0.$((RANDOM % 300))"
  kill -9 "$WORKER_PID"
  wait "$WORKER_PID" 2>/dev/null || true
  echo "worker killed (SIGKILL) at $(done_count) delivered; restarted"
  start_worker
done

wait "$MARK_PID" || { echo "mark_paid failed" >&2; cat "$WORK/mark_paid.log" >&2; exit 1; }
while [ "$(done_count)" -lt "$N" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done

sleep 1 # the fake prints what it recorded every 0.5 s
delivered=$(done_count)
sent=$(sql "SELECT count(*) FROM notices WHERE status IN ('SENT', 'DELIVERED')")
requests=$(grep -c '^sn-notice-' "$WORK/sms.log" || true)
unique=$(grep '^sn-notice-' "$WORK/sms.log" | awk '{print $1}' | sort -u | wc -l)
duplicates=$((requests - unique))
echo "notices: $N queued, $delivered jobs done, $sent notices sent, $unique out-ids at the provider, $duplicates duplicates"
if [ "$delivered" -ne "$N" ] || [ "$sent" -ne "$N" ] || [ "$unique" -ne "$N" ] || [ "$duplicates" -ne 0 ]; then
  echo "FAILED" >&2
  tail -30 "$WORK/worker.log" >&2
  exit 1
fi
echo "kill-worker: OK"
