#!/usr/bin/env bash
# Load benchmark: the release `api` binary on PostgreSQL, driven by wrk (a real HTTP load
# generator) over loopback. Prints req/s, p50 and p99 for `login` and for
# `campaign(id){categories{…}}` at 50 concurrent connections.
#
#   bash bench/load.sh                 # 20 s per scenario
#   DURATION=60s bash bench/load.sh
#   SONGNUAN_ANSWER_CACHE_MB=0 bash bench/load.sh   # without kept answers: the read itself
#
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres, trust), wrk (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-50}
PORT=${PORT:-18080}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=songnuan_bench

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -q -p api

psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql "$PG/postgres" -qc "CREATE DATABASE $DB"
# Loopback: no TLS between the API and PostgreSQL (sqlx would otherwise negotiate it).
export DATABASE_URL="$PG/$DB?sslmode=disable"
export SONGNUAN_SECRET=bench-secret-bench-secret-bench-secret-0001
export SONGNUAN_ADMIN_PASSWORD=bench-admin-pass
export SONGNUAN_DATA_DIR=$(mktemp -d)
export SONGNUAN_LISTEN=127.0.0.1:$PORT
# The benchmark hammers one user from one address: lift the throttle out of the way.
export SONGNUAN_LOGIN_MAX_FAILURES=1000 SONGNUAN_LOGIN_MAX_FAILURES_PER_ADDRESS=100000
export SONGNUAN_DB_MAX_CONNECTIONS=${SONGNUAN_DB_MAX_CONNECTIONS:-12}
export RUST_LOG=warn

./target/release/api demo >/dev/null
# A database in service has statistics and a visibility map; a freshly loaded one not yet.
psql "$PG/$DB" -qc "VACUUM ANALYZE"
./target/release/api > /tmp/songnuan-bench-api.log 2>&1 &
API_PID=$!
trap 'kill $API_PID 2>/dev/null || true; wait $API_PID 2>/dev/null || true; psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done

DEMO_PASSWORD=$(sed -n 's/^demo_password = "\(.*\)"/\1/p' demo/fumin-2025.toml)
TOKEN=$(curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
  -d "{\"query\":\"mutation{login(username:\\\"helpcentre\\\",password:\\\"$DEMO_PASSWORD\\\"){token}}\"}" \
  | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
CAMPAIGN=$(curl -fs "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
  -d '{"query":"{campaigns{id}}"}' | sed -n 's/.*"id":"\([0-9]*\)".*/\1/p')
[ -n "$TOKEN" ] && [ -n "$CAMPAIGN" ] || { echo "could not log in / find the demo campaign" >&2; exit 1; }

summary() { # name, wrk output
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$2")
  p50=$(awk '$1=="50%" {print $2}' <<<"$2")
  p99=$(awk '$1=="99%" {print $2}' <<<"$2")
  printf '%-34s %10s req/s   p50 %-9s p99 %-9s\n' "$1" "$rps" "$p50" "$p99"
}

echo "machine: $(nproc) cores; $CONNECTIONS connections; $DURATION per scenario; PostgreSQL; release build; kept answers: ${SONGNUAN_ANSWER_CACHE_MB:-64} MB"
OUT_LOGIN=$([ -n "${SKIP_LOGIN:-}" ] || BENCH_PASSWORD=$DEMO_PASSWORD wrk -t${WRK_THREADS:-1} -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/login.lua "http://127.0.0.1:$PORT/graphql")
sleep 3
OUT_READ=$(BENCH_TOKEN=$TOKEN BENCH_CAMPAIGN=$CAMPAIGN wrk -t${WRK_THREADS:-1} -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/campaign.lua "http://127.0.0.1:$PORT/graphql")
echo "$OUT_LOGIN" | grep -E "Non-2xx|Socket errors" || true
echo "$OUT_READ" | grep -E "Non-2xx|Socket errors" || true
[ -n "${SKIP_LOGIN:-}" ] || summary "login (Argon2id)" "$OUT_LOGIN"
# Argon2 work queued by the login run is finished before the read run starts.

summary "campaign(id){categories{...}}" "$OUT_READ"
