"""The Gradio launcher (lib/gradio_chat.py), started for real on 127.0.0.1 and talked to with
gradio_client. These tests run in the launcher's own environment (.venv-gradio): see
scripts/test.sh."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

gradio_client = pytest.importorskip("gradio_client")

from tests.servers.processes import ServerProcess, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-gradio-test-key-4242"
BUILTIN = "SmolLM2-135M-Instruct"


def launch(tmp_path, *args: str, env: dict[str, str] | None = None) -> str:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "OPENROUTER_"))}
    environ.update(env or {}, GRADIO_ANALYTICS_ENABLED="False")
    process = ServerProcess([sys.executable, "-m", "lib.gradio_chat", "--port", str(port), *args],
                            tmp_path / f"gradio-{port}.log", env=environ, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    try:
        process.wait_until_ready(url, timeout=90)
    except Exception:
        process.stop()
        raise
    launch.processes.append(process)
    return url


launch.processes = []


@pytest.fixture(autouse=True)
def _stop_launchers():
    yield
    for process in launch.processes:
        process.stop()
    launch.processes.clear()


def client(url: str):
    return gradio_client.Client(url, verbose=False)


def chat(url: str, message: str, provider: str, model: str, max_tokens: int = 48):
    job = client(url).submit(message, provider, model, "Be brief.", 0.0, max_tokens,
                             api_name="/chat")
    outputs = list(job)
    return outputs, job.outputs()[-1]


def test_streams_a_growing_answer_from_the_builtin_model(tmp_path):
    url = launch(tmp_path)
    outputs, (answer, stats) = chat(url, "Name three things to do in Paris.", "builtin", BUILTIN)
    texts = [text for text, _ in outputs]
    assert len(set(texts)) >= 3  # it grew step by step
    assert all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:-1]))
    assert answer.strip() and "⚠️" not in answer
    assert "Time to first token" in stats and "tokens/s" in stats


def test_a_hosted_provider_and_its_faults_come_through_as_messages(tmp_path, fault_server):
    url = launch(tmp_path, "--provider", "openai",
                 env={"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": KEY})
    _, (answer, _) = chat(url, "Hello", "openai", "ok")
    assert answer == "Hello from the fault server."
    _, (refused, _) = chat(url, "Hello", "openai", "auth")
    assert "The API key was rejected (401)" in refused and KEY not in refused
    _, (cut, _) = chat(url, "Hello", "openai", "cut")
    assert cut.startswith("The answer is") and "The stream was cut off." in cut
    sent = fault_server.requests[-1].body["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}


def test_stop_mid_answer_and_the_launcher_carries_on(tmp_path, fault_server):
    fault_server.slow_delay = 0.5
    url = launch(tmp_path, env={"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": KEY})
    job = client(url).submit("Hello", "openai", "slow", "Be brief.", 0.0, 48, api_name="/chat")
    for output in job:
        if output[0]:
            job.cancel()  # the Stop button
            break
    fault_server.slow_delay = 0.0
    _, (answer, _) = chat(url, "Again", "openai", "ok")
    assert answer == "Hello from the fault server."


@pytest.mark.parametrize("example", ["history", "streaming"])
def test_the_lectures_chat_examples_answer(tmp_path, example):
    url = launch(tmp_path, "--example", example)
    answer = client(url).predict("Say hello.", api_name="/chat")
    assert isinstance(answer, str) and answer.strip()


def test_the_lectures_basic_interface_labels_an_image(tmp_path):
    url = launch(tmp_path, "--example", "basic")
    image = tmp_path / "pixel.png"
    image.write_bytes(_png_1x1())
    label = client(url).predict(gradio_client.handle_file(str(image)), api_name="/predict")
    assert label["label"] == "dog"
    assert {c["label"]: c["confidence"] for c in label["confidences"]} == {"dog": 0.7, "cat": 0.3}


def test_share_without_internet_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "lib.gradio_chat", "--share",
                           "--port", str(free_port())], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert "--share could not create a public link" in done.stderr
    assert "Run without --share" in done.stderr


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
