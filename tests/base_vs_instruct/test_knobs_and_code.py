"""The knobs as they go over the wire, and the transformers code shown for a run."""

from __future__ import annotations

import ast

import pytest
from pydantic import ValidationError

from lib.base_vs_instruct.code import transformers_code
from lib.base_vs_instruct.knobs import Knobs, accepts_top_k
from lib.base_vs_instruct.pairs import OFFLINE_BASE
from lib.config import BUILTIN, resolve_endpoints


def test_sampling_off_is_greedy_whatever_the_temperature():
    standard, _ = Knobs(do_sample=False, temperature=1.5).request_fields(local_engine=True)
    assert standard["temperature"] == 0.0


def test_the_knobs_become_request_fields():
    standard, extra = Knobs(max_new_tokens=50, temperature=0.3, top_k=7, top_p=0.8,
                            seed=9).request_fields(local_engine=False)
    assert standard == {"max_tokens": 50, "temperature": 0.3, "top_p": 0.8, "seed": 9}
    assert extra == {}  # not an OpenAI field: OpenAI would answer 400
    _, extra = Knobs(top_k=7).request_fields(local_engine=False, send_top_k=True)
    assert extra == {"top_k": 7}  # sent as an extra where the server reads it
    _, extra = Knobs(top_k=7).request_fields(local_engine=True)
    assert extra == {"top_k": 7, "min_p": 0.0}


def test_top_k_goes_only_to_servers_known_to_read_it():
    endpoints = {e.id: e for e in resolve_endpoints({}, {})}
    assert accepts_top_k(BUILTIN) and accepts_top_k(OFFLINE_BASE)
    for known in ("openrouter", "ollama", "lmstudio", "vllm", "llamacpp"):
        assert accepts_top_k(endpoints[known]), known
    assert not accepts_top_k(endpoints["openai"])


def test_no_seed_sends_no_seed():
    standard, _ = Knobs(seed=None).request_fields(local_engine=True)
    assert "seed" not in standard


@pytest.mark.parametrize("bad", [{"max_new_tokens": 0}, {"temperature": -0.1}, {"top_p": 1.5},
                                 {"top_k": 0}])
def test_out_of_range_knobs_are_refused(bad):
    with pytest.raises(ValidationError):
        Knobs(**bad)


def test_the_code_is_python_with_this_runs_models_prompt_and_knobs():
    knobs = Knobs(max_new_tokens=50, temperature=0.4, top_k=12, top_p=0.9, seed=5)
    messages = [{"role": "user", "content": "Mary had a little"}]
    code = transformers_code("gemma-3-270m", "SmolLM2-135M-Instruct", "Mary had a little",
                             knobs, messages)
    ast.parse(code)
    for expected in ("AutoModelForCausalLM.from_pretrained('google/gemma-3-270m')",
                     "'HuggingFaceTB/SmolLM2-135M-Instruct'", "apply_chat_template(",
                     "base_model.generate(", "max_new_tokens=50", "temperature=0.4",
                     "top_k=12", "top_p=0.9", "torch.manual_seed(5)", "'Mary had a little'"):
        assert expected in code


def test_greedy_code_says_do_sample_false_and_a_hand_formatted_prompt_skips_the_template():
    code = transformers_code("Qwen/Qwen2.5-0.5B", "Qwen/Qwen2.5-0.5B-Instruct", "Hi",
                             Knobs(do_sample=False), [{"role": "user", "content": "Hi"}],
                             formatted="<start_of_turn>user\nHi<end_of_turn>\n")
    ast.parse(code)
    assert "do_sample=False" in code and "temperature=" not in code
    assert "apply_chat_template(" not in code
    assert "instruct_text = '<start_of_turn>user\\nHi<end_of_turn>\\n'" in code
    assert "from_pretrained('Qwen/Qwen2.5-0.5B')" in code
