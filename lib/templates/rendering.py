"""A conversation rendered by a template family's real chat template, and its tokens.

Rendered exactly as transformers does it: `apply_chat_template(messages, tokenize=False,
add_generation_prompt=…)` on the family's own tokenizer, then tokenized the way
`apply_chat_template(tokenize=True)` does (no extra special tokens: the template wrote them).
A template that refuses a conversation (Gemma and Mistral reject a misplaced system message
or roles out of turn) raises a Jinja error; it comes back as a readable message instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.templates.families import FAMILIES
from lib.templates.pieces import TokenPiece
from lib.templates.vendored_tokenizers import VendoredFileError, tokenizer_in_use


@dataclass(frozen=True)
class RenderedPrompt:
    """What one template made of the conversation: the text the model reads and its tokens,
    or why there is none."""

    source: str  # "ChatML (Qwen2.5 tokenizer)", "SmolLM2-135M-Instruct (engine)"
    text: str = ""
    tokens: tuple[TokenPiece, ...] = ()
    error: str = ""

    @property
    def token_count(self) -> int:
        return len(self.tokens)

    @property
    def special_count(self) -> int:
        return sum(token.special for token in self.tokens)


def render_with_family(family_id: str, messages: list[dict[str, str]],
                       add_generation_prompt: bool = True) -> RenderedPrompt:
    """`messages` through the family's real chat template, as transformers renders them."""
    family = FAMILIES[family_id]
    source = f"{family.label} ({family.tokenizer_of} tokenizer)"
    from jinja2 import TemplateError  # transformers renders with jinja2

    try:
        with tokenizer_in_use(family_id) as tokenizer:
            try:
                text = tokenizer.apply_chat_template(messages, tokenize=False,
                                                     add_generation_prompt=add_generation_prompt)
            except TemplateError as exc:
                return RenderedPrompt(source, error=f"The {family.label} template refuses this "
                                                    f"conversation: {exc}")
            except ValueError as exc:  # transformers' own checks, e.g. an empty conversation
                return RenderedPrompt(source, error=f"transformers can't render this "
                                                    f"conversation: {exc}")
            return RenderedPrompt(source, text, hf_pieces(tokenizer, text))
    except VendoredFileError as exc:
        return RenderedPrompt(source, error=str(exc))


def hf_pieces(tokenizer, text: str) -> tuple[TokenPiece, ...]:
    """`text` tokenized as apply_chat_template(tokenize=True) does, cut at the token offsets.

    A byte-level tokenizer may split one character over two tokens that both report the
    whole character's offsets: the later ones are shown as fragments, so the pieces still
    join back to `text`.
    """
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    special_ids = special_token_ids(tokenizer)
    pieces: list[TokenPiece] = []
    covered = 0
    for token_id, (start, end) in zip(encoding["input_ids"], encoding["offset_mapping"], strict=True):
        # text[covered:end]: "" for a token inside a character an earlier token already showed
        pieces.append(TokenPiece(token_id, text[covered:end], token_id in special_ids))
        covered = max(covered, end)
    return tuple(pieces)


def special_token_ids(tokenizer) -> frozenset[int]:
    """Ids of the tokenizer's control tokens: its special tokens and its added tokens marked
    special (the chat markers of every family here are)."""
    ids = set(tokenizer.all_special_ids)
    ids.update(i for i, added in tokenizer.added_tokens_decoder.items() if added.special)
    return frozenset(ids)


def family_chat_template(family_id: str) -> str:
    """The family's Jinja chat template, as its tokenizer_config.json carries it."""
    with tokenizer_in_use(family_id) as tokenizer:
        return tokenizer.chat_template or ""
