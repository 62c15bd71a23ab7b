"""Sampling options: one pydantic model is the validation, the sliders and the docs."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SamplingOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    temperature: float = Field(
        0.7, ge=0.0, le=2.0,
        description="Randomness. 0 always picks the likeliest token; higher is more varied.",
    )
    top_p: float = Field(
        1.0, ge=0.0, le=1.0,
        description="Nucleus sampling: only the likeliest tokens whose probabilities add up to p.",
    )
    max_tokens: int = Field(
        256, ge=1, le=8192, description="The longest answer, in tokens, before it is cut off."
    )
    top_k: int | None = Field(
        None, ge=1, le=200,
        description="Only the k likeliest tokens (not in OpenAI's API; local servers take it).",
    )
    seed: int | None = Field(
        None, ge=0, le=2**31 - 1,
        description="Same seed and settings, same answer (where the provider supports it).",
    )
    stop: tuple[str, ...] = Field(
        (), max_length=4,
        description="Up to 4 strings that end the answer as soon as the model writes one.",
    )
    presence_penalty: float = Field(
        0.0, ge=-2.0, le=2.0,
        description="Above 0: any token already used is less likely again (new topics).",
    )
    frequency_penalty: float = Field(
        0.0, ge=-2.0, le=2.0,
        description="Above 0: the more often a token was used, the less likely it is again.",
    )

    def request_fields(self, reasoning: bool = False) -> dict[str, Any]:
        """The Chat Completions fields, standard ones only. For a reasoning model
        (``reasoning_model``) the length limit is ``max_completion_tokens`` (it counts the
        hidden reasoning too; OpenAI refuses ``max_tokens`` there) and the sampling knobs are
        left out (only their defaults are accepted)."""
        if reasoning:
            fields: dict[str, Any] = {"max_completion_tokens": self.max_tokens}
        else:
            fields = {"temperature": self.temperature, "top_p": self.top_p,
                      "max_tokens": self.max_tokens}
        if self.seed is not None:
            fields["seed"] = self.seed
        if self.stop:
            fields["stop"] = list(self.stop)
        for name in () if reasoning else ("presence_penalty", "frequency_penalty"):
            if getattr(self, name):  # sent only when set: 0 is every API's default
                fields[name] = getattr(self, name)
        return fields

    def extra_fields(self) -> dict[str, Any]:
        """Non-standard fields, sent in the body as extras."""
        return {"top_k": self.top_k} if self.top_k is not None else {}


def field_bounds(model: type[BaseModel], field: str) -> tuple[float, float]:
    """A pydantic field's (ge, le) bounds, so sliders and validation share one source."""
    low = high = None
    for rule in model.model_fields[field].metadata:
        low = getattr(rule, "ge", low)
        high = getattr(rule, "le", high)
    return low, high


def bounds(field: str) -> tuple[float, float]:
    """A SamplingOptions field's (ge, le) bounds."""
    return field_bounds(SamplingOptions, field)


# OpenAI's reasoning models (o1, o3, o4-mini, GPT-5 …): they take max_completion_tokens and
# none of the sampling knobs. OpenRouter takes max_tokens for every model and translates.
REASONING_MODEL = re.compile(r"^(?:openai/)?(?:o[1-9](?:-|$)|gpt-5)", re.IGNORECASE)
TRANSLATES_FIELDS = frozenset({"openrouter"})


def reasoning_model(endpoint_id: str, model: str) -> bool:
    """Whether requests for ``model`` on this endpoint take the reasoning models' fields."""
    return endpoint_id not in TRANSLATES_FIELDS and bool(REASONING_MODEL.match(model or ""))


def chat_request_body(
    model: str, messages: list[dict[str, str]], options: SamplingOptions,
    stream: bool = False, include_usage: bool = False, reasoning: bool = False,
) -> dict[str, Any]:
    """The JSON body of a Chat Completions request, as it goes over the wire."""
    body: dict[str, Any] = {"model": model, "messages": messages,
                            **options.request_fields(reasoning)}
    body.update(options.extra_fields())
    if stream:
        body["stream"] = True
        if include_usage:
            body["stream_options"] = {"include_usage": True}
    return body
