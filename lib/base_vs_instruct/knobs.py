"""The lecture's generation knobs, as one pydantic model: validation, sliders and docs.

They are the arguments of transformers' ``generate`` that the lecture uses
(``max_new_tokens``, ``temperature``, ``do_sample``, ``top_k``, ``top_p``) plus a seed, so a
class demo can be repeated token for token.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Endpoints known to accept top_k in a request body (llama.cpp, vLLM, Ollama, LM Studio and
# OpenRouter read it). OpenAI answers an unknown argument with 400, and so may any other
# server, so everywhere else top_k is left out and the page says so.
TOP_K_ENDPOINTS = frozenset({"openrouter", "ollama", "lmstudio", "vllm", "llamacpp"})


def accepts_top_k(endpoint) -> bool:
    """Whether requests to this endpoint (an lib.config.Endpoint) may carry top_k."""
    return endpoint.kind == "builtin" or endpoint.id in TOP_K_ENDPOINTS


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

    def request_fields(self, local_engine: bool, send_top_k: bool = False
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(standard fields, extra fields) for a completions or chat request.

        top_k is not an OpenAI field: it is sent to the built-in engine, and elsewhere only
        when ``send_top_k`` says the endpoint accepts it (``accepts_top_k``).

        On the built-in llama.cpp engine min_p is turned off (its default 0.05 would cut
        tokens that no knob on this page mentions), so what the page shows is what samples."""
        standard: dict[str, Any] = {
            "max_tokens": self.max_new_tokens,
            "temperature": self.effective_temperature,
            "top_p": self.top_p,
        }
        if self.seed is not None:
            standard["seed"] = self.seed
        extra: dict[str, Any] = {"top_k": self.top_k} if local_engine or send_top_k else {}
        if local_engine:
            extra["min_p"] = 0.0
        return standard, extra
