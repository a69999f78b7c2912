#!/usr/bin/env bash
# Installs what the dashboard test (tests/dashboard.rs) drives: Debian's
# Chromium at /usr/bin/chromium, and playwright-core (pinned in
# tests/dashboard/package-lock.json) in tests/dashboard/node_modules.
# Idempotent and quick once done; CI runs it from scripts/test, nobody
# installs these by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  # fonts-liberation is only recommended, but without a font the screenshots are boxes.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi

dir=tests/dashboard
stamp="$dir/node_modules/.installed-from-lock"
if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
fi
