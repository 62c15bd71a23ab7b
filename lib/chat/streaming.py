"""One streaming interface for every provider: text deltas, then metrics.

``ChatStream`` wraps the chunk iterator of any provider (the openai SDK's
``ChatCompletionChunk`` objects, from a hosted API or the built-in model's server) and

- yields the text deltas as they arrive (so ``st.write_stream(stream)`` just works);
- measures time to first token, tokens per second and total time;
- takes prompt and completion tokens from the provider's usage chunk when it sends one
  (``stream_options.include_usage``), otherwise estimates them and says so;
- never raises while iterating: on a failure it stops, keeps the partial text in
  ``.text`` and puts a readable ``ProviderError`` in ``.error``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from openai.types.chat import ChatCompletionChunk

from lib.chat.errors import CUT_SHORT, STOPPED, ProviderError, describe_error


@dataclass(frozen=True)
class StreamMetrics:
    ttft_s: float | None
    total_s: float
    completion_tokens: int
    prompt_tokens: int | None
    tokens_per_s: float | None
    usage_source: str  # "provider" or "estimate"
    finish_reason: str | None

    @property
    def usage_is_estimate(self) -> bool:
        return self.usage_source == "estimate"


def estimate_tokens(text: str) -> int:
    """Count tokens with OpenAI's o200k tokenizer; a coarse chars/4 if it is unavailable."""
    try:
        from lib.cost.tokens import count_tokens

        return count_tokens(text)
    except Exception:
        return max(1, round(len(text) / 4)) if text else 0


class ChatStream:
    """Iterate for text deltas; afterwards read ``text``, ``metrics`` and ``error``."""

    def __init__(
        self,
        chunks: Iterable[ChatCompletionChunk] | Callable[[], Iterable[ChatCompletionChunk]],
        where: str,
        *,
        prompt_text: str = "",
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self._chunks = chunks
        self._where = where
        self._prompt_text = prompt_text
        self._redact = redact
        self._parts: list[str] = []
        self._started = time.perf_counter()
        self._first_token_at: float | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, int] | None = None
        self.error: ProviderError | None = None
        self.metrics: StreamMetrics | None = None
        self.done = False
        self.notice: str | None = None  # something the provider changed, for the screen
        self.sent = False  # the request went out (the provider may bill it from here)
        self.accepted = False  # the provider answered 200 and began the stream
        self._stopped = False
        self._finish_lock = threading.RLock()  # close() may race the reading thread's end
        self._source: Iterable[ChatCompletionChunk] | None = None
        self.finished_at: float | None = None  # time.perf_counter() when it ended
        self.messages: list[dict] = []  # what the request carries (set by the provider)
        self.request_body: dict | None = None  # its JSON body, as it will be sent

    @property
    def first_token_at(self) -> float | None:
        """time.perf_counter() when the first text arrived."""
        return self._first_token_at

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def __iter__(self) -> Iterator[str]:
        if self.done:
            return
        self._started = time.perf_counter()
        try:
            self.sent = not self._stopped
            if self._stopped:  # stopped before it was sent: nothing goes out
                return
            chunks = self._chunks() if callable(self._chunks) else self._chunks
            self._source = chunks
            self.accepted = True
            if self._stopped:  # stopped while the request waited for its answer
                _abort(chunks)
                return
            for chunk in chunks:
                if self._stopped:
                    break
                delta = self._take(chunk)
                if delta:
                    yield delta
            if self.finish_reason is None and not self._stopped:
                self.error = CUT_SHORT
        except GeneratorExit:
            self._stopped = True
            self.error = self.error or STOPPED
            _abort(self._source)
            raise
        except Exception as exc:  # every failure becomes a message; partial text is kept
            if not self._stopped:  # closing from outside reads as a broken connection
                self.error = describe_error(exc, self._where, self._redact, self.accepted)
        finally:
            self._finish()

    def close(self) -> None:
        """Stop where it is (the user pressed Stop): keep the text, end the HTTP exchange
        (the server stops generating), and count what arrived. Safe from another thread
        while the reader is blocked; nothing happens if the stream had already finished."""
        with self._finish_lock:
            if self.done:  # finished (or finishing) on its own: its outcome stands
                return
            self._stopped = True  # first: the reading thread may see the connection drop next
            self.error = STOPPED
        _abort(self._source)  # None yet: the reader aborts it as soon as it arrives
        self._finish()

    @property
    def billable(self) -> bool:
        """The provider may bill this request: it began answering, or it was sent and then
        stopped before the answer came (a refusal — 401, 429, 5xx, nothing listening — is
        not billed)."""
        return self.accepted or (self.sent and self._stopped)

    def _take(self, chunk: ChatCompletionChunk) -> str:
        usage = chunk.usage
        if usage:
            self.usage = {
                "prompt_tokens": usage.prompt_tokens or 0,
                "completion_tokens": usage.completion_tokens or 0,
            }
        text = ""
        for choice in chunk.choices:  # the final usage chunk has none
            content = choice.delta.content
            if content:
                text += content
            if choice.finish_reason:
                self.finish_reason = choice.finish_reason
        if text:
            if self._first_token_at is None:
                self._first_token_at = time.perf_counter()
            self._parts.append(text)
        return text

    def _finish(self) -> None:
        with self._finish_lock:  # metrics are set before anyone sees done
            if self.done:
                return
            self._set_metrics()
            self.finished_at = time.perf_counter()
            self.done = True

    def _set_metrics(self) -> None:
        end = time.perf_counter()
        if self.usage and self.usage["completion_tokens"]:
            completion = self.usage["completion_tokens"]
            prompt: int | None = self.usage["prompt_tokens"]
            source = "provider"
        else:
            text = self.text
            completion = estimate_tokens(text) if text else 0
            prompt = estimate_tokens(self._prompt_text) if self._prompt_text else None
            source = "estimate"
        ttft = self._first_token_at - self._started if self._first_token_at else None
        gen_time = end - self._first_token_at if self._first_token_at else None
        tps = (completion - 1) / gen_time if gen_time and completion > 1 else None
        self.metrics = StreamMetrics(
            ttft_s=ttft,
            total_s=end - self._started,
            completion_tokens=completion,
            prompt_tokens=prompt,
            tokens_per_s=tps,
            usage_source=source,
            finish_reason=self.finish_reason,
        )


def _abort(source: object) -> None:
    """End a streaming HTTP response now, even while another thread is blocked reading it:
    shut its socket down (a plain close would wait for the next chunk), then close it.
    The server sees the connection go and stops generating."""
    response = getattr(source, "response", None)
    if response is None:
        return
    network_stream = response.extensions.get("network_stream")
    sock = network_stream.get_extra_info("socket") if network_stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed
    try:
        source.close()
    except Exception:  # closing a response another thread is reading may complain
        pass


def coalesce(deltas: Iterable[str], interval_s: float = 0.05) -> Iterator[str]:
    """Merge deltas that arrive within ``interval_s`` of each other.

    A browser re-renders the whole answer on every update; 20 updates a second look the
    same as 60 and leave the CPU to the model.
    """
    pending: list[str] = []
    last = 0.0
    for delta in deltas:
        pending.append(delta)
        now = time.perf_counter()
        if now - last >= interval_s:
            yield "".join(pending)
            pending.clear()
            last = now
    if pending:
        yield "".join(pending)
