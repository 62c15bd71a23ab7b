"""The next-token view against the real engine: the candidates are the model's own
probabilities (they sum to at most 1), greedy picks the likeliest, and the distribution we
compute for the knobs is the one llama.cpp samples from."""

from __future__ import annotations

import math

import pytest

from lib.base_vs_instruct.knobs import TOP_CANDIDATES, Knobs
from lib.base_vs_instruct.next_token import Candidate, Step, reshape, step_from_logprob
from lib.models.engine import local_server
from lib.models.shipped import GEMMA3_BASE, SMOLLM2

PROMPTS = {GEMMA3_BASE.id: "Mary had a little",
           SMOLLM2.id: "What should I do on my upcoming trip to Paris?"}
MODELS = [GEMMA3_BASE.id, SMOLLM2.id]


def completion(model: str, **fields) -> dict:
    body = {"model": model, "prompt": PROMPTS[model], "logprobs": TOP_CANDIDATES, **fields}
    return local_server(model).post("/v1/completions", body, timeout_s=120)


def steps_of(response: dict) -> list[Step]:
    return [step_from_logprob(e) for e in response["choices"][0]["logprobs"]["content"]]


# --- the arithmetic, on numbers we can check by hand ------------------------------------------

STEP = Step(" lamb", 0.5, (Candidate(" lamb", 0.5), Candidate(" dog", 0.3),
                           Candidate(" cat", 0.1), Candidate(" cow", 0.05)))


def test_greedy_puts_everything_on_the_likeliest_token():
    for shaped in (reshape(STEP, 0.0, 40, 1.0), reshape(STEP, 0.9, 40, 1.0, do_sample=False)):
        assert [r.sampling_probability for r in shaped.rows] == [1.0, 0.0, 0.0, 0.0]
        assert shaped.exact


def test_top_k_then_top_p_then_temperature():
    shaped = reshape(STEP, 1.0, 3, 0.8)  # top 3: .5/.9, .3/.9 reach 0.889 >= 0.8: two kept
    assert [round(r.sampling_probability, 4) for r in shaped.rows] == [0.625, 0.375, 0.0, 0.0]
    hot = reshape(STEP, 2.0, 3, 0.8)  # temperature 2 flattens the two kept
    expected = math.sqrt(0.5) / (math.sqrt(0.5) + math.sqrt(0.3))
    assert hot.rows[0].sampling_probability == pytest.approx(expected)
    assert hot.exact


def test_a_cut_past_the_listed_tokens_is_marked_approximate():
    shaped = reshape(STEP, 1.0, 40, 1.0)  # top_k 40 but only 4 tokens known
    assert not shaped.exact and "approximate" in shaped.note
    assert sum(r.sampling_probability for r in shaped.rows) == pytest.approx(1.0)


# --- against the engine -----------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_candidate_probabilities_sum_to_at_most_one(model):
    steps = steps_of(completion(model, max_tokens=8, temperature=0.8, seed=3))
    assert 1 <= len(steps) <= 8  # it may end early (end of text: an empty token)
    for step in steps:
        assert len(step.candidates) == TOP_CANDIDATES
        assert 0 < step.known_mass <= 1 + 1e-6
        probabilities = [c.probability for c in step.candidates]
        assert probabilities == sorted(probabilities, reverse=True)


@pytest.mark.parametrize("model", MODELS)
def test_at_temperature_zero_the_engine_takes_the_likeliest_candidate(model):
    steps = steps_of(completion(model, max_tokens=12, temperature=0))
    for step in steps:
        assert step.chosen == step.candidates[0].token
        shaped = reshape(step, 0.0, Knobs().top_k, Knobs().top_p)
        assert shaped.rows[0].sampling_probability == 1.0
        assert shaped.rows[0].token == step.chosen


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("temperature, top_k, top_p", [(0.7, 10, 0.5), (1.3, 5, 0.95),
                                                       (0.5, 20, 0.9)])
def test_the_reshaped_distribution_is_the_one_the_engine_samples_from(model, temperature,
                                                                     top_k, top_p):
    knobs = {"max_tokens": 1, "top_k": top_k, "top_p": top_p, "min_p": 0.0, "seed": 1}
    before = steps_of(completion(model, temperature=1.0, **knobs))[0]  # the model's own
    after = completion(model, temperature=temperature, post_sampling_probs=True, **knobs)
    engine = {c["token"]: c["prob"]
              for c in after["choices"][0]["logprobs"]["content"][0]["top_probs"]}
    ours = {r.token: r.sampling_probability
            for r in reshape(before, temperature, top_k, top_p).rows if r.sampling_probability}
    assert ours.keys() == engine.keys()
    for token, probability in engine.items():
        assert ours[token] == pytest.approx(probability, abs=1e-4)
