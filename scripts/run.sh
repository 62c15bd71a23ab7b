#!/usr/bin/env bash
# Sets up (first time only) and runs the app: http://localhost:8501
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
exec "${LAB_VENV:-.venv}/bin/python" -m streamlit run Home.py "$@"
