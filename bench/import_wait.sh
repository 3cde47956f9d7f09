#!/usr/bin/env bash
# A writer's wait during an import (issue 13): the release `api` on PostgreSQL (or SQLite with
# BACKEND=sqlite), a fresh API process per upload so its peak RSS (VmHWM) is the upload's, and
# ADMIN createOrganization back to back while
#  1. a 100k-row xlsx is imported (gen_import),
#  2. an xlsx of 15 million shared strings is uploaded (gen_shared_strings; refused),
#  3. the same claiming 3 strings in uniqueCount (refused by the count, not the claim).
# `import_wait` prints the import's time and answer, the writes' p50/p99/max and the peak RSS.
#
#   bash bench/import_wait.sh
#   BACKEND=sqlite bash bench/import_wait.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BACKEND=${BACKEND:-postgres}
PORT=${PORT:-18095}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=songnuan_bench_import
BIN=${BIN:-./target/release}
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p api -p songnuan-bench

export SONGNUAN_SECRET=bench-secret-bench-secret-bench-secret-0001
export SONGNUAN_ADMIN_PASSWORD=bench-admin-pass
export SONGNUAN_DATA_DIR=$(mktemp -d)
export SONGNUAN_LISTEN=127.0.0.1:$PORT
export SONGNUAN_ANSWER_CACHE_MB=0
export RUST_LOG=warn
if [ "$BACKEND" = sqlite ]; then
  export DATABASE_URL="sqlite://$SONGNUAN_DATA_DIR/bench.db?mode=rwc"
else
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  psql "$PG/postgres" -qc "CREATE DATABASE $DB"
  export DATABASE_URL="$PG/$DB?sslmode=disable"
fi
URL="http://127.0.0.1:$PORT/graphql"

API_PID=
start_api() {
  if [ -n "$API_PID" ]; then kill "$API_PID"; wait "$API_PID" 2>/dev/null || true; fi
  "$BIN/api" >> /tmp/songnuan-bench-import-wait.log 2>&1 &
  API_PID=$!
  for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
}
trap 'kill $API_PID 2>/dev/null || true; wait $API_PID 2>/dev/null || true; rm -rf "$SONGNUAN_DATA_DIR"' EXIT
start_api

TOKEN=$(curl -fs "$URL" -H 'content-type: application/json' \
  -d '{"query":"mutation{login(username:\"admin\",password:\"bench-admin-pass\"){token}}"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
ORG=$(curl -fs "$URL" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \
  -d '{"query":"{me{organization{name}}}"}' | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
FILES=$(mktemp -d)
"$BIN/gen_import" --rows 100000 --org "$ORG" "$FILES/100k.xlsx" >/dev/null
"$BIN/gen_shared_strings" --org "$ORG" "$FILES/15m.xlsx" >/dev/null
"$BIN/gen_shared_strings" --org "$ORG" --claim 3 "$FILES/15m-liar.xlsx" >/dev/null

echo "$BACKEND, release build, $(nproc) cores"
for f in 100k 15m 15m-liar; do
  start_api
  "$BIN/import_wait" --url "$URL" --password bench-admin-pass --file "$FILES/$f.xlsx" --pid "$API_PID" --label "$f"
done
rm -rf "$FILES"
