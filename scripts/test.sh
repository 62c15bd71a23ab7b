#!/usr/bin/env bash
# Sets up everything the tests need (Chromium included) and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
exec "${LAB_VENV:-.venv}/bin/python" -m pytest "$@"
