"""Tools (function calling): one question, the call the model asks for, its result, the answer.

Two ways to ask, both through the provider's client (so the inspector has every exchange):

- ``TOOLS``: the API's own function calling. The request carries ``tools=[...]`` (made by
  ``openai.pydantic_function_tool``); a model trained for it answers with
  ``message.tool_calls`` (``finish_reason: tool_calls``) instead of text. We validate each
  call's arguments with the pydantic model, run the function, send the assistant message
  and one ``tool`` message per call (``tool_call_id``) back, and the model writes the answer.
- ``GRAMMAR``: for a model never trained on tools (the built-in SmolLM2: its chat template
  has no place for them, and llama.cpp answers such a request in plain text). The functions
  are described in the system prompt, as a tool-trained model's template would do, and
  ``response_format: json_schema`` forces ``{"name": ..., "arguments": {...}}``: the server
  compiles the schema to a grammar, so what comes back always parses and fits the schema.
  It stands for a tool call; whether its arguments make sense is up to the model.

Streamlit-free: the page passes ``admit`` and an account, as the other pages do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from lib.chat.history import Message
from lib.chat.providers import ChatProvider
from lib.chat.sampling import SamplingOptions
from lib.chat.tool_functions import Tool
from lib.chat.tool_requests import ToolRequests
from lib.chat.turn import Account

TOOLS, GRAMMAR = "tools", "grammar"
GRAMMAR_CALL_ID = "call_grammar_{}"  # the grammar way has no ids: we number the call
MAX_CALLS = 8  # calls run from one answer: a model (or a server) may return any number


@dataclass
class ToolCallRun:
    """One call the model asked for, and what became of it."""

    id: str
    name: str
    arguments: str  # as the model wrote them: a JSON string
    parsed: dict[str, Any] | None = None  # validated by the pydantic model
    error: str | None = None  # unknown function, arguments that don't validate
    result: Any = None  # what the function returned
    message: dict[str, Any] | None = None  # the `tool` message sent back


@dataclass
class ToolExchange:
    """The whole round trip, as plain data (it is saved with the browser's work)."""

    model: str
    way: str  # TOOLS or GRAMMAR
    sent: list[dict[str, Any]]  # the tool definitions, or the response_format, as sent
    first: dict[str, Any] | None = None  # request 1 and its response, as the inspector saw them
    assistant: dict[str, Any] | None = None  # the assistant message that came back
    calls: list[ToolCallRun] = field(default_factory=list)
    second: dict[str, Any] | None = None  # request 2 (the results sent back) and its response
    answer: str | None = None  # the final answer's text
    error: str | None = None  # a request that failed, or was not sent
    notice: str | None = None  # what the model did instead of the expected
    tools_rejected: bool = False


def call_schema(tools: Sequence[Tool]) -> dict[str, Any]:
    """The JSON schema of one call of any of ``tools``: the grammar the server compiles."""
    options = [{"type": "object",
                "properties": {"name": {"type": "string", "enum": [tool.name]},
                               "arguments": tool.definition()["function"]["parameters"]},
                "required": ["name", "arguments"], "additionalProperties": False}
               for tool in tools]
    return options[0] if len(options) == 1 else {"anyOf": options}


def grammar_system_prompt(system_prompt: str, tools: Sequence[Tool]) -> str:
    """The functions written into the system prompt: what a tool-trained model's chat
    template does with ``tools``, done by hand for a template that has no place for them."""
    listed = "\n".join(json.dumps({"name": t.name, "description": t.description,
                                   "parameters": t.definition()["function"]["parameters"]})
                       for t in tools)
    return ((system_prompt.strip() + "\n\n" if system_prompt.strip() else "")
            + "You can call these functions. To call one, reply with only a JSON object "
              '{"name": <the function\'s name>, "arguments": {<its arguments>}}.\n' + listed)


def run_call(tools: Sequence[Tool], call_id: str, name: str, arguments: str) -> ToolCallRun:
    """Validate the arguments with the function's pydantic model and run it. A problem is
    the tool's result too: it goes back to the model, which may say so or try again."""
    run = ToolCallRun(call_id, name, arguments)
    tool = next((t for t in tools if t.name == name), None)
    if tool is None:
        run.error = f"The model asked for `{name}`, which is not one of the functions offered."
    else:
        try:
            parsed = tool.arguments.model_validate_json(arguments or "{}")
        except ValidationError as exc:
            run.error = "The arguments don't validate: " + validation_text(exc)
        else:
            run.parsed = parsed.model_dump()
            run.result = tool.function(parsed)
    content = None
    if run.error is None:
        try:  # strict JSON: NaN and Infinity are not JSON, and a server may refuse them
            content = json.dumps(run.result, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            run.error, run.result = f"The function's result can't be sent back as JSON: {exc}.", None
    if run.error is not None:
        content = json.dumps({"error": run.error}, ensure_ascii=False)
    run.message = {"role": "tool", "tool_call_id": call_id, "content": content}
    return run


def validation_text(exc: ValidationError) -> str:
    """pydantic's complaints, one per field, without a traceback."""
    return "; ".join(f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
                     for error in exc.errors(include_url=False))


def round_trip(provider: ChatProvider, model: str, question: str, system_prompt: str,
               tools: Sequence[Tool], options: SamplingOptions, way: str = TOOLS,
               tool_choice: str = "auto", on_error: Callable[[Exception], str] = str,
               admit: Callable[[list[dict[str, Any]], int], str | None] = lambda *_: None,
               account: Account | None = None) -> ToolExchange:
    """Ask ``question`` with ``tools``, run the calls that come back, send their results and
    get the answer: two requests (one when the model answers without a call). Each request
    is admitted first (``admit(sent, max_tokens)`` says why not, or None; ``sent`` is what
    the prompt is made of: the messages, then the tool definitions or the grammar's
    ``response_format``, see ``prompt_basis``); on a
    deployment's key, one the provider answered (or that was sent and then timed out) is
    recorded, on estimated tokens when no usage came; one it refused (or nothing listening)
    released."""
    system = grammar_system_prompt(system_prompt, tools) if way == GRAMMAR else system_prompt.strip()
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": question})
    if way == GRAMMAR:
        extra = {"response_format": {"type": "json_schema", "json_schema": {
            "name": "tool_call", "strict": True, "schema": call_schema(tools)}}}
        sent = [extra["response_format"]]
    else:
        sent = [tool.definition() for tool in tools]
        extra = {"tools": sent, "tool_choice": tool_choice}
    found = ToolExchange(model, way, sent)
    send = ToolRequests(provider, model, options, on_error, admit, account)

    first, found.first, failure = send(messages, extra)
    if first is None:
        found.error = failure
        found.tools_rejected = way == TOOLS and send.refused_tools
        return found
    choice = (first.get("choices") or [{}])[0]
    found.assistant = message = choice.get("message") or {}
    if way == GRAMMAR:
        calls = _grammar_calls(found, message.get("content") or "", choice.get("finish_reason"))
        reply = {"role": "assistant", "content": message.get("content") or ""}  # what it wrote
    else:
        calls = [(c.get("id") or "", (c.get("function") or {}).get("name", ""),
                  (c.get("function") or {}).get("arguments") or "")
                 for c in message.get("tool_calls") or []]
        if not calls:
            found.answer = message.get("content") or ""
            found.notice = ("The model answered in text without calling a tool "
                            f"(finish_reason: `{choice.get('finish_reason')}`).")
            return found
        if len(calls) > MAX_CALLS:
            rest = len(calls) - MAX_CALLS
            found.notice = (f"The model asked for {len(calls)} calls in one answer: the first "
                            f"{MAX_CALLS} were run and sent back, the other {rest} "
                            f"{'was' if rest == 1 else 'were'} not run (nor sent back).")
            calls = calls[:MAX_CALLS]
        # The calls run, each followed by its result: a provider wants a `tool` message for
        # every call in the assistant message.
        reply = {"role": "assistant", "content": message.get("content"),
                 "tool_calls": [{"id": i, "type": "function",
                                 "function": {"name": n, "arguments": a}} for i, n, a in calls]}
    if not calls:
        return found
    found.calls = [run_call(tools, *call) for call in calls]
    follow_up = [*messages, reply, *(run.message for run in found.calls)]
    second, found.second, failure = send(follow_up, {"tools": sent} if way == TOOLS else {})
    if second is None:
        found.error = failure
        return found
    answer = (second.get("choices") or [{}])[0].get("message") or {}
    found.answer = answer.get("content") or ""
    if answer.get("tool_calls"):
        more = ("The model asked for more calls instead of answering; this view stops after "
                "one round (an agent would loop until it answers).")
        found.notice = f"{found.notice} {more}" if found.notice else more
    return found


def _grammar_calls(found: ToolExchange, content: str, finish_reason: str | None) -> list[tuple]:
    try:
        call = json.loads(content)
        name, arguments = call["name"], call["arguments"]
    except (ValueError, TypeError, KeyError) as exc:
        cut = " It was cut short by max_tokens: raise it." if finish_reason == "length" else ""
        found.error = f"The reply is not a call ({exc}).{cut}"
        return []
    return [(GRAMMAR_CALL_ID.format(1), name, json.dumps(arguments, ensure_ascii=False))]


def stands_for(exchange: ToolExchange) -> dict[str, Any]:
    """The grammar way's reply as the assistant message with ``tool_calls`` it stands for."""
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": run.id, "type": "function",
         "function": {"name": run.name, "arguments": run.arguments}} for run in exchange.calls]}
