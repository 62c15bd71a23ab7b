"""The engines on a small machine: the optional base model stopped when idle (never with a
request in flight), engines that keep dying soon after starting backed off, the base model
refused below a memory limit, and failed starts not retried by every rerun.

Each test runs in a fresh process: stopping and killing engines must not disturb the engines
other tests of this run share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.models.settings import (MIN_MEMORY_ENV, EngineSettingsError, base_model_idle_s,
                                 base_model_memory_refusal, memory_limit_bytes)

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_script(script: str, timeout_s: float = 600, **environ: str) -> dict:
    env = {**os.environ, "LAB_LOCAL_THREADS": "1", **environ}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


IDLE_SCRIPT = """
import json, time, httpx
from lib.models.engine import local_server, running_server
from lib.models.shipped import GEMMA3_BASE, SMOLLM2
smol = local_server(SMOLLM2.id)
gemma = local_server(GEMMA3_BASE.id)
first_pid = gemma.process.pid
# A long answer, streamed: the engine is idle by the clock long before it ends.
began = time.monotonic()
tokens = 0
with httpx.stream("POST", gemma.base_url + "/completions", timeout=600,
                  headers={"Authorization": "Bearer " + gemma.api_key},
                  json={"model": GEMMA3_BASE.id, "prompt": "Mary had a little", "stream": True,
                        "max_tokens": 400, "ignore_eos": True, "temperature": 0}) as response:
    for line in response.iter_lines():
        if line.startswith("data: {"):
            tokens += 1
streamed_s = time.monotonic() - began
alive_after_stream = gemma.alive
deadline = time.monotonic() + 60
while running_server(GEMMA3_BASE.id) is not None and time.monotonic() < deadline:
    time.sleep(0.2)
stopped = running_server(GEMMA3_BASE.id) is None and not gemma.alive
again = local_server(GEMMA3_BASE.id)
reply = again.post("/v1/completions", {"model": GEMMA3_BASE.id, "prompt": "Mary had a little",
                                       "max_tokens": 3})
print(json.dumps({"tokens": tokens, "streamed_s": streamed_s, "alive_after_stream":
                  alive_after_stream, "stopped": stopped, "restarted": again.process.pid != first_pid,
                  "reply": reply["choices"][0]["text"], "smol_alive": smol.alive}))
"""


def test_the_idle_base_model_is_stopped_but_never_mid_answer_and_starts_again():
    idle_minutes = 0.01  # 0.6 s, checked every 0.15 s
    result = run_script(IDLE_SCRIPT, LAB_BASE_MODEL_IDLE_MINUTES=str(idle_minutes))
    # (400 tokens take seconds on any machine: the engine was idle by the clock mid-answer)
    assert result["streamed_s"] > 2 * idle_minutes * 60, result
    assert result["tokens"] >= 400 and result["alive_after_stream"], result  # not cut short
    assert result["stopped"] and result["restarted"] and result["reply"], result
    assert result["smol_alive"]  # the default chat model is never stopped for idleness


DEATHS_SCRIPT = """
import json, os, signal
from lib.models.engine import EngineError, local_server
from lib.models.shipped import SMOLLM2
pids = []
for _ in range(2):  # what the OOM killer does to an engine right after it starts
    server = local_server(SMOLLM2.id)
    pids.append(server.process.pid)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
messages = []
for _ in range(2):  # every rerun now gets the same message, without a third start
    try:
        local_server(SMOLLM2.id)
        messages.append(None)
    except EngineError as exc:
        messages.append(str(exc))
print(json.dumps({"pids": pids, "messages": messages}))
"""


def test_an_engine_that_keeps_dying_soon_after_starting_backs_off_with_a_message():
    result = run_script(DEATHS_SCRIPT)
    assert len(set(result["pids"])) == 2  # the first death was restarted once
    first, second = result["messages"]
    assert first and first == second, result
    assert "2 times in a row" in first and "SIGKILL" in first and "memory" in first


MEMORY_SCRIPT = """
import json
from lib.models.engine import EngineError, local_server
from lib.models.shipped import GEMMA3_BASE, SMOLLM2
try:
    local_server(GEMMA3_BASE.id)
    refusal = None
except EngineError as exc:
    refusal = str(exc)
print(json.dumps({"refusal": refusal, "smol": local_server(SMOLLM2.id).alive}))
"""


def test_the_base_model_is_refused_below_the_memory_it_needs():
    result = run_script(MEMORY_SCRIPT, **{MIN_MEMORY_ENV: "100000000"})  # 100 TB
    assert f"{MIN_MEMORY_ENV}=0" in result["refusal"] and "hosted pair" in result["refusal"]
    assert result["smol"]


def test_the_memory_limit_is_the_containers_when_it_has_one(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("memory\n")  # a cgroup v2 mount
    (tmp_path / "memory.max").write_text("723517440\n")  # Community Cloud's 690 MB
    (tmp_path / "self").write_text("0::/\n")  # the process sits at the root
    assert memory_limit_bytes(tmp_path, tmp_path / "self") == 723517440
    (tmp_path / "memory.max").write_text("max\n")
    unlimited = memory_limit_bytes(tmp_path, tmp_path / "self")
    assert unlimited is not None and unlimited > 723517440  # the machine's RAM
    refusal = base_model_memory_refusal("Gemma", {}, limit=723517440)
    assert "690 MB" in refusal and f"{MIN_MEMORY_ENV}=0" in refusal
    assert base_model_memory_refusal("Gemma", {MIN_MEMORY_ENV: "0"}, limit=723517440) is None
    assert base_model_memory_refusal("Gemma", {}, limit=2 * 2**30) is None


def test_the_idle_setting_is_read_and_checked():
    assert base_model_idle_s({}) == 600.0
    assert base_model_idle_s({"LAB_BASE_MODEL_IDLE_MINUTES": "0.5"}) == 30.0
    with pytest.raises(EngineSettingsError, match="LAB_BASE_MODEL_IDLE_MINUTES"):
        base_model_idle_s({"LAB_BASE_MODEL_IDLE_MINUTES": "soon"})
