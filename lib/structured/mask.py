"""Watch the mask: a constrained generation on the built-in model, one token at a time.

At each step the engine gives the model's own top candidates for the next token
(llama.cpp's ``/completion`` with ``n_probs`` on the templated prompt plus the tokens so
far: unconstrained probabilities), a grammar library says which tokens keep the output
valid against the schema, and the most likely allowed candidate is picked (greedy).

Why not ask the engine for the allowed set: measured on llama.cpp, logprobs under a
json_schema report the unconstrained candidates (forbidden ones included), and post-sampling
probabilities at temperature 0 return only the picked token. So the allowed set comes from
llguidance over the model's own vocabulary. Chosen by measurement over outlines-core (both
prebuilt wheels, no torch): llguidance compiles a schema in ~1 ms and computes a mask in
0.2–18 ms (the first one of a process ~0.5 s); outlines-core compiles a regex index first
(0.3 s for Location, 3.5 s for the nested trip on this shared 2-core machine) and handles
less of JSON Schema. llguidance is held below 1.7: later wheels need glibc 2.31, and the
deploy set must install on manylinux_2_28.

The vocabulary comes from the engine itself: one ``/completion`` with ``n_probs`` equal to
the vocabulary size lists every token's id and bytes (0.7 s, once per engine). Control
tokens (``<|im_end|>`` …) have no bytes there; they are llguidance's special tokens.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from lib.models.engine import LocalServer
from lib.structured.modes import messages_for
from lib.structured.schemas import OutputSchema

TOP_K = 10  # candidates shown per step
WIDE_K = 1000  # looked at when none of the top ones is allowed
MAX_STEPS = 300


@dataclass(frozen=True)
class EngineVocabulary:
    pieces: tuple[bytes, ...]  # by token id; b"" for control tokens
    texts: tuple[str, ...]  # as the engine shows them ("<|im_end|>" for a control token)
    eos_id: int

    @property
    def special_ids(self) -> list[int]:
        return [i for i, piece in enumerate(self.pieces) if not piece]


def engine_vocabulary(server: LocalServer) -> EngineVocabulary:
    models = server.get("/v1/models")
    n_vocab = int(models["data"][0]["meta"]["n_vocab"])
    listing = server.post("/completion", {"prompt": [0], "n_predict": 1, "n_probs": n_vocab,
                                          "temperature": 1.0, "cache_prompt": False},
                          timeout_s=120)
    entries = listing["completion_probabilities"][0]["top_logprobs"]
    pieces, texts = [b""] * n_vocab, [""] * n_vocab
    for entry in entries:
        pieces[entry["id"]] = bytes(entry["bytes"])
        texts[entry["id"]] = entry["token"]
    eos_text = server.get("/props")["eos_token"]
    [eos_id] = server.post("/tokenize", {"content": eos_text, "add_special": False,
                                         "parse_special": True})["tokens"]
    for token_id, piece in enumerate(pieces):  # control tokens come without text or bytes
        if not piece and not texts[token_id]:
            texts[token_id] = eos_text if token_id == eos_id else f"<control token {token_id}>"
    return EngineVocabulary(tuple(pieces), tuple(texts), eos_id)


class _EngineTokenizer:
    """What llguidance.TokenizerWrapper reads: token bytes, EOS/BOS, special ids, encode."""

    def __init__(self, server: LocalServer, vocabulary: EngineVocabulary) -> None:
        self.tokens = list(vocabulary.pieces)
        self.eos_token_id = vocabulary.eos_id
        self.bos_token_id = None
        self.special_token_ids = vocabulary.special_ids
        self._server = server

    def __call__(self, text: str) -> list[int]:  # used by llguidance only to tokenize text
        return self._server.post("/tokenize", {"content": text, "add_special": False})["tokens"]


# Keyed by the engine's address: a restarted engine gets a new port, so old entries are
# dropped beyond the last few (each holds a whole vocabulary).
_grammar_tokenizers: OrderedDict[str, tuple[Any, EngineVocabulary]] = OrderedDict()
GRAMMAR_TOKENIZERS_KEPT = 2
_lock = threading.Lock()


def grammar_tokenizer(server: LocalServer) -> tuple[Any, EngineVocabulary]:
    """llguidance's tokenizer for the engine's model (about a second, once per engine:
    shared by every session, read-only once built)."""
    with _lock:
        cached = _grammar_tokenizers.get(server.base_url)
        if cached is None:
            import llguidance

            vocabulary = engine_vocabulary(server)
            wrapper = llguidance.TokenizerWrapper(_EngineTokenizer(server, vocabulary))
            cached = _grammar_tokenizers[server.base_url] = (
                llguidance.LLTokenizer(wrapper), vocabulary)
            while len(_grammar_tokenizers) > GRAMMAR_TOKENIZERS_KEPT:
                _grammar_tokenizers.popitem(last=False)
        _grammar_tokenizers.move_to_end(server.base_url)
        return cached


@dataclass(frozen=True)
class Candidate:
    id: int
    text: str
    probability: float  # the model's own, before the mask
    allowed: bool


@dataclass(frozen=True)
class Step:
    number: int
    candidates: tuple[Candidate, ...]  # the model's top ones, most likely first
    picked: Candidate
    allowed_count: int  # tokens of the whole vocabulary the grammar allows here
    vocabulary_size: int
    note: str | None = None  # when the pick is not among the top candidates


class StepperBusy(RuntimeError):
    """Another script run is stepping this generation right now."""


@dataclass
class MaskStepper:
    """One constrained generation, advanced by ``step()``."""

    server: LocalServer
    schema: OutputSchema
    question: str
    steps: list[Step] = field(default_factory=list)
    generated: list[int] = field(default_factory=list)
    error: str | None = None
    # Two script runs of one session may step at once (a click while "To the end" runs):
    # the grammar matcher must not be used by both (llguidance: "Already borrowed").
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        import llguidance

        self._tokenizer, self._vocabulary = grammar_tokenizer(self.server)
        grammar = llguidance.LLMatcher.grammar_from_json_schema(
            json.dumps(self.schema.json_schema))
        self._matcher = llguidance.LLMatcher(self._tokenizer, grammar)
        if self._matcher.is_error():
            raise ValueError(f"The grammar library cannot use this schema: "
                             f"{self._matcher.get_error()}")
        self._stopped = False
        self._accepting = False  # the text so far is a whole document the grammar accepts
        prompt = self.server.post("/apply-template", {
            "messages": messages_for(self.schema, self.question)})["prompt"]
        self._prompt_ids = self.server.post("/tokenize", {
            "content": prompt, "add_special": False, "parse_special": True})["tokens"]

    @property
    def done(self) -> bool:
        return (self.error is not None or self._stopped
                or (bool(self.generated) and self.generated[-1] == self._vocabulary.eos_id)
                or len(self.steps) >= MAX_STEPS)

    @property
    def cut_short(self) -> bool:
        """Stopped by the step limit, not by the grammar or the model: the JSON is unfinished."""
        return (len(self.steps) >= MAX_STEPS and self.error is None and not self._stopped
                and not self._accepting and self.generated[-1] != self._vocabulary.eos_id)

    @property
    def text(self) -> str:
        return b"".join(self._vocabulary.pieces[i] for i in self.generated).decode(
            "utf-8", "replace")

    def _top(self, k: int) -> list[tuple[int, str, float]]:
        answer = self.server.post("/completion", {
            "prompt": self._prompt_ids + self.generated, "n_predict": 1, "n_probs": k,
            "temperature": 1.0, "cache_prompt": True}, timeout_s=60)
        return [(c["id"], c["token"], math.exp(c["logprob"]))
                for c in answer["completion_probabilities"][0]["top_logprobs"]]

    def step(self) -> Step | None:
        """One token more; None when done. Raises StepperBusy if another thread is
        stepping (never waits: that run is still drawing its own steps)."""
        if not self.lock.acquire(blocking=False):
            raise StepperBusy("This generation is still stepping in an earlier run.")
        try:
            return self._step()
        finally:
            self.lock.release()

    def _step(self) -> Step | None:
        if self.done:
            return None
        allowed = self._allowed()
        top = self._top(TOP_K)
        candidates = tuple(Candidate(i, text, p, i in allowed) for i, text, p in top)
        picked, note = next((c for c in candidates if c.allowed), None), None
        if picked is None:
            ranked = self._top(WIDE_K)
            wide = [(rank, c) for rank, c in enumerate(ranked, 1) if c[0] in allowed]
            if wide:
                rank, (i, text, p) = wide[0]
                picked = Candidate(i, text, p, True)
                note = (f"None of the top {TOP_K} is allowed: the most likely allowed token "
                        f"is the model's choice number {rank}.")
            else:
                i = min(allowed)
                picked = Candidate(i, self._vocabulary.texts[i], 0.0, True)
                note = (f"None of the model's top {WIDE_K} candidates is allowed; the grammar "
                        f"leaves {len(allowed)} token(s), and this is one of them.")
        if not self._matcher.consume_token(picked.id):
            self.error = self._matcher.get_error()
        # Read here, under the lock: `done` and `cut_short` are asked by other runs while one steps.
        self._stopped = self._matcher.is_stopped()
        self._accepting = self._matcher.is_accepting()
        self.generated.append(picked.id)
        step = Step(len(self.steps) + 1, candidates, picked, len(allowed),
                    len(self._vocabulary.pieces), note)
        self.steps.append(step)
        return step

    def _allowed(self) -> set[int]:
        import numpy as np

        bits = np.unpackbits(np.frombuffer(self._matcher.compute_bitmask(), dtype=np.uint8),
                             bitorder="little")[: len(self._vocabulary.pieces)]
        return set(np.flatnonzero(bits).tolist())
