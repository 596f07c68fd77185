#!/usr/bin/env bash
# Reconciliation benchmark, end to end as its own process: a synthetic ALL bill of
# N lines plus our ledger with four deliberate differences, then
#   /usr/bin/time -v tandem reconcile --file bill.csv --ledger ledger.csv --db <scratch>
# which reads + parses the bill, loads ours, matches, writes the exceptions and the
# run (schema recon, database tandem_recon_bench on $TANDEM_DATABASE_URL's server).
# Prints seconds and peak RSS. Usage: reconciliation/bench.sh [lines] [--gzip]
# Needs the local stack (make stack) or TANDEM_DATABASE_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
GZIP=${2:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

BIN=$work/tandem
go build -o "$BIN" ./cmd/tandem

eval "$("$BIN" reconcile bench --lines "$LINES" --dir "$work" --generate-only ${GZIP:+--gzip})"
echo "## Reconciliation, $LINES lines ($(nproc) cores, $(go version | cut -d' ' -f3))"
echo
echo "| run | wall | user+sys | peak RSS | matched | exceptions |"
echo "|---|---|---|---|---|---|"
for run in first re-run; do
  # Exit status 2: unbalanced, as the planted differences make it; only 1 is a failure.
  st=0
  /usr/bin/time -v "$BIN" reconcile --file "$BILL" --ledger "$LEDGER" --db "$DB" >"$work/out" 2>"$work/time" || st=$?
  if [ "$st" -ne 0 ] && [ "$st" -ne 2 ]; then cat "$work/time" >&2; exit "$st"; fi
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$work/time")
  cpu=$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.2fs", u+s}' "$work/time")
  rss=$(awk -F': ' '/Maximum resident set size/{printf "%d MiB", $2/1024}' "$work/time")
  matched=$(awk '$1=="matched"{print $2}' "$work/out")
  exc=$(grep -oE 'exceptions \([0-9]+ of [0-9]+\)' "$work/out" | grep -oE '[0-9]+\)' | tr -d ')')
  echo "| $run | $wall | $cpu | $rss | $matched | ${exc:-0} |"
done
echo
grep -E '^took:' "$work/out" || true
