#!/usr/bin/env bash
# Installs what the app (scripts/setup.sh app) or the tests (scripts/setup.sh dev) need into
# .venv (or $LAB_VENV), exactly as locked in uv.lock. Binary wheels only (--no-build): no
# compiler is ever used. Safe to run again: uv only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}

uv=$(command -v uv || true)
if [ -z "$uv" ]; then
  # uv comes from PyPI into a private folder: nothing outside the project changes.
  [ -x .cache/uv/bin/uv ] || { python3 -m venv .cache/uv && .cache/uv/bin/pip install -q uv; }
  uv=.cache/uv/bin/uv
fi
export UV_PROJECT_ENVIRONMENT=${LAB_VENV:-.venv}
args=(--frozen --no-build)
[ "$mode" = dev ] || args+=(--no-dev)
"$uv" sync "${args[@]}"

if [ "$mode" = dev ] && [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
