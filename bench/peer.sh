#!/usr/bin/env bash
# The read path against a peer (issue 13): PostGraphile 5 served on the same PostgreSQL
# database as the release `api`, and the same recipient page asked of both — 50 rows with
# category, nominating organisation and disbursements, and totalCount — in alternating wrk runs
# at 50 connections, kept answers off (SONGNUAN_ANSWER_CACHE_MB=0), on the smallest and the
# largest campaign of the province data set. Prints req/s, p50 and p99 of each run and the
# ratio of the medians.
#
#   bash bench/peer.sh                         # DURATION=20s ROUNDS=3
#   DB=songnuan_bench_scale bash bench/peer.sh # reuse the data set scale.sh made (the default)
#
# The data set: DB (default songnuan_bench_scale, what bench/scale.sh fills) is used as it is
# when it holds recipients; otherwise it is created and filled by gen_province (RECIPIENTS,
# default 1,000,000). PostGraphile and Node 22 (the npm `node` package; PostGraphile 5 needs
# Node ≥ 22) are installed from the npm registry into a temporary directory that is removed at
# the end; nothing of the peer stays in the repository but this script.
#
# PostGraphile runs with its "amber" preset and no authentication (it reads as the database
# owner), one Node process; our API authenticates every request (one statement) and uses both
# cores. Both read the database over loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-50}
PORT=${PORT:-18091}
PEER_PORT=${PEER_PORT:-18092}
RECIPIENTS=${RECIPIENTS:-1000000}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-songnuan_bench_scale}
URL="http://127.0.0.1:$PORT/graphql"
PEER_URL="http://127.0.0.1:$PEER_PORT/graphql"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
# SKIP_BUILD=1 with BIN=<dir>: measure binaries built earlier (e.g. copied aside).
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p api -p songnuan-bench
BIN=${BIN:-./target/release}

export DATABASE_URL="$PG/$DB?sslmode=disable"
export SONGNUAN_SECRET=bench-secret-bench-secret-bench-secret-0001
export SONGNUAN_ADMIN_PASSWORD=bench-admin-pass
export SONGNUAN_DATA_DIR=$(mktemp -d)
export SONGNUAN_LISTEN=127.0.0.1:$PORT
export SONGNUAN_DB_MAX_CONNECTIONS=${SONGNUAN_DB_MAX_CONNECTIONS:-12}
export SONGNUAN_ANSWER_CACHE_MB=0
export RUST_LOG=warn

have=$(psql "$PG/$DB" -Atc "SELECT COUNT(*) FROM recipients" 2>/dev/null || echo 0)
if [ "${have:-0}" -eq 0 ]; then
  echo "no data set in $DB: generating $RECIPIENTS recipients"
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
  psql "$PG/postgres" -qc "CREATE DATABASE $DB"
  "$BIN/gen_province" --recipients "$RECIPIENTS" | tail -2
  psql "$PG/$DB" -qc "VACUUM ANALYZE"
else
  echo "data set: $DB, $have recipients (reused)"
fi

PEER_DIR=$(mktemp -d)
API_PID= PEER_PID=
cleanup() {
  for p in $API_PID $PEER_PID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$PEER_DIR"
}
trap cleanup EXIT

# The peer: PostGraphile 5 and Node 22 from the npm registry, in the temporary directory.
( cd "$PEER_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error node@22 postgraphile@5 >/dev/null )
NODE="$PEER_DIR/node_modules/node/bin/node"
echo "peer: PostGraphile $("$NODE" -p "require('$PEER_DIR/node_modules/postgraphile/package.json').version") on Node $("$NODE" --version)"
( cd "$PEER_DIR" && GRAPHILE_ENV=production NODE_ENV=production "$NODE" node_modules/postgraphile/dist/cli-run.js \
    -P postgraphile/presets/amber -c "$PG/$DB" -s public -n 127.0.0.1 -p "$PEER_PORT" \
    > "$PEER_DIR/peer.log" 2>&1 ) &
PEER_PID=$!

"$BIN/api" >> /tmp/songnuan-bench-peer.log 2>&1 &
API_PID=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/health" >/dev/null \
    && curl -fs "$PEER_URL" -H 'content-type: application/json' -d '{"query":"{__typename}"}' >/dev/null && break
  sleep 0.3
done

gql() { curl -fs "$URL" -H 'content-type: application/json' ${TOKEN:+-H "authorization: Bearer $TOKEN"} -d "$1"; }
TOKEN=$(gql '{"query":"mutation{login(username:\"admin\",password:\"bench-admin-pass\"){token}}"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$TOKEN" ] || { echo "could not log in to the API" >&2; exit 1; }

# The smallest campaign with a full page, and the largest.
read -r SMALL SMALL_N <<<"$(psql "$PG/$DB" -AtF' ' -c "SELECT campaign_id, COUNT(*) FROM recipients GROUP BY campaign_id HAVING COUNT(*) >= 50 ORDER BY COUNT(*), campaign_id LIMIT 1")"
read -r LARGE LARGE_N <<<"$(psql "$PG/$DB" -AtF' ' -c "SELECT campaign_id, COUNT(*) FROM recipients GROUP BY campaign_id ORDER BY COUNT(*) DESC, campaign_id DESC LIMIT 1")"

# The same page in each dialect: ours (recipients connection) and PostGraphile's (allRecipients
# with a condition, in primary-key order; `rowId` is the column `id`).
ours_body() {
  printf '{"query":"query($c:ID!){recipients(campaignId:$c,first:50){totalCount edges{node{id name idNumberMasked status category{code name} nominatedBy{name} disbursements{id amount status}}}}}","variables":{"c":"%s"}}' "$1"
}
peer_body() {
  printf '{"query":"query($c:BigInt!){allRecipients(condition:{campaignId:$c},first:50,orderBy:PRIMARY_KEY_ASC){totalCount nodes{rowId name idNumberMask status categoryByCategoryId{code name} organizationByNominatedBy{name} disbursementsByRecipientId{nodes{rowId amountFen status}}}}}","variables":{"c":"%s"}}' "$1"
}
LUA="$PEER_DIR/page.lua"
cat > "$LUA" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_TOKEN") ~= "" then wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN") end
wrk.body = os.getenv("BENCH_BODY")
must_contain = os.getenv("BENCH_MUST")
dofile("bench/check.lua")
EOF

# Both answer the page, and with 50 rows, before anything is measured.
for c in "$SMALL" "$LARGE"; do
  n_ours=$(gql "$(ours_body "$c")" | grep -o '"idNumberMasked"' | wc -l)
  n_peer=$(curl -fs "$PEER_URL" -H 'content-type: application/json' -d "$(peer_body "$c")" | grep -o '"idNumberMask"' | wc -l)
  [ "$n_ours" -eq 50 ] && [ "$n_peer" -eq 50 ] || {
    echo "campaign $c: ours answered $n_ours rows, PostGraphile $n_peer" >&2
    curl -s "$PEER_URL" -H 'content-type: application/json' -d "$(peer_body "$c")" | head -c 600 >&2; echo >&2
    exit 1
  }
done

run() { # url, token, body, must-contain → "req/s p50 p99" (ms)
  local out
  # A 10 s timeout, so a server that takes seconds per page shows its latency instead of
  # wrk's 2 s timeouts (which leave no latency at all).
  out=$(BENCH_TOKEN="$2" BENCH_BODY="$3" BENCH_MUST="$4" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s --latency -s "$LUA" "$1" 2>&1)
  # The statements a server left running (PostgreSQL goes on counting after wrk hangs up) must
  # not slow the next run: wait until the database is idle again (at most 120 s).
  for _ in $(seq 1 240); do
    [ "$(psql "$PG/$DB" -Atc "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()")" -eq 0 ] && break
    sleep 0.5
  done
  local timeouts
  timeouts=$(awk '/Socket errors/ {for (i = 1; i <= NF; i++) if ($i == "timeout") print $(i - 1) + 0}' <<<"$out")
  [ -z "$timeouts" ] || [ "$timeouts" -eq 0 ] || echo "  ($timeouts requests over 10 s)" >&2
  ms() { awk -v k="$1" '$1==k {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000} printf "%.1f", v}' <<<"$out"; }
  local bad
  bad=$(awk '/Non-2xx|unexpected answer/ {n++} END {print n+0}' <<<"$out")
  [ "$bad" -eq 0 ] || echo "  (errors in this run: $(grep -m1 -E 'Non-2xx|unexpected answer' <<<"$out"))" >&2
  echo "$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out") $(ms 50%) $(ms 99%)"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, wrk on the same cores; $CONNECTIONS connections, $DURATION per run, $ROUNDS alternating rounds; kept answers off"
printf '%-28s %-12s %10s %10s %10s\n' campaign server req/s "p50 ms" "p99 ms"
for pair in "smallest:$SMALL:$SMALL_N" "largest:$LARGE:$LARGE_N"; do
  IFS=: read -r label c n <<<"$pair"
  ours=() peer=()
  for r in $(seq 1 "$ROUNDS"); do
    o=$(run "$URL" "$TOKEN" "$(ours_body "$c")" '"idNumberMasked"')
    p=$(run "$PEER_URL" "" "$(peer_body "$c")" '"idNumberMask"')
    ours+=("$o") peer+=("$p")
    printf '%-28s %-12s %10s %10s %10s\n' "$label $c ($n rows) #$r" songnuan $o
    printf '%-28s %-12s %10s %10s %10s\n' "" postgraphile $p
  done
  col() { local i=$1; shift; for x in "$@"; do awk -v i="$i" '{print $i}' <<<"$x"; done | median; }
  o_rps=$(col 1 "${ours[@]}") o_p50=$(col 2 "${ours[@]}") o_p99=$(col 3 "${ours[@]}")
  p_rps=$(col 1 "${peer[@]}") p_p50=$(col 2 "${peer[@]}") p_p99=$(col 3 "${peer[@]}")
  printf '%-28s songnuan %s req/s p50 %s p99 %s | postgraphile %s req/s p50 %s p99 %s | ratio %.2fx req/s, p99 %s\n' \
    "$label (medians)" "$o_rps" "$o_p50" "$o_p99" "$p_rps" "$p_p50" "$p_p99" \
    "$(echo "$o_rps / $p_rps" | bc -l)" "$(awk -v a="$o_p99" -v b="$p_p99" 'BEGIN {print (a < b) ? "below the peer'"'"'s" : "NOT below the peer'"'"'s"}')"
done
