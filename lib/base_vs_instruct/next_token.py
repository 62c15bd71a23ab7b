"""The next-token view: which tokens a model considered at one step, and how the knobs
reshape them before one is drawn.

The engine reports each generated token with the likeliest candidates and their
log-probabilities over the whole vocabulary (OpenAI's ``top_logprobs``; llama.cpp computes
them from the raw logits). From those we compute what the sampler really draws from, in
llama.cpp's order: top_k, then top_p on what is left, then temperature. The tests check this
against the engine's own post-sampling probabilities and its greedy choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    token: str
    probability: float  # over the whole vocabulary, as the model computed it


@dataclass(frozen=True)
class Step:
    """One generated token and the candidates it was drawn from."""

    chosen: str
    probability: float
    candidates: tuple[Candidate, ...]  # likeliest first

    @property
    def known_mass(self) -> float:
        """How much of the probability the listed candidates hold (at most 1)."""
        return sum(c.probability for c in self.candidates)


def step_from_logprob(entry: dict) -> Step:
    """A Step from one OpenAI-style logprobs entry: {token, logprob, top_logprobs: [...]}."""
    candidates = sorted(
        (Candidate(c["token"], math.exp(c["logprob"])) for c in entry.get("top_logprobs") or ()),
        key=lambda c: -c.probability)
    return Step(entry["token"], math.exp(entry["logprob"]), tuple(candidates))


@dataclass(frozen=True)
class Reshaped:
    token: str
    model_probability: float
    sampling_probability: float  # 0 for a token the knobs cut


@dataclass(frozen=True)
class ReshapedStep:
    rows: tuple[Reshaped, ...]
    exact: bool  # False when the cut reaches past the candidates we were told about
    note: str


def reshape(step: Step, temperature: float, top_k: int, top_p: float,
            do_sample: bool = True) -> ReshapedStep:
    """The distribution the sampler draws from at this step.

    Greedy (do_sample off, or temperature 0) puts everything on the likeliest token."""
    candidates = list(step.candidates)
    if not candidates:
        return ReshapedStep((), False, "The provider sent no candidate tokens for this step.")
    if not do_sample or temperature <= 0:
        rows = tuple(Reshaped(c.token, c.probability, 1.0 if i == 0 else 0.0)
                     for i, c in enumerate(candidates))
        return ReshapedStep(rows, True, "Greedy: the likeliest token is taken every time.")
    exact = top_k <= len(candidates)
    kept = candidates[:top_k]
    # top_k keeps k tokens; top_p then works on their probabilities, renormalised.
    total = sum(c.probability for c in kept)
    nucleus, running = [], 0.0
    for c in kept:
        nucleus.append(c)
        running += c.probability / total
        if running >= top_p:
            break
    else:
        # Every listed token was needed: the nucleus may go on past them (unknown tokens).
        exact = exact and len(kept) == top_k
    weights = [c.probability ** (1.0 / temperature) for c in nucleus]
    norm = sum(weights)
    sampled = {c.token: w / norm for c, w in zip(nucleus, weights)}
    rows = tuple(Reshaped(c.token, c.probability, sampled.get(c.token, 0.0)) for c in candidates)
    if exact:
        note = (f"top_k={top_k} kept {len(kept)}, top_p={top_p:g} kept {len(nucleus)}, "
                f"temperature={temperature:g} reshaped them.")
    else:
        note = (f"Only the {len(candidates)} likeliest tokens are known: with top_k={top_k} the "
                "sampler also sees tokens not listed, so these figures are approximate.")
    return ReshapedStep(rows, exact, note)


def shown_token(token: str) -> str:
    """A token with its whitespace made visible (a leading space is part of most tokens)."""
    return token.replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"
