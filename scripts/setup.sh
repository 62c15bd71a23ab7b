#!/usr/bin/env bash
# Installs what the app (scripts/setup.sh app) or the tests (scripts/setup.sh dev) need into
# .venv (or $LAB_VENV), exactly as locked in uv.lock; `scripts/setup.sh gradio` installs the
# Gradio launcher's own environment (.venv-gradio, from launchers/gradio/uv.lock). Binary wheels only (--no-build): no
# compiler is ever used. Safe to run again: uv only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}

uv=$(command -v uv || true)
if [ -z "$uv" ]; then
  # uv from PyPI, the version uv.lock pins, checked against its hash; standard library only
  # (a stock Debian python3 has neither pip nor venv). Nothing outside the project changes.
  [ -x .cache/uv/bin/uv ] || python3 scripts/bootstrap_uv.py
  uv=.cache/uv/bin/uv
fi
if [ "$mode" = gradio ]; then
  # Gradio 5.x caps packages the app needs newer: it gets an environment of its own.
  UV_PROJECT_ENVIRONMENT="$PWD/.venv-gradio" "$uv" sync --frozen --no-build \
    --project launchers/gradio --group dev
  exit 0
fi
export UV_PROJECT_ENVIRONMENT=${LAB_VENV:-.venv}
if [ "$mode" = dev ]; then
  "$uv" sync --frozen --no-build --group dev
else
  # --inexact: running the app never removes the test tools a `make test` installed
  "$uv" sync --frozen --no-build --inexact
fi

if [ "$mode" = dev ]; then
  # What the tests run from Debian, installed with apt when missing (one update for all):
  # Chromium for the browser tests (Playwright's own browser download is not used), and
  # redis-server for the session store's tests (each test run starts its own on a free port).
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/redis-server ] || missing+=(redis-server)
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    # env inside sudo: sudo's env_reset would drop a variable set in front of it
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    if [[ " ${missing[*]} " == *" redis-server "* ]] && [ -d /run/systemd/system ]; then
      # Only the program is wanted: the package also enables a system service on port 6379,
      # started at every boot. Switch off the one we just installed (a container has no
      # systemd, and its policy-rc.d already kept the install from starting it).
      $sudo systemctl disable --now redis-server.service >/dev/null 2>&1 || true
    fi
  fi
fi
