#!/usr/bin/env bash
# make bench: prints the figures as Markdown tables. Needs the local stack (make bench
# starts it). Every load targets 127.0.0.1 only.
#   deploy/bench/run.sh [section ...]   sections: go outbox pickup notify loyalty recon settle pools marketing reports matching http (default: all)
#   BENCH_FULL=1 adds the full-scale runs: reconciliation of 10,000,000 lines, settlement of 10,000,000 orders, pools and reports at 1,000,000 leads
set -euo pipefail
cd "$(dirname "$0")/../.."
only=" ${*:-all} "
section() { [[ "$only" == *" all "* || "$only" == *" $1 "* ]]; }
BIN=var/bin/tandem
deploy/dev/install.sh bench
eval "$($BIN stack env)"
export TANDEM_DATABASE_URL TANDEM_REDIS_URL

echo "# Tandem benchmarks"
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3)"
echo

if section go; then
echo "## Go benchmarks (one core)"
echo
echo '```'
go test -run '^$' -bench . -benchmem -cpu 1 -benchtime 2x ./shared/wxpay/ ./shared/wxpay/wxsim/ 2>&1 | grep -E '^Benchmark|lines/s' || true
go test -run '^$' -bench . -benchmem -cpu 1 ./shared/money/ 2>&1 | grep -E '^Benchmark' || true
echo '```'
echo
fi

if section outbox; then
echo "## Outbox (10,000 events)"
echo
echo "| run | throughput | lag from commit to enqueued |"
echo "|---|---|---|"
$BIN bench outbox --events 10000 --relays 2
$BIN bench outbox --events 10000 --relays 1 --producers 16 | grep -v drain   # more commits share each WAL flush
echo
fi

if section pickup; then
echo "## asynq pick-up"
echo
echo "| run | p50 | p99 |"
echo "|---|---|---|"
$BIN bench pickup --tasks 300
echo
fi

if section notify; then
echo "## Payment notifications (signed by the simulator before the run; verify, state, ledger, outbox, fulfilment, points; HTTP and in-process rows)"
echo
$BIN bench notify --orders 2000
$BIN bench notify --orders 2000 --handler-only   # the notify handler alone (no worker): issue 14's "applied" figure
$BIN bench notify --orders 2000 --rate 200
$BIN bench notify --orders 5000 --rate 1000 --via http   # issue 14's target: 1,000/s sustained, p99 <= 200 ms
echo
fi

if section loyalty; then
echo "## Loyalty (earn and redeem through the service, the expiry job, a coupon batch claimed at once)"
echo
$BIN bench loyalty --full
echo
fi

if section recon; then
reconciliation/bench.sh 1000000
echo
# The 10,000,000-line run (target <= 15 s, peak RSS <= 1 GiB) only with BENCH_FULL=1.
if [ -n "${BENCH_FULL:-}" ]; then reconciliation/bench.sh 10000000; echo; fi
fi

if section settle; then
echo "## Settlement: a month's statements of every merchant (target: 10,000 merchants, 10,000,000 orders in <= 60 s; BENCH_FULL=1 for that scale)"
echo
echo "| what | settlement | detail |"
echo "|---|---|---|"
$BIN bench settle ${BENCH_FULL:+--full}
echo
fi

if section marketing; then
echo "## Marketing: segments over 10,000,000 members, a coupon campaign to 1,000,000"
echo
echo "| what | figure | detail |"
echo "|---|---|---|"
$BIN bench segments --members 10000000 --counts 200 --db tandem_bench_segments10m --reuse
$BIN bench campaign --members 1000000
echo
fi

if section pools; then
echo "## B-CRM pools (dedup with N leads, import with dedup, reps claiming at once; the rules checked after; BENCH_FULL=1: 1M leads, 100k rows, 200 reps for 10 s)"
echo
$BIN bench pools ${BENCH_FULL:+--full}
echo
fi

if section reports; then
echo "## B-CRM sales reports as a city manager (target: each <= 300 ms p95 at 1M leads, 5,000 reps, 3 years; BENCH_FULL=1 for that scale, else 100k, 500)"
echo
echo "| report | p50 | p95 |"
echo "|---|---|---|"
if [ -n "${BENCH_FULL:-}" ]; then $BIN bench reports --full; else $BIN bench reports --leads 100000 --reps 500 --years 3; fi
echo
fi

if section matching; then
echo "## Matching: recommenders against popularity, serving, refresh, rebuild"
echo
$BIN bench matching ${TANDEM_BENCH_FULL:+--full}  # TANDEM_BENCH_FULL=1: the full 1M/100k/50M rebuild
echo
fi

if section http; then
echo "## HTTP under load (wrk -t2 -c64 -d10s, loopback)"
echo
port=18080
benchdb="${TANDEM_DATABASE_URL%/*}/${TANDEM_BENCH_DB:-tandem_bench}?sslmode=disable"  # TANDEM_BENCH_DB: another scratch database
TANDEM_DATABASE_URL="$benchdb" $BIN seed >/dev/null   # the demo users, through the services
# tandem serve needs a WeChat Pay account: the simulator writes its keys on first start.
if [ ! -f var/wxsim/mchid.txt ]; then
  TANDEM_DATABASE_URL="$benchdb" timeout 20 $BIN wxsim --keys var/wxsim --listen 127.0.0.1:18091 >/dev/null 2>&1 &
  for _ in $(seq 100); do [ -f var/wxsim/mchid.txt ] && break; sleep 0.1; done
  kill %% 2>/dev/null || true
fi
# The per-token rate limit (600/min by default) is raised so that wrk measures the server, not the limiter;
# the limiter's Redis call still runs on every request.
TANDEM_HTTP_ADDR=127.0.0.1:$port TANDEM_LOG_LEVEL=error TANDEM_DATABASE_URL="$benchdb" TANDEM_TOKEN_RATE=1000000000 \
  $BIN serve >/tmp/tandem-bench-serve.log 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
wrkrow() { # name url [header]
  local name=$1 url=$2; shift 2
  local out; out=$(wrk -t2 -c64 -d10s --latency "$@" "$url")
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  p50=$(awk '$1=="50%"{print $2}' <<<"$out")
  p99=$(awk '$1=="99%"{print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out")
  echo "| $name | ${rps} req/s | ${p50} | ${p99} | ${non2xx:-0} |"
}
echo "| endpoint | throughput | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
wrkrow "GET /healthz (no I/O)" "http://127.0.0.1:$port/healthz"
wrkrow "GET /readyz (PostgreSQL ping + Redis ping)" "http://127.0.0.1:$port/readyz"
# An API token for the demo admin (sign in, then create a token with the session), and one
# user to read by primary key.
base="http://127.0.0.1:$port/api/v1"
jar=$(mktemp)
csrf=$(curl -fs -c "$jar" -H 'Content-Type: application/json' -d '{"login":"admin","password":"Tandem-demo-2025"}' "$base/sessions" \
  | grep -o '"csrf_token":"[^"]*"' | cut -d'"' -f4)
token=$(curl -fs -b "$jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' -d '{"name":"bench","ttl_days":1}' "$base/tokens" \
  | grep -o '"secret":"[^"]*"' | cut -d'"' -f4)
user=$(curl -fs -H "Authorization: Bearer $token" "$base/users?limit=1" | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
rm -f "$jar"
if [ -z "$token" ] || [ -z "$user" ]; then echo "could not get a token and a user id for the authenticated run" >&2; exit 1; fi
# The yardstick, in the same run: bare gin + pgx, the same row by primary key, no platform.
bare_port=18081
TANDEM_DATABASE_URL="$benchdb" $BIN bench bare --addr 127.0.0.1:$bare_port >/tmp/tandem-bench-bare.log 2>&1 &
bare=$!
trap 'kill $serve $bare 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$bare_port/users/$user" >/dev/null 2>&1 && break; sleep 0.1; done
# Three rounds, Tandem and bare in turn, and the median of each: on a shared machine the
# load moves between two runs of 10 s, and alternating spreads it over both.
rps() { awk -F'|' '{print $3}' <<<"$1" | awk '{print $1}'; }
median_row() { # rows on stdin, one per round: the row of the median throughput
  awk -F'|' '{split($3, a, " "); print a[1] "\t" $0}' | sort -g | sed -n 2p | cut -f2-
}
tandem_rows="" bare_rows="" rounds=""
for _ in 1 2 3; do
  t=$(wrkrow "GET /api/v1/users/{id} (bearer token, scope, one row by primary key)" "$base/users/$user" -H "Authorization: Bearer $token")
  b=$(wrkrow "bare gin + pgx: GET /users/{id} (no middleware, no auth)" "http://127.0.0.1:$bare_port/users/$user")
  tandem_rows+="$t"$'\n' bare_rows+="$b"$'\n'
  rounds+=" $(rps "$t")/$(rps "$b")"
done
kill $bare 2>/dev/null || true
tandem_row=$(printf '%s' "$tandem_rows" | median_row)
bare_row=$(printf '%s' "$bare_rows" | median_row)
echo "$tandem_row"
echo "$bare_row"
echo
echo "authenticated read / bare lookup (median of 3 alternating rounds; Tandem/bare req/s per round:$rounds): $(awk -v a="$(rps "$tandem_row")" -v b="$(rps "$bare_row")" 'BEGIN{printf "%.0f %%", 100*a/b}')"
echo
echo "## Matching on the demo record"
echo
TANDEM_DATABASE_URL="$benchdb" $BIN bench matching --demo
fi
