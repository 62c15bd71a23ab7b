#!/usr/bin/env bash
# Sets up everything the tests need (Chromium included) and runs every test: the app's with
# its environment (.venv), then the Gradio launcher's with its own (.venv-gradio).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
bash scripts/setup.sh gradio
status=0
.venv-gradio/bin/python -m pytest -o addopts= tests/gradio || status=$?
"${LAB_VENV:-.venv}/bin/python" -m pytest "$@" || status=$?
exit $status
