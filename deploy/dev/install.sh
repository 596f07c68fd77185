#!/usr/bin/env bash
# Installs what the local stack needs and is missing, from Debian packages.
#   deploy/dev/install.sh postgres redis [chromium] [bench]
# As root it runs apt-get; otherwise it names the packages to install and fails.
set -euo pipefail

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(postgres redis)
missing=()

have_postgres() {
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] || continue
    v=$(basename "$(dirname "$d")")
    [ "${v%%.*}" -ge 15 ] 2>/dev/null && return 0
  done
  command -v pg_ctl >/dev/null 2>&1 && [ "$(pg_ctl --version | sed -E 's/.* ([0-9]+).*/\1/')" -ge 15 ]
}
# PostGIS (territories, distances) for every PostgreSQL 15 on the machine; pg_trgm
# (fuzzy names) comes with postgresql-15 itself.
have_postgis() {
  ls /usr/share/postgresql/15/extension/postgis.control >/dev/null 2>&1
}
have_redis() {
  command -v redis-server >/dev/null 2>&1 || return 1
  v=$(redis-server --version | sed -E 's/.*v=([0-9]+).*/\1/')
  [ "$v" -ge 7 ] 2>/dev/null
}
have_chromium() { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; }
have_bench() { command -v wrk >/dev/null 2>&1 && [ -x /usr/bin/time ]; }

for w in "${want[@]}"; do
  case "$w" in
    postgres) have_postgres || missing+=(postgresql-15 postgresql-client-15)
              have_postgis  || missing+=(postgresql-15-postgis-3) ;;
    redis)    have_redis    || missing+=(redis-server) ;;
    chromium) have_chromium || missing+=(chromium fonts-noto-cjk) ;;
    bench)    have_bench    || missing+=(wrk time) ;;
    *) echo "install.sh: unknown component '$w' (postgres, redis, chromium, bench)" >&2; exit 2 ;;
  esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Tandem needs these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "installing ${missing[*]} (apt-get)..."
export DEBIAN_FRONTEND=noninteractive
# Package scripts must not start system services: we run our own under ./var.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; own_policy=1
fi
trap '[ $own_policy -eq 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed ${missing[*]}"
