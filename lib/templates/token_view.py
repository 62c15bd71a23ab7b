"""The token viewer's sources: OpenAI's tiktoken encodings (offline) and the shipped models'
own tokenizers (the engine's /tokenize), plus the lecture's napkin maths checked on the text."""

from __future__ import annotations

from dataclasses import dataclass

from lib.cost.tokens import ENCODINGS, NAPKIN_TOKENS, NAPKIN_WORDS, load_encoding, napkin_tokens, word_count
from lib.models.engine import running_server
from lib.models.shipped import SHIPPED_MODELS
from lib.templates.engine_templates import engine_pieces
from lib.templates.families import FAMILIES
from lib.templates.pieces import TokenPiece, pieces_from_bytes
from lib.templates.rendering import hf_pieces
from lib.templates.vendored_tokenizers import tokenizer_in_use


@dataclass(frozen=True)
class TokenizerChoice:
    key: str  # "tiktoken:o200k_base", "engine:SmolLM2-135M-Instruct", "family:gemma"
    label: str
    used_by: str
    shown_first: bool = True  # False: offered, but not shown (nor loaded) until picked


def tokenizer_choices() -> list[TokenizerChoice]:
    """Every tokenizer the viewer offers: tiktoken's two, each shipped model's own, then the
    template families' (they cost memory: 60-310 MB each, once per process).

    A shipped model's tokenizer is the model's engine: shown first only for the instruct
    (built-in chat) model or an engine already running. Showing the base model's by default
    would assemble its 253 MB GGUF and start a second engine just for opening the page."""
    choices = [TokenizerChoice(f"tiktoken:{e.name}", f"tiktoken {e.name}", e.used_by)
               for e in ENCODINGS.values()]
    choices += [TokenizerChoice(f"engine:{m.id}", m.label, f"{m.family}, via llama.cpp's /tokenize",
                                shown_first=m.tuning == "instruct"
                                or running_server(m.id) is not None)
                for m in SHIPPED_MODELS.values()]
    choices += [TokenizerChoice(f"family:{f.id}", f"{f.tokenizer_of}",
                                f"{f.label} family, its real tokenizer.json", shown_first=False)
                for f in FAMILIES.values()]
    return choices


def tokenize_for_view(key: str, text: str) -> tuple[TokenPiece, ...]:
    """`text` as the chosen tokenizer cuts it. Raises EngineUnavailable for an engine that
    can't be reached, KeyError for an unknown choice."""
    kind, _, name = key.partition(":")
    if kind == "tiktoken":
        return tiktoken_pieces(text, name)
    if kind == "engine" and name in SHIPPED_MODELS:
        return engine_pieces(name, text)
    if kind == "family" and name in FAMILIES:
        with tokenizer_in_use(name) as tokenizer:
            return hf_pieces(tokenizer, text)
    raise KeyError(key)


def tiktoken_pieces(text: str, encoding: str) -> tuple[TokenPiece, ...]:
    """User text as OpenAI counts it: special-token strings typed in it are plain text."""
    enc = load_encoding(encoding)
    ids = enc.encode(text, disallowed_special=())
    return pieces_from_bytes(ids, [enc.decode_single_token_bytes(i) for i in ids])


@dataclass(frozen=True)
class NapkinCheck:
    """The lecture's '100 tokens ≈ 75 words' set beside the real count for one text."""

    words: int
    tokens: int

    @property
    def napkin_tokens(self) -> int:
        return napkin_tokens(self.words)

    @property
    def words_per_100_tokens(self) -> float | None:
        return None if self.tokens == 0 else 100 * self.words / self.tokens

    @property
    def error_percent(self) -> float | None:
        """How far the napkin estimate is from the real count, in percent of the real count."""
        return None if self.tokens == 0 else 100 * (self.napkin_tokens - self.tokens) / self.tokens


def napkin_check(text: str, tokens: int) -> NapkinCheck:
    return NapkinCheck(word_count(text), tokens)


NAPKIN_RULE = f"{NAPKIN_TOKENS} tokens ≈ {NAPKIN_WORDS} English words"
