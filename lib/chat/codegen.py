""""View code": the Python (openai SDK) that reproduces the request on screen, to copy and run.

The lesson is that the app is no magic: the same request from a plain script gets the same
answer. So the snippet is built from the very body the app sends (``chat_request_body``),
not from a template of its own, and a test runs it against a loopback server and compares
the JSON the server received with ``ChatProvider.request_body``.

What it never contains: an API key (it reads an environment variable), the built-in
model's in-process port and key (it targets ``python -m lib.serve`` instead), or a URL the
operator marked private. It follows the lecture's style (``client = OpenAI(...)``,
``for chunk in stream: ... delta.content``) with one fix: the final usage chunk has an
empty ``choices``, on which the lecture's ``chunk.choices[0]`` raises IndexError.
"""

from __future__ import annotations

from typing import Any

from lib.chat.sampling import SamplingOptions, chat_request_body, reasoning_model
from lib.config import BUILTIN, Endpoint

NOTE = ("With usage requested, a stream ends with a chunk that carries only the token counts "
        "and an empty `choices` list, so the code checks `if chunk.choices:` — the lecture's "
        "`chunk.choices[0]` would raise IndexError on it.")

SERVE_URL = "http://127.0.0.1:8080/v1"  # `python -m lib.serve`'s default address
SERVE_URL_ENV = "LAB_SERVE_BASE_URL"  # lets a test (or a user on another port) point elsewhere
SERVE_KEY_ENV = "LAB_SERVE_API_KEY"  # the variable lib.serve itself reads for its key
CUSTOM_KEY_ENV = "LAB_API_KEY"  # an endpoint without a well-known variable
PRIVATE_URL_ENV = "LAB_BASE_URL"  # the address is a secret: the reader supplies it
NO_KEY = "no-key-needed"  # the SDK insists on a key; keyless local servers ignore it


def python_snippet(endpoint: Endpoint, model: str, messages: list[dict[str, str]],
                   options: SamplingOptions, stream: bool = True) -> str:
    """Python that sends exactly the body the app sends for these inputs (``messages`` is the
    list actually sent, system prompt first) and prints the answer and its usage."""
    body = chat_request_body(model, messages, options, stream, include_usage=True,
                             reasoning=reasoning_model(endpoint.id, model))
    extras = options.extra_fields()  # not in the SDK's signature: the SDK merges extra_body
    lines = ["import os", "", "from openai import OpenAI", ""]
    lines += _client_lines(endpoint, model)
    lines += ["", f"messages = {_literal(body['messages'], 0)}", ""]
    call = "stream" if stream else "response"
    lines.append(f"{call} = client.chat.completions.create(")
    lines.append(f"    model={_literal(body['model'])},")
    lines.append("    messages=messages,")
    for name, value in body.items():
        if name not in ("model", "messages", "stream", "stream_options") and name not in extras:
            lines.append(f"    {name}={_literal(value)},")
    if extras:
        lines.append(f"    extra_body={_literal(extras)},  # not OpenAI parameters: sent as is")
    if stream:
        lines.append("    stream=True,")
        lines.append(f"    stream_options={_literal(body['stream_options'])},")
    lines.append(")")
    lines.append("")
    lines += _stream_loop() if stream else [
        "print(response.choices[0].message.content)",
        "print(response.usage)",
    ]
    return "\n".join(lines) + "\n"


def _client_lines(endpoint: Endpoint, model: str) -> list[str]:
    """The OpenAI(...) construction: where the request goes and which variable holds the key."""
    if endpoint.kind == "builtin":
        flag = "" if model == BUILTIN.suggested_models[0] else f" --model {model}"
        return [
            "# The built-in model, served for any OpenAI client. First, in another terminal:",
            f"#   export {SERVE_KEY_ENV}=choose-a-secret    (and the same here)",
            f"#   python -m lib.serve --port 8080{flag}",
            "client = OpenAI(",
            f'    base_url=os.environ.get("{SERVE_URL_ENV}", "{SERVE_URL}"),',
            f'    api_key=os.environ["{SERVE_KEY_ENV}"],',
            ")",
        ]
    comments = []
    if endpoint.url_private:
        comments.append(f"# The operator keeps this address private: set {PRIVATE_URL_ENV}.")
        base_url = f'os.environ["{PRIVATE_URL_ENV}"]'
    else:
        base_url = _literal(endpoint.base_url or "")
    variable = endpoint.key_env or CUSTOM_KEY_ENV
    if endpoint.api_key or endpoint.needs_key:
        api_key = f'os.environ["{variable}"]'
    else:  # a keyless local server: runs as is, yet a key set in the variable is still used
        api_key = f'os.environ.get("{variable}", "{NO_KEY}")'
    return comments + [
        "client = OpenAI(",
        f"    base_url={base_url},",
        f"    api_key={api_key},",
        ")",
    ]


def _stream_loop() -> list[str]:
    return [
        "usage = None",
        "for chunk in stream:",
        "    # The last chunk carries only usage, with an empty `choices`:",
        "    # the lecture's `chunk.choices[0]` raises IndexError on it.",
        "    if chunk.choices:",
        '        print(chunk.choices[0].delta.content or "", end="", flush=True)',
        "    if chunk.usage:",
        "        usage = chunk.usage",
        "print()",
        "print(usage)",
    ]


def _literal(value: Any, indent: int | None = None) -> str:
    """Python source for a JSON-like value. Not json.dumps (true/false/null are not Python)
    nor repr (single quotes, unlike the lecture): strings in double quotes, with every
    character that is not printable escaped, so any text gives valid one-line literals.
    With ``indent``, a list puts one item per line (the messages)."""
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)  # None, True, 0.7: valid Python (bounded options: never nan/inf)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(str(k))}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        if indent is None or not value:
            return "[" + ", ".join(_literal(item) for item in value) + "]"
        pad = " " * (indent + 4)
        items = "".join(f"{pad}{_literal(item)},\n" for item in value)
        return "[\n" + items + " " * indent + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:  # \n, \t, \x00, \u2028, a lone surrogate ...: repr's own escape
            out.append(repr(char)[1:-1])
    return '"' + "".join(out) + '"'
