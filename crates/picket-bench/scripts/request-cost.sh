#!/usr/bin/env bash
# Per-request server CPU and PostgreSQL time of the network API's lists and searches (the
# scaling model in docs/operations.md). Fills a database of its own (dropped first), starts
# `picket serve` on it with PostgreSQL logging every statement's duration, and sends each
# request sequentially.
#
#   cargo build --release -p picket
#   crates/picket-bench/scripts/request-cost.sh            # 2,000,000 network alerts
#   ALERTS=10000000 crates/picket-bench/scripts/request-cost.sh
#
# Environment: PICKET_BIN (default target/release/picket), PG (default
# postgres://postgres@127.0.0.1:5432), DB (default picket_request_cost), PG_LOG (the server's
# log file, default Debian's for PostgreSQL 15), N (requests per endpoint, default 60),
# GEN=0 to reuse the database of an earlier run. Needs psql, curl and bc; the server's log
# must be readable.
set -euo pipefail
BIN=${PICKET_BIN:-target/release/picket}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-picket_request_cost}
URL=$PG/$DB
PG_LOG=${PG_LOG:-/var/log/postgresql/postgresql-15-main.log}
N=${N:-60}
PORT=${PORT:-18181}
export PICKET_DATA_DIR=${PICKET_DATA_DIR:-$(mktemp -d)}

if [ "${GEN:-1}" = 1 ]; then
    psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    "$BIN" --database-url "$URL" admin tenant create cost
    "$BIN" --database-url "$URL" admin user create --tenant cost --all-perms ops
    "$BIN" --database-url "$URL" admin key create --tenant cost --user ops > "$PICKET_DATA_DIR/key"
    # The mix of `picket-bench network --scale 0.05`.
    "$BIN" --database-url "$URL" admin generate network --tenant cost --alerts "${ALERTS:-2000000}" \
        --server-alerts 50000 --dns 250000 --tcp 250000 --days 30 --seed 42
    psql "$URL" -qc "VACUUM ANALYZE"
fi
KEY=$(cat "$PICKET_DATA_DIR/key")

PICKET_WORKERS=0 PICKET_RATE_LIMIT__PER_SECOND=0 \
    "$BIN" --database-url "$URL?options[log_min_duration_statement]=0" serve --listen "127.0.0.1:$PORT" \
    > "$PICKET_DATA_DIR/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null && break; sleep 1; done

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
measure() { # name method path [json body]
    local name=$1 method=$2 path=$3 body=${4:-}
    local args=(-s -o /dev/null -w '%{http_code}\n' -X "$method" -H "Authorization: Bearer $KEY" -H "Accept-Encoding: gzip")
    [ -n "$body" ] && args+=(-H 'Content-Type: application/json' -d "$body")
    for _ in 1 2 3; do curl "${args[@]}" "http://127.0.0.1:$PORT$path" > /dev/null; done
    sleep 0.5
    local offset c0 c1 codes db
    offset=$(stat -c %s "$PG_LOG")
    c0=$(cpu)
    codes=$(for _ in $(seq "$N"); do curl "${args[@]}" "http://127.0.0.1:$PORT$path"; done | sort | uniq -c | tr -s ' ' | tr '\n' ';')
    c1=$(cpu)
    sleep 0.5 # the log is written after the response
    db=$(tail -c +$((offset + 1)) "$PG_LOG" | grep -o 'duration: [0-9.]* ms' | awk -v n="$N" '{s += $2} END {printf "%.2f", s / n}')
    printf "| %s | %.1f | %s | %s |\n" "$name" "$(echo "($c1 - $c0) * 1000 / $ticks / $N" | bc -l)" "$db" "$codes"
}

WEEK=$(date -u -d '7 days ago' '+%Y-%m-%d %H:%M:%S')
TO=$(date -u -d '4 days ago' '+%Y-%m-%d %H:%M:%S')
echo "| request | server CPU ms | database ms | statuses |"
echo "|---|---:|---:|---|"
measure "networkalerts list" GET "/api/v1/networkalerts?sort=timestamp&order=desc"
measure "networkalerts page 1000" GET "/api/v1/networkalerts?sort=timestamp&order=desc&page=1000"
measure "networkalerts search level+type" POST /api/v1/networkalerts/search \
    '{"filters":{"level":[20,30],"type":["ids","portscan"],"from":"'"$WEEK"'","to":"'"$TO"'"},"sort":{"field":"timestamp","order":"desc"}}'
measure "networkalerts search level+source" POST /api/v1/networkalerts/search \
    '{"filters":{"level":[30],"source":["10.10.0.%"],"from":"'"$WEEK"'","to":"'"$TO"'"},"sort":{"field":"timestamp","order":"desc"}}'
measure "serveralerts list" GET "/api/v1/serveralerts?sort=timestamp&order=desc"
measure "serveralerts search, common text" POST /api/v1/serveralerts/search '{"filters":{"search":["Failed password for root"]}}'
measure "serveralerts search, one attacker" POST /api/v1/serveralerts/search '{"filters":{"search":["from 203.0.113.42 port"]}}'
measure "devices" GET "/api/v1/devices?page=1"
measure "services" GET /api/v1/services
measure "about" GET /api/v1/about
