"""The three ways to ask a model for JSON, each one request through the openai SDK.

- prompt only: the instruction in the system prompt, nothing else
- JSON mode: ``response_format={"type": "json_object"}`` (Nov 2023): valid JSON, any shape
- Structured Outputs: ``response_format={"type": "json_schema", "json_schema": {...,
  "strict": true}}`` (Aug 2024), sent by ``client.chat.completions.parse`` with the
  pydantic model; the server constrains decoding to the schema

All three send the same messages (the schema is described in the system prompt for every
mode), so what differs between them is ``response_format`` alone.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from enum import Enum
from decimal import Decimal
from typing import Any, Protocol

import httpx
import openai
import pydantic
from openai.types.chat import ChatCompletion

from lib.chat.errors import ProviderError, describe_error
from lib.inspector import Redactor
from lib.structured.schemas import Check, OutputSchema


class Mode(str, Enum):
    PROMPT = "prompt"
    JSON_MODE = "json_object"
    SCHEMA = "json_schema"

    @property
    def label(self) -> str:
        return {"prompt": "Prompt only", "json_object": "JSON mode",
                "json_schema": "Structured Outputs"}[self.value]


MODES = (Mode.PROMPT, Mode.JSON_MODE, Mode.SCHEMA)

SYSTEM_PROMPT = ("Return the result in JSON only, no other text. The JSON must match this "
                 "JSON Schema: {schema}")

LENGTH_NOTE = (
    "The answer stopped at max_tokens ({max_tokens}) before the JSON was complete: a bigger "
    "schema needs more tokens. Raise max_tokens, or ask for a smaller schema (fewer fields, "
    "shorter lists)."
)
CONSTRAINED_LENGTH_NOTE = (
    " Constrained decoding keeps every token valid *so far*; it cannot make the object "
    "close before the token budget runs out."
)


@dataclass(frozen=True)
class Ask:
    """The question and the knobs every mode uses."""

    question: str
    max_tokens: int = 256
    temperature: float = 0.7
    seed: int | None = None
    reasoning: bool = False  # a reasoning model's fields (lib.chat.sampling.reasoning_model)


@dataclass
class ModeResult:
    mode: Mode
    sent_as: Mode  # differs from mode after a fallback to JSON mode
    text: str | None = None
    check: Check | None = None
    refusal: str | None = None
    finish_reason: str | None = None
    error: ProviderError | None = None
    notes: list[str] = field(default_factory=list)
    request_body: dict[str, Any] | None = None  # exactly what went over the wire
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    engine_ms_per_token: float | None = None  # llama.cpp's own decode time, when it reports it
    refused: str | None = None  # not sent: the deployment's caps said no (the reason)
    billable: bool = False  # the provider answered, or the request was sent and timed out
    cost_usd: Decimal | None = None  # set by the meter; None when no price is known
    usage_is_estimate: bool = False  # the provider gave no usage: tokens were counted here

    @property
    def valid_json(self) -> bool:
        return bool(self.check and self.check.valid_json)

    @property
    def schema_valid(self) -> bool:
        return bool(self.check and self.check.schema_valid)

    @property
    def ms_per_token(self) -> float | None:
        """Wall time per generated token (prompt reading included)."""
        if self.latency_s is None or not self.completion_tokens:
            return None
        return 1000 * self.latency_s / self.completion_tokens


def messages_for(schema: OutputSchema, question: str) -> list[dict[str, str]]:
    compact = json.dumps(schema.json_schema, separators=(",", ":"))
    return [{"role": "system", "content": SYSTEM_PROMPT.format(schema=compact)},
            {"role": "user", "content": question}]


def response_format(mode: Mode, schema: OutputSchema) -> dict[str, Any] | None:
    """The response_format a mode sends as a plain dict (what ``parse`` builds from the
    pydantic model is the same shape)."""
    if mode is Mode.JSON_MODE:
        return {"type": "json_object"}
    if mode is Mode.SCHEMA:
        return {"type": "json_schema", "json_schema": {
            "name": schema.name, "schema": schema.json_schema, "strict": True}}
    return None


def _sent_body(request: httpx.Request | None) -> dict[str, Any] | None:
    try:
        return json.loads(request.content) if request is not None else None
    except (ValueError, httpx.RequestNotRead):
        return None


def _engine_ms_per_token(completion: Any) -> float | None:
    timings = (getattr(completion, "model_extra", None) or {}).get("timings")
    if isinstance(timings, dict) and timings.get("predicted_per_token_ms"):
        return float(timings["predicted_per_token_ms"])
    return None


def looks_unsupported(error: ProviderError) -> bool:
    """A 400-class refusal of a json_schema request: the model or server does not take it."""
    return error.status in (400, 415, 422, 501)  # not 404: that is a wrong model or URL


class Meter(Protocol):
    """Admits every request before it is sent and settles it after (see metering)."""

    def admit(self) -> str | None: ...

    def settle(self, result: ModeResult) -> None: ...


def run_mode(client: openai.OpenAI, model: str, mode: Mode, schema: OutputSchema, ask: Ask,
             where: str = "the provider", redact: Redactor | None = None,
             schema_supported: bool | None = None, meter: Meter | None = None) -> ModeResult:
    """Send ``mode``'s request and judge the answer against ``schema``.

    ``schema_supported=False`` (the provider said so) sends JSON mode instead of
    Structured Outputs; a 400 to a json_schema request does the same after the fact: a
    second request, admitted and settled by ``meter`` like the first."""
    send = (client, model, schema, ask, where, redact, meter)
    if mode is Mode.SCHEMA and schema_supported is False:
        result = _metered(Mode.JSON_MODE, *send)
        result.mode = Mode.SCHEMA
        result.notes.insert(0, f"{model} does not list Structured Outputs among its supported "
                               "parameters, so this was sent in JSON mode instead: valid JSON "
                               "is guaranteed, the schema is not.")
        return result
    result = _metered(mode, *send)
    if mode is Mode.SCHEMA and result.error is not None and looks_unsupported(result.error):
        fallback = _metered(Mode.JSON_MODE, *send)
        fallback.mode = Mode.SCHEMA
        fallback.notes.insert(0, (
            f"The json_schema request was refused ({result.error}). Either this model "
            "or server does not support Structured Outputs, or the schema breaks strict "
            "mode's rules (every property required, additionalProperties false)."
            + (f" It was not sent again in JSON mode: {fallback.refused}"
               if fallback.refused else
               " It was sent again in JSON mode: valid JSON is guaranteed there, the "
               "schema is not.")))
        return fallback
    return result


def _metered(mode: Mode, client: openai.OpenAI, model: str, schema: OutputSchema, ask: Ask,
             where: str, redact: Redactor | None, meter: Meter | None) -> ModeResult:
    if meter is not None:
        why_not = meter.admit()
        if why_not:
            return ModeResult(mode, mode, refused=why_not)
    result = _send(client, model, mode, schema, ask, where, redact)
    if meter is not None:
        meter.settle(result)
    return result


def _send(client: openai.OpenAI, model: str, mode: Mode, schema: OutputSchema, ask: Ask,
          where: str, redact: Redactor | None) -> ModeResult:
    """One request, never raising: a provider fault becomes ``result.error``."""
    result = ModeResult(mode, mode)
    # A reasoning model takes max_completion_tokens and no temperature (lib/chat/sampling.py).
    limits = ({"max_completion_tokens": ask.max_tokens} if ask.reasoning
              else {"max_tokens": ask.max_tokens, "temperature": ask.temperature})
    kwargs: dict[str, Any] = {"model": model, "messages": messages_for(schema, ask.question),
                              **limits}
    if ask.seed is not None:
        kwargs["seed"] = ask.seed
    started = time.perf_counter()
    try:
        if mode is Mode.SCHEMA and schema.model is not None:
            raw = client.chat.completions.with_raw_response.parse(
                response_format=schema.model, **kwargs)
        else:
            fmt = response_format(mode, schema)
            raw = client.chat.completions.with_raw_response.create(
                **kwargs, **({"response_format": fmt} if fmt else {}))
        result.request_body = _sent_body(raw.http_request)
        result.billable = True  # a 2xx answer: the provider did the work
        try:
            completion = raw.parse()
        except pydantic.ValidationError:
            # parse() validates against the model and raises when the reply does not fit:
            # judge the plain reply instead, like the other modes
            completion = ChatCompletion.model_validate(raw.http_response.json())
            result.notes.append("The SDK's parse() rejected this reply: it does not match "
                                "the schema, so the server did not enforce it.")
    except openai.LengthFinishReasonError as exc:  # parse() refuses a cut-off answer
        result.billable = True
        result.latency_s = time.perf_counter() - started
        _read(result, exc.completion, schema)
        result.notes.append(LENGTH_NOTE.format(max_tokens=ask.max_tokens)
                            + CONSTRAINED_LENGTH_NOTE)
        return result
    except openai.ContentFilterFinishReasonError:
        result.billable = True
        result.latency_s = time.perf_counter() - started
        result.refusal = "The provider's content filter stopped the answer."
        return result
    except Exception as exc:  # a provider fault: said in words, never raised into the page
        result.latency_s = time.perf_counter() - started
        result.request_body = result.request_body or _sent_body(getattr(exc, "request", None))
        result.error = describe_error(exc, where, redact)
        # Sent, then given up on while the provider worked on it: billed like a stopped
        # chat answer. A refusal (4xx, 5xx, nothing listening) is not.
        result.billable = isinstance(exc, openai.APITimeoutError)
        return result
    result.latency_s = time.perf_counter() - started
    _read(result, completion, schema)
    if result.finish_reason == "length" and not result.schema_valid:
        result.notes.append(LENGTH_NOTE.format(max_tokens=ask.max_tokens)
                            + (CONSTRAINED_LENGTH_NOTE if result.sent_as is Mode.SCHEMA else ""))
    return result


def _read(result: ModeResult, completion: Any, schema: OutputSchema) -> None:
    choice = completion.choices[0]
    message = choice.message
    result.finish_reason = choice.finish_reason
    result.refusal = getattr(message, "refusal", None)
    result.text = message.content
    if completion.usage is not None:
        result.completion_tokens = completion.usage.completion_tokens
        result.prompt_tokens = completion.usage.prompt_tokens
    result.engine_ms_per_token = _engine_ms_per_token(completion)
    if result.refusal is None:
        result.check = schema.check(message.content)
