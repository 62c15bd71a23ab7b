"""One token as the lab shows it: its id, the text it stands for, whether it is special."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TokenPiece:
    id: int
    text: str  # the characters this token covers; "" when it holds only part of a character
    special: bool = False  # a control token (<|im_start|>, [INST], <start_of_turn> …), never typed
    partial_bytes: bytes = b""  # the bytes of a token that ends or starts inside a character

    @property
    def is_fragment(self) -> bool:
        """Part of a character whose other part another token carries."""
        return not self.text


def pieces_from_bytes(ids: list[int], token_bytes: list[bytes],
                      special_ids: frozenset[int] = frozenset()) -> tuple[TokenPiece, ...]:
    """Pieces from each token's bytes (tiktoken, llama.cpp). A character split over several
    tokens (an emoji is often 2-3) is shown whole on the token that completes it; the tokens
    before it carry their bytes only, so no piece shows a broken character."""
    pieces: list[TokenPiece] = []
    pending = b""
    for token_id, data in zip(ids, token_bytes, strict=True):
        pending += data
        try:
            text = pending.decode("utf-8")
        except UnicodeDecodeError:
            if len(pending) < len(data) + 4:  # still inside one multi-byte character
                pieces.append(TokenPiece(token_id, "", token_id in special_ids, data))
                continue
            text = pending.decode("utf-8", errors="replace")  # not UTF-8 at all: say so
        pieces.append(TokenPiece(token_id, text, token_id in special_ids))
        pending = b""
    return tuple(pieces)
