"""First use of the offline pair in a fresh process with an empty cache, several sessions
asking at once: one assembly, one engine per model, every caller served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, threading
from lib.models.engine import local_server
from lib.models.shipped import GEMMA3_BASE, SMOLLM2
results = []
def ask(model_id):
    server = local_server(model_id)
    reply = server.post("/v1/completions", {"model": model_id, "prompt": "Mary had a little",
                                             "max_tokens": 3, "temperature": 0})
    results.append((model_id, server.process.pid, reply["choices"][0]["text"],
                    reply["usage"]["completion_tokens"]))
threads = [threading.Thread(target=ask, args=(m,))
           for m in [GEMMA3_BASE.id] * 3 + [SMOLLM2.id] * 2]
[t.start() for t in threads]
[t.join(300) for t in threads]
print(json.dumps(results))
"""


def test_sessions_arriving_together_share_one_assembly_and_one_engine_per_model(tmp_path):
    env = {**os.environ, "LAB_CACHE_DIR": str(tmp_path), "LAB_LOCAL_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) == 5
    pids = {}
    for model_id, pid, text, tokens in results:
        pids.setdefault(model_id, set()).add(pid)
        assert text and 0 < tokens <= 3  # every caller got its own answer
    assert {model: len(p) for model, p in pids.items()} == {"gemma-3-270m": 1,
                                                           "SmolLM2-135M-Instruct": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["gemma-3-270m-q4_k_m.gguf"]
    # (Not "the same greedy text for each caller": batched slots need not agree bit for bit.)
