"""A scripted OpenAI-compatible server for provider faults a real server won't produce on demand.

The request's "model" field picks the scenario (see SCENARIOS). Standard library only, HTTP/1.1;
streams are Server-Sent Events in chunked transfer encoding, as OpenAI and OpenRouter send them.

In-process (what the `fault_server` fixture does):

    with FaultServer() as server:
        OpenAI(base_url=server.base_url, api_key="sk-test").chat.completions.create(model="ok", ...)
        server.requests[-1].body["messages"]

As a process, for benchmarks:

    python -m tests.servers.fault_server --port 8765
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable

SCENARIOS = (
    "ok",  # a short streamed reply
    "comments",  # like ok, with ": OPENROUTER PROCESSING" keep-alive comments around the chunks
    "auth",  # 401 whose message echoes the API key it received
    "ratelimit",  # 429 with Retry-After: 7
    "server_error",  # 500
    "cut",  # 200, three deltas, then the socket closes mid-body
    "error_event",  # 200, two deltas, then an SSE `data: {"error": ...}` event
    "long",  # max_tokens (default 2000) deltas of " tok", as fast as possible
    "slow",  # a reply whose deltas arrive `slow_delay` seconds apart
    "late",  # like ok, but the response (headers included) starts 20 × slow_delay late
    "paced",  # max_tokens (default 2000) numbered deltas " w1", " w2" … at `pace` per second
    "reasoning",  # like ok, with the usage details of a reasoning model on OpenRouter
    "empty",  # a reply with no text at all
    "json",  # the lecture's Location answer as JSON, whatever response_format asks for
    "no_json_schema",  # 400 to a json_schema response_format (like a model without it), else json
    "refusal",  # a Structured Outputs refusal: content null, message.refusal set
    "o4-mini",  # like OpenAI's reasoning models: 400 to max_tokens or a sampling knob, else ok
    "tools",  # a model with function calling: one tool call per tool offered, then the answer
    "tools_bad",  # like tools, but every call's arguments are {} (they don't validate)
    "no_tools",  # 400 to a request with `tools`, in OpenAI's words, else ok
)

# What GET /models says a scenario supports (OpenRouter's `supported_parameters`): every one
# takes structured outputs except no_json_schema.
SUPPORTED_PARAMETERS = ("max_tokens", "temperature", "response_format", "structured_outputs")
LOCATION_JSON = '{"name":"Paris","country":"France","latitude":48.8566,"longitude":2.3522}'
REFUSAL_TEXT = "I'm sorry, I can't help with that request."
TOOL_ANSWER = "Here is what the tool said: {}"  # the "tools" answer, once a tool message came
NO_TOOLS_MESSAGE = "Unsupported parameter: 'tools' is not supported with this model."

# Real, priced model ids that behave like a scenario, so costs and budgets can be tested.
PRICED_ALIASES = {"gpt-4o-mini": "ok", "gpt-4.1-nano": "paced", "gpt-4.1-mini": "late"}

OK_PIECES = ("Hello", " from", " the", " fault", " server.")
SLOW_PIECES = ("Streaming", " one", " word", " at", " a", " time", " from", " the", " fault", " server.")
CUT_PIECES = ("The ", "answer ", "is ")
ERROR_EVENT_PIECES = ("Partial ", "answer ")
ERROR_EVENT = {"error": {"message": "Upstream provider failed", "code": 502}}
LONG_PIECE = " tok"
LONG_DEFAULT_TOKENS = 2000
RETRY_AFTER_SECONDS = 7
DEFAULT_SLOW_DELAY = 0.05  # seconds between "slow" deltas
CONTEXT_LENGTH = 8192  # listed with every model, as OpenRouter lists context_length
DEFAULT_PACE = 200.0  # "paced" deltas per second
# What OpenRouter reports for a reasoning model: hidden reasoning tokens, a cached prompt
# prefix, and its own cost in dollars. The lecture's GPT-5 example: 1,408 of 2,224.
REASONING_USAGE = {"completion_tokens": 2224, "reasoning_tokens": 1408, "cached_tokens": 1024,
                   "cost": 0.0223}
KEEPALIVE_COMMENT = b": OPENROUTER PROCESSING\n\n"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None


class FaultServer:
    """The server, run in a background thread (`start`/`stop`, or `with`) or in the foreground."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, slow_delay: float = DEFAULT_SLOW_DELAY, history: int = 200
    ) -> None:
        self.slow_delay = slow_delay
        self.pace = DEFAULT_PACE
        self._requests: deque[RecordedRequest] = deque(maxlen=history)
        self._lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), _Handler, fault_server=self)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """The last `history` requests, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def start(self) -> "FaultServer":
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fault-server", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, *, fault_server: FaultServer) -> None:
        self.fault_server = fault_server
        super().__init__(address, handler)


# --- response bodies -------------------------------------------------------------------------


def _error_body(message: str, type_: str, code: str | None) -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


class _Completion:
    """Builds the chat.completion(.chunk) objects of one response."""

    def __init__(self, model: str, request: dict) -> None:
        self.model = model
        self.id = f"chatcmpl-fault-{time.monotonic_ns():x}"
        self.created = int(time.time())
        self.prompt_tokens = max(1, sum(len(str(m.get("content", "")).split()) for m in request.get("messages", [])))
        stream_options = request.get("stream_options") or {}
        self.include_usage = bool(stream_options.get("include_usage"))

    def chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def usage_chunk(self, completion_tokens: int) -> dict:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": self.usage(completion_tokens),
        }

    def usage(self, completion_tokens: int) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": self.prompt_tokens + completion_tokens,
        }

    def full(self, text: str, completion_tokens: int, finish_reason: str = "stop") -> dict:
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": self.usage(completion_tokens),
        }

    def delta_chunks(self, pieces: Iterable[str]) -> Iterable[dict]:
        """Content deltas; the first one also carries the assistant role."""
        for index, piece in enumerate(pieces):
            delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
            yield self.chunk(delta)


def _arguments_for(schema: dict) -> dict:
    """Arguments that fit a tool's (flat) JSON schema: "Paris" for a string, 100 for a number,
    an enum's values in turn (so from and to differ)."""
    arguments, enums = {}, 0
    for name, spec in (schema.get("properties") or {}).items():
        if spec.get("enum"):
            arguments[name] = spec["enum"][enums % len(spec["enum"])]
            enums += 1
        elif spec.get("type") in ("number", "integer"):
            arguments[name] = 100
        elif spec.get("type") == "boolean":
            arguments[name] = True
        else:
            arguments[name] = "Paris"
    return arguments


def _sse(payload: dict | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data: {data}\n\n".encode()


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


# --- the handler -----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FaultServer/1.0"
    timeout = 120  # idle keep-alive connections are dropped after this
    server: _HTTPServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    # routing

    def do_GET(self) -> None:
        self._record(body=None)
        if self.path.rstrip("/") == "/v1/models":
            models = [
                {"id": name, "object": "model", "created": 0, "owned_by": "fault-server",
                 "context_length": CONTEXT_LENGTH,
                 "supported_parameters": [p for p in SUPPORTED_PARAMETERS if name != "no_json_schema" or p != "structured_outputs"]}
                for name in (*SCENARIOS, *PRICED_ALIASES)
            ]
            self._send_json(200, {"object": "list", "data": models})
        else:
            self._send_json(404, _error_body(f"Unknown path {self.path}", "invalid_request_error", None))

    def do_POST(self) -> None:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        except ValueError:
            self._record(body=None)
            self._send_json(400, _error_body("Request body is not JSON.", "invalid_request_error", None))
            return
        self._record(body=body)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, _error_body(f"Unknown path {self.path}", "invalid_request_error", None))
            return
        if not isinstance(body, dict):
            self._send_json(400, _error_body("Request body must be an object.", "invalid_request_error", None))
            return
        model = str(body.get("model"))
        model = PRICED_ALIASES.get(model, model)
        scenario = getattr(self, f"_scenario_{model.replace('-', '_')}", None)
        if model not in SCENARIOS or scenario is None:
            message = f"The model `{model}` does not exist. Try one of: {', '.join(SCENARIOS)}."
            self._send_json(404, _error_body(message, "invalid_request_error", "model_not_found"))
            return
        try:
            scenario(_Completion(model, body), stream=bool(body.get("stream")), request=body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-response

    # scenarios

    def _scenario_ok(self, completion: _Completion, stream: bool, request: dict) -> None:
        self._reply(completion, OK_PIECES, stream)

    def _scenario_comments(self, completion: _Completion, stream: bool, request: dict) -> None:
        self._reply(completion, OK_PIECES, stream, keepalive_comments=True)

    def _scenario_late(self, completion: _Completion, stream: bool, request: dict) -> None:
        time.sleep(20 * self.server.fault_server.slow_delay)
        self._scenario_ok(completion, stream, request)

    def _scenario_slow(self, completion: _Completion, stream: bool, request: dict) -> None:
        self._reply(completion, SLOW_PIECES, stream, delay=self.server.fault_server.slow_delay)

    def _scenario_long(self, completion: _Completion, stream: bool, request: dict) -> None:
        limit = request.get("max_completion_tokens") or request.get("max_tokens")
        count = int(limit) if limit else LONG_DEFAULT_TOKENS
        finish_reason = "length" if limit else "stop"
        if not stream:
            self._send_json(200, completion.full(LONG_PIECE * count, count, finish_reason))
            return
        self._start_sse()
        first = _http_chunk(_sse(completion.chunk({"role": "assistant", "content": LONG_PIECE})))
        frame = _http_chunk(_sse(completion.chunk({"content": LONG_PIECE})))
        self.wfile.write(first)
        remaining = count - 1
        while remaining > 0:  # identical frames, written in batches: the server stays out of the benchmark
            batch = min(remaining, 64)
            self.wfile.write(frame * batch)
            remaining -= batch
        self._finish_stream(completion, count, finish_reason)

    def _scenario_paced(self, completion: _Completion, stream: bool, request: dict) -> None:
        limit = request.get("max_completion_tokens") or request.get("max_tokens")
        count = int(limit) if limit else LONG_DEFAULT_TOKENS
        pieces = tuple(f" w{k}" for k in range(1, count + 1))
        if not stream:
            time.sleep(count / self.server.fault_server.pace)
            self._send_json(200, completion.full("".join(pieces), count))
            return
        self._start_sse()
        start = time.perf_counter()
        for k, chunk in enumerate(completion.delta_chunks(pieces)):
            wait = start + k / self.server.fault_server.pace - time.perf_counter()
            if wait > 0:  # on a fixed schedule, so delays never add up
                time.sleep(wait)
            self.wfile.write(_http_chunk(_sse(chunk)))
        self._finish_stream(completion, count, "stop")

    def _scenario_reasoning(self, completion: _Completion, stream: bool, request: dict) -> None:
        usage = completion.usage(REASONING_USAGE["completion_tokens"])
        usage["completion_tokens_details"] = {"reasoning_tokens": REASONING_USAGE["reasoning_tokens"]}
        usage["prompt_tokens_details"] = {"cached_tokens": REASONING_USAGE["cached_tokens"]}
        usage["cost"] = REASONING_USAGE["cost"]
        if stream:
            self._reply(completion, OK_PIECES, stream)
            return
        body = completion.full("".join(OK_PIECES), REASONING_USAGE["completion_tokens"])
        body["usage"] = usage
        self._send_json(200, body)

    def _scenario_o4_mini(self, completion: _Completion, stream: bool, request: dict) -> None:
        """OpenAI's answers to what its reasoning models refuse, word for word."""
        if "max_tokens" in request:
            self._send_json(400, _error_body(
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                "'max_completion_tokens' instead.", "invalid_request_error", "unsupported_parameter"))
            return
        for knob in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
            if knob in request and request[knob] != (0 if knob.endswith("penalty") else 1):
                self._send_json(400, _error_body(
                    f"Unsupported value: '{knob}' does not support {request[knob]} with this "
                    "model. Only the default (1) value is supported.", "invalid_request_error",
                    "unsupported_value"))
                return
        self._reply(completion, OK_PIECES, stream)

    def _scenario_empty(self, completion: _Completion, stream: bool, request: dict) -> None:
        self._reply(completion, ("",), stream)

    def _scenario_json(self, completion: _Completion, stream: bool, request: dict) -> None:
        self._reply(completion, (LOCATION_JSON,), stream)

    def _scenario_no_json_schema(self, completion: _Completion, stream: bool, request: dict) -> None:
        if (request.get("response_format") or {}).get("type") == "json_schema":
            message = "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model."
            self._send_json(400, _error_body(message, "invalid_request_error", None))
            return
        self._scenario_json(completion, stream, request)

    def _scenario_refusal(self, completion: _Completion, stream: bool, request: dict) -> None:
        body = completion.full("", 9)
        body["choices"][0]["message"].update(content=None, refusal=REFUSAL_TEXT)
        self._send_json(200, body)

    def _scenario_tools(self, completion: _Completion, stream: bool, request: dict, bad: bool = False) -> None:
        """A tool-trained model: asked with `tools`, it calls each of them once (arguments made
        from each schema); once the history holds `tool` messages, it answers with their content."""
        results = [str(m.get("content")) for m in request.get("messages", []) if m.get("role") == "tool"]
        offered = [t.get("function", {}) for t in request.get("tools") or [] if isinstance(t, dict)]
        if results or not offered:
            self._reply(completion, (TOOL_ANSWER.format(" ".join(results)) if results else "".join(OK_PIECES),), stream)
            return
        calls = [{"id": f"call_fault_{k}", "type": "function",
                  "function": {"name": tool.get("name", ""),
                               "arguments": "{}" if bad else json.dumps(_arguments_for(tool.get("parameters") or {}))}}
                 for k, tool in enumerate(offered)]
        if not stream:
            body = completion.full("", 12 * len(calls), "tool_calls")
            body["choices"][0]["message"].update(content=None, tool_calls=calls)
            self._send_json(200, body)
            return
        self._start_sse()
        self.wfile.write(_http_chunk(_sse(completion.chunk({"role": "assistant", "content": None}))))
        for index, call in enumerate(calls):  # the name first, then the arguments in two pieces
            head = {"index": index, "id": call["id"], "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""}}
            self.wfile.write(_http_chunk(_sse(completion.chunk({"tool_calls": [head]}))))
            arguments = call["function"]["arguments"]
            for piece in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2:]):
                delta = {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
                self.wfile.write(_http_chunk(_sse(completion.chunk(delta))))
        self._finish_stream(completion, 12 * len(calls), "tool_calls")

    def _scenario_tools_bad(self, completion: _Completion, stream: bool, request: dict) -> None:
        self._scenario_tools(completion, stream, request, bad=True)

    def _scenario_no_tools(self, completion: _Completion, stream: bool, request: dict) -> None:
        if "tools" in request:
            self._send_json(400, {"error": {"message": NO_TOOLS_MESSAGE, "type": "invalid_request_error",
                                            "param": "tools", "code": "unsupported_parameter"}})
            return
        self._scenario_ok(completion, stream, request)

    def _scenario_auth(self, completion: _Completion, stream: bool, request: dict) -> None:
        authorization = self.headers.get("Authorization", "")
        key = authorization.removeprefix("Bearer ").strip()
        message = f"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys."
        self._send_json(401, _error_body(message, "invalid_request_error", "invalid_api_key"))

    def _scenario_ratelimit(self, completion: _Completion, stream: bool, request: dict) -> None:
        message = "Rate limit reached for requests. Please try again in 7s."
        self._send_json(
            429,
            _error_body(message, "requests", "rate_limit_exceeded"),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "x-ratelimit-remaining-requests": "0"},
        )

    def _scenario_server_error(self, completion: _Completion, stream: bool, request: dict) -> None:
        message = "The server had an error while processing your request. Sorry about that!"
        self._send_json(500, _error_body(message, "server_error", None))

    def _scenario_cut(self, completion: _Completion, stream: bool, request: dict) -> None:
        if not stream:  # promise a full body, send half of it
            data = json.dumps(completion.full("".join(CUT_PIECES), len(CUT_PIECES))).encode()
            self._send_head(200, "application/json", {"Content-Length": str(len(data))})
            self.wfile.write(data[: len(data) // 2])
        else:
            self._start_sse()
            for chunk in completion.delta_chunks(CUT_PIECES):
                self.wfile.write(_http_chunk(_sse(chunk)))
        self._abort_connection()

    def _scenario_error_event(self, completion: _Completion, stream: bool, request: dict) -> None:
        if not stream:
            self._send_json(502, ERROR_EVENT)
            return
        self._start_sse()
        for chunk in completion.delta_chunks(ERROR_EVENT_PIECES):
            self.wfile.write(_http_chunk(_sse(chunk)))
        self.wfile.write(_http_chunk(_sse(ERROR_EVENT)))
        self.wfile.write(b"0\r\n\r\n")

    # building blocks

    def _reply(
        self,
        completion: _Completion,
        pieces: tuple[str, ...],
        stream: bool,
        *,
        delay: float = 0.0,
        keepalive_comments: bool = False,
    ) -> None:
        if not stream:
            if delay:
                time.sleep(delay * len(pieces))
            self._send_json(200, completion.full("".join(pieces), len(pieces)))
            return
        self._start_sse()
        for chunk in completion.delta_chunks(pieces):
            if keepalive_comments:
                self.wfile.write(_http_chunk(KEEPALIVE_COMMENT))
            if delay:
                time.sleep(delay)
            self.wfile.write(_http_chunk(_sse(chunk)))
        if keepalive_comments:
            self.wfile.write(_http_chunk(KEEPALIVE_COMMENT))
        self._finish_stream(completion, len(pieces), "stop")

    def _finish_stream(self, completion: _Completion, completion_tokens: int, finish_reason: str) -> None:
        tail = _sse(completion.chunk({}, finish_reason))
        if completion.include_usage:
            tail += _sse(completion.usage_chunk(completion_tokens))
        tail += _sse("[DONE]")
        self.wfile.write(_http_chunk(tail) + b"0\r\n\r\n")

    def _start_sse(self) -> None:
        self._send_head(
            200,
            "text/event-stream; charset=utf-8",
            {"Transfer-Encoding": "chunked", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def _send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self._send_head(status, "application/json", {"Content-Length": str(len(data)), **(headers or {})})
        self.wfile.write(data)

    def _send_head(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _abort_connection(self) -> None:
        """Close the socket without finishing the body: the client sees a truncated response."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _record(self, body: Any) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.fault_server.record(RecordedRequest(self.command, self.path, headers, body))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--slow-delay", type=float, default=DEFAULT_SLOW_DELAY, help="seconds between 'slow' deltas")
    parser.add_argument("--pace", type=float, default=DEFAULT_PACE, help="'paced' deltas per second")
    args = parser.parse_args(argv)
    server = FaultServer(args.host, args.port, slow_delay=args.slow_delay)
    server.pace = args.pace
    print(f"Fault server on {server.base_url} (models: {', '.join(SCENARIOS)})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
