#!/usr/bin/env bash
# npm run bench's load generator: wrk from Debian's packages, when it can be installed.
# Never run by CI. Without it, the bench falls back to autocannon (and says so).
set -euo pipefail
command -v wrk >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing wrk (Debian package) for the benchmark's load generator"
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; } || echo "could not install wrk: the bench uses autocannon"
else
  echo "wrk is not installed (apt-get install wrk): the bench uses autocannon"
fi
