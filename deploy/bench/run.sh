#!/usr/bin/env bash
# make bench: prints the figures as Markdown tables. Needs the local stack (make bench
# starts it). Every load targets 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=var/bin/tandem
deploy/dev/install.sh bench
eval "$($BIN stack env)"
export TANDEM_DATABASE_URL TANDEM_REDIS_URL

echo "# Tandem benchmarks"
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(go version | cut -d' ' -f3)"
echo

echo "## Go benchmarks (one core)"
echo
echo '```'
go test -run '^$' -bench . -benchmem -cpu 1 -benchtime 2x ./shared/wxpay/ ./shared/wxpay/wxsim/ 2>&1 | grep -E '^Benchmark|lines/s' || true
go test -run '^$' -bench . -benchmem -cpu 1 ./shared/money/ 2>&1 | grep -E '^Benchmark' || true
echo '```'
echo

echo "## Outbox (10,000 events)"
echo
echo "| run | throughput | lag from commit to enqueued |"
echo "|---|---|---|"
$BIN bench outbox --events 10000 --relays 2
echo

echo "## asynq pick-up"
echo
echo "| run | p50 | p99 |"
echo "|---|---|---|"
$BIN bench pickup --tasks 300
echo

reconciliation/bench.sh 1000000
echo

echo "## HTTP under load (wrk -t2 -c64 -d10s, loopback)"
echo
port=18080
TANDEM_HTTP_ADDR=127.0.0.1:$port TANDEM_LOG_LEVEL=error TANDEM_DATABASE_URL="${TANDEM_DATABASE_URL%/*}/tandem_bench?sslmode=disable" \
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
if [ -x deploy/bench/authed.sh ]; then deploy/bench/authed.sh "$port" wrkrow; fi
