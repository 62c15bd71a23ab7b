"""Provider failures turned into messages a student can act on."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import openai

from lib.inspector import Redactor


class PromptTooLong(ValueError):
    """The newest message alone does not fit the context window beside max_tokens."""


@dataclass(frozen=True)
class ProviderError:
    """What went wrong, in words for the screen. Never carries a secret."""

    title: str
    detail: str
    status: int | None = None
    retry_after: str | None = None

    def __str__(self) -> str:
        return f"{self.title} {self.detail}".strip()


def _server_message(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if body.get("message"):
            return str(body["message"])
    return str(exc.message or "")


def describe_error(
    exc: BaseException, where: str, redact: Redactor | None = None, mid_stream: bool = False
) -> ProviderError:
    """A readable message for any exception raised while talking to ``where``.

    ``mid_stream``: the response had started, so a broken connection is a cut stream,
    not a server that is down.
    """
    redact = redact or Redactor()
    if mid_stream and isinstance(exc, (openai.APIConnectionError, httpx.HTTPError)):
        return ProviderError(
            "The stream was cut off.",
            f"The connection to {where} broke before the answer was complete.",
        )
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("The request timed out.", f"{where} did not answer in time.")
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(
            "Could not reach the server.",
            f"Nothing answered at {where}. Is the server running and the base URL right?",
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        said = redact(_server_message(exc))
        if status == 401:
            return ProviderError(
                "The API key was rejected (401).",
                f"Check the key for {where}. The server said: {said}", status,
            )
        if status == 403:
            return ProviderError(
                "Not allowed (403).", f"This key may not use that model. {said}", status
            )
        if status == 404:
            return ProviderError(
                "Not found (404).", f"Check the model name and base URL. {said}", status
            )
        if status == 429:
            retry = exc.response.headers.get("retry-after")
            wait = f" Try again in {retry} s." if retry else " Wait a moment and try again."
            return ProviderError(
                "Rate limited (429).", f"Too many requests or out of credit.{wait} {said}",
                status, retry_after=retry,
            )
        if status >= 500:
            return ProviderError(
                f"The provider failed ({status}).", f"Try again or pick another model. {said}",
                status,
            )
        return ProviderError(f"The request was refused ({status}).", said, status)
    if isinstance(exc, openai.APIError):
        # An error event inside a stream that had already started with HTTP 200.
        return ProviderError(
            "The provider reported an error mid-stream.", redact(_server_message(exc))
        )
    if isinstance(exc, PromptTooLong):
        return ProviderError("Too long for the model's context window.", str(exc))
    if isinstance(exc, httpx.HTTPError):
        return ProviderError("The connection broke.", redact(str(exc)) or type(exc).__name__)
    return ProviderError("Something went wrong.", redact(f"{type(exc).__name__}: {exc}"))


CUT_SHORT = ProviderError(
    "The stream ended early.",
    "The connection closed before the model said it had finished.",
)

STOPPED = ProviderError(
    "Stopped.", "The answer was stopped before it was complete; the partial answer is kept."
)
