"""Both panes on the real shipped models: sent together, streamed interleaved, each with
its candidates; the instruct model's three prompt formats; faults kept to their pane."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lib.base_vs_instruct.knobs import TOP_CANDIDATES, Knobs
from lib.base_vs_instruct.panes import PaneStream, chat_request
from lib.base_vs_instruct.pairs import OFFLINE_BASE, OFFLINE_INSTRUCT, Side, start_run
from lib.base_vs_instruct.prompt_formats import wrong_template_text
from lib.base_vs_instruct.side_by_side import interleave, pane_texts
from lib.chat.providers import make_provider
from lib.config import Endpoint
from lib.inspector import Inspector
from lib.models.engine import local_server
from lib.models.shipped import GEMMA3_BASE, SMOLLM2

REPO_ROOT = Path(__file__).resolve().parents[2]
PARIS = "What should I do on my upcoming trip to Paris?"


@pytest.fixture(scope="module")
def offline_pair():
    inspector = Inspector()
    return (Side(make_provider(OFFLINE_BASE, inspector), GEMMA3_BASE.id),
            Side(make_provider(OFFLINE_INSTRUCT, inspector), SMOLLM2.id), inspector)


def test_both_panes_generate_on_the_real_models(offline_pair):
    base, instruct, _ = offline_pair
    run = start_run(base, instruct, PARIS, Knobs(max_new_tokens=40, seed=7))
    arrivals = [index for index, _ in interleave([run.base, run.instruct])]
    assert set(arrivals) == {0, 1}
    for stream in (run.base, run.instruct):
        assert stream.error is None and stream.text.strip()
        assert stream.metrics.usage_source == "provider"
        assert 0 < len(stream.steps) <= 40


def test_both_panes_stream_at_the_same_time_not_in_turn(fault_server):
    # Paced answers (a fixed rate, whatever the machine's load): taken in turn, every delta
    # of one pane would come before the other's first; side by side they interleave.
    endpoint = Endpoint(id="openai", label="Fault server", kind="openai_compatible",
                        base_url=fault_server.base_url, api_key="sk-test", needs_key=True)
    provider = make_provider(endpoint, Inspector())
    knobs = Knobs(max_new_tokens=30)
    messages = [{"role": "user", "content": PARIS}]
    streams = [PaneStream(provider, chat_request("paced", messages, knobs, False), "")
               for _ in range(2)]
    pace, fault_server.pace = fault_server.pace, 20.0  # 30 deltas: 1.5 s per pane
    try:
        order = [index for index, _ in interleave(streams)]
    finally:
        fault_server.pace = pace
    assert all(s.error is None and s.text.strip().endswith("w30") for s in streams)
    # Pane 2's first delta arrived before pane 1's last, and the other way round.
    assert order.index(1) < len(order) - 1 - order[::-1].index(0)
    assert order.index(0) < len(order) - 1 - order[::-1].index(1)


def test_the_base_model_continues_on_completions_and_the_instruct_model_chats(offline_pair):
    base, instruct, inspector = offline_pair
    run = start_run(base, instruct, "Mary had a little", Knobs(max_new_tokens=5))
    list(interleave([run.base, run.instruct]))
    sent = {entry["request"]["url"].rsplit("/v1", 1)[1]: entry["request"]["json"]
            for entry in inspector.history()[-2:]}
    assert sent["/completions"] == run.base.request.body  # the body shown is the body sent
    assert sent["/chat/completions"] == run.instruct.request.body
    assert sent["/completions"]["prompt"] == "Mary had a little"
    assert sent["/completions"]["logprobs"] == TOP_CANDIDATES
    assert sent["/completions"]["min_p"] == 0.0  # no hidden cut on the built-in engine
    assert sent["/chat/completions"]["messages"] == [{"role": "user", "content": "Mary had a little"}]
    assert sent["/chat/completions"]["top_logprobs"] == TOP_CANDIDATES


def test_the_same_seed_gives_the_same_text_in_both_panes(offline_pair):
    base, instruct, _ = offline_pair
    texts = []
    for _ in range(2):
        run = start_run(base, instruct, PARIS, Knobs(max_new_tokens=20, temperature=1.0, seed=11))
        list(interleave([run.base, run.instruct]))
        texts.append((run.base.text, run.instruct.text))
    assert texts[0] == texts[1]


def test_the_instruct_model_reads_its_own_template_by_default(offline_pair):
    base, instruct, _ = offline_pair
    run = start_run(base, instruct, PARIS, Knobs(max_new_tokens=3), "template",
                    system_prompt="You help travelers make plans for their trips.")
    assert run.instruct.request.path == "/v1/chat/completions"
    assert run.instruct_reads == (
        "<|im_start|>system\nYou help travelers make plans for their trips.<|im_end|>\n"
        f"<|im_start|>user\n{PARIS}<|im_end|>\n<|im_start|>assistant\n")
    list(interleave([run.base, run.instruct]))
    # and that is what it really read: the engine counted the same number of prompt tokens
    tokens = local_server(SMOLLM2.id).post(
        "/tokenize", {"content": run.instruct_reads, "add_special": False})["tokens"]
    assert run.instruct.metrics.prompt_tokens == len(tokens)


def test_no_template_sends_the_bare_prompt_on_completions(offline_pair):
    base, instruct, _ = offline_pair
    run = start_run(base, instruct, PARIS, Knobs(max_new_tokens=5), "raw")
    assert run.instruct_reads == PARIS
    assert run.instruct.request.path == "/v1/completions"
    assert run.instruct.request.body["prompt"] == PARIS
    list(interleave([run.base, run.instruct]))
    assert run.instruct.error is None


def test_another_familys_template_is_gemmas_rendered_by_its_own_jinja_template(offline_pair):
    base, instruct, _ = offline_pair
    run = start_run(base, instruct, PARIS, Knobs(max_new_tokens=8), "wrong",
                    system_prompt="You help travelers.")
    # Gemma has no system role: its template folds the system prompt into the user turn.
    assert run.instruct_reads == (f"<start_of_turn>user\nYou help travelers.\n\n{PARIS}"
                                  "<end_of_turn>\n<start_of_turn>model\n")
    assert "<|im_start|>" not in run.instruct_reads
    assert run.instruct.request.body["prompt"] == run.instruct_reads
    assert run.instruct.request.body["model"] == SMOLLM2.id
    list(interleave([run.base, run.instruct]))
    assert run.instruct.error is None and run.instruct.metrics.completion_tokens > 0


NO_ENGINE_FOR_A_STRING = """
import json
from lib.base_vs_instruct.prompt_formats import wrong_template_text
from lib.models.engine import running_server
from lib.models.shipped import GEMMA3_BASE
from lib.templates.vendored_tokenizers import is_loaded
text = wrong_template_text([{"role": "user", "content": "Hi"}])
print(json.dumps([text, running_server(GEMMA3_BASE.id) is None, is_loaded("gemma")]))
"""


def test_the_wrong_template_costs_no_engine_and_no_tokenizer():
    # A hosted pair must not start Gemma (assembly + ~400 MB) to render a string.
    done = subprocess.run([sys.executable, "-c", NO_ENGINE_FOR_A_STRING], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    text, no_engine, tokenizer_loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert text == "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
    assert no_engine and not tokenizer_loaded


def test_the_wrong_template_matches_the_gemma_engines_own_rendering():
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PARIS}]
    engine = local_server(GEMMA3_BASE.id).post("/apply-template", {"messages": messages})
    assert wrong_template_text(messages) == engine["prompt"]  # two real renderers agree


def test_gemma_base_no_longer_gets_chatml_on_chat():
    # Its GGUF has no template: llama.cpp's built-in Gemma format, not a silent ChatML.
    prompt = local_server(GEMMA3_BASE.id).post(
        "/apply-template", {"messages": [{"role": "user", "content": "Hi"}]})["prompt"]
    assert prompt == "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"


def test_pane_texts_ends_with_each_panes_whole_text(offline_pair):
    base, instruct, _ = offline_pair
    run = start_run(base, instruct, PARIS, Knobs(max_new_tokens=15, seed=5))
    last = {}
    for index, text in pane_texts([run.base, run.instruct], interval_s=10.0):
        last[index] = text
    assert last == {0: run.base.text, 1: run.instruct.text}


def test_closing_early_stops_both_streams(offline_pair):
    base, instruct, _ = offline_pair
    run = start_run(base, instruct, PARIS, Knobs(max_new_tokens=200))
    arrivals = interleave([run.base, run.instruct])
    next(arrivals)
    arrivals.close()  # what a rerun mid-stream does
    assert run.base.done and run.instruct.done
    assert run.base.metrics.completion_tokens < 200 or run.instruct.metrics.completion_tokens < 200


def test_a_provider_without_completions_fails_its_pane_only(fault_server):
    endpoint = Endpoint(id="openai", label="Fault server", kind="openai_compatible",
                        base_url=fault_server.base_url, api_key="sk-test", needs_key=True)
    provider = make_provider(endpoint, Inspector())
    run = start_run(Side(provider, "some-base-model"), Side(provider, "ok"), PARIS, Knobs())
    list(interleave([run.base, run.instruct]))
    assert run.base.error is not None and "Not found (404)" in str(run.base.error)
    assert run.instruct.error is None and run.instruct.text == "Hello from the fault server."
    completions = [r for r in fault_server.requests if r.path == "/v1/completions"]
    assert completions[0].body["logprobs"] == 5  # hosted legacy completions allow at most 5
    assert "min_p" not in completions[0].body  # llama.cpp's extra is not sent elsewhere
    assert "top_k" not in completions[0].body  # OpenAI answers an unknown argument with 400


class RecordingAccount:
    def __init__(self) -> None:
        self.records: list[str] = []
        self.released: list[str] = []

    def record(self, model, cost) -> None:
        self.records.append(model)

    def release(self, model) -> None:  # admitted, refused by the server: what it held is free
        self.released.append(model)


def test_a_run_settled_from_two_threads_mid_stream_is_counted_once(fault_server):
    endpoint = Endpoint(id="openai", label="Fault server", kind="openai_compatible",
                        base_url=fault_server.base_url, api_key="sk-test", needs_key=True,
                        key_source="environment")  # the deployment's key: requests count
    provider = make_provider(endpoint, Inspector())
    run = start_run(Side(provider, "slow"), Side(provider, "slow"), PARIS, Knobs())
    arrivals = interleave([run.base, run.instruct])
    assert next(arrivals)[0] == 1  # the chat answer started (the base pane got a 404)
    account = RecordingAccount()
    settlers = [threading.Thread(target=run.settle, args=(account,)) for _ in range(2)]
    for settler in settlers:
        settler.start()
    for settler in settlers:
        settler.join(10)
    arrivals.close()
    assert run.settled and run.instruct.done
    assert str(run.instruct.error).startswith("Stopped.")
    assert account.records == ["slow"]  # the refused base request is not counted,
    assert len(account.released) == 1  # it gives back what it held, once
