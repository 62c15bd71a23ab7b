"""The lecture's generation knobs, as one pydantic model: validation, sliders and docs.

They are the arguments of transformers' ``generate`` that the lecture uses
(``max_new_tokens``, ``temperature``, ``do_sample``, ``top_k``, ``top_p``) plus a seed, so a
class demo can be repeated token for token.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# How many candidate tokens each generated token comes with (the next-token view). OpenAI's
# chat API allows at most 20; the reshaped view is exact while top_k is at most this.
TOP_CANDIDATES = 20


class Knobs(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_new_tokens: int = Field(
        75, ge=1, le=512,
        description="The longest continuation, in tokens (the lecture uses 50 and 75).")
    do_sample: bool = Field(
        True, description="Off: always take the likeliest token (greedy), whatever the "
                          "temperature says. transformers' do_sample.")
    temperature: float = Field(
        0.7, ge=0.0, le=2.0,
        description="Below 1 sharpens the distribution, above 1 flattens it; 0 is greedy.")
    top_k: int = Field(
        20, ge=1, le=200, description="Consider only the k likeliest tokens.")
    top_p: float = Field(
        0.95, ge=0.0, le=1.0,
        description="Nucleus: keep the likeliest tokens until their probabilities add up to p.")
    seed: int | None = Field(
        42, ge=0, le=2**31 - 1,
        description="Same seed, same settings, same prompt: the same text again.")

    @property
    def effective_temperature(self) -> float:
        return self.temperature if self.do_sample else 0.0

    def request_fields(self, local_engine: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """(standard fields, extra fields) for a completions or chat request.

        On the built-in llama.cpp engine min_p is turned off (its default 0.05 would cut
        tokens that no knob on this page mentions), so what the page shows is what samples."""
        standard: dict[str, Any] = {
            "max_tokens": self.max_new_tokens,
            "temperature": self.effective_temperature,
            "top_p": self.top_p,
        }
        if self.seed is not None:
            standard["seed"] = self.seed
        extra: dict[str, Any] = {"top_k": self.top_k}
        if local_engine:
            extra["min_p"] = 0.0
        return standard, extra
