#!/usr/bin/env bash
# The browser tests drive Debian's Chromium. Installs it when it is missing (as root,
# from Debian's packages); a no-op when it is there. `npm test` runs this first.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "The console's browser tests need Chromium at $CHROMIUM: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH." >&2
  exit 1
fi
echo "installing Chromium from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium >&2
