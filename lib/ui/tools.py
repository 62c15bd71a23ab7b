"""The chat page's Tools view: define a function, see the call the model asks for, run it,
send the result back, read the answer — every step and both requests shown."""

from __future__ import annotations

import streamlit as st

from lib.chat.errors import describe_error
from lib.chat.tool_functions import EXAMPLE_QUESTIONS, TOOLS
from lib.chat.tools import GRAMMAR, TOOLS as TOOLS_WAY, ToolExchange, round_trip, stands_for
from lib.ui import session
from lib.ui.chat_widgets import exchanges_panel
from lib.ui.provider_picker import Choice

EXCHANGE = "tools_exchange"

WAYS = {TOOLS_WAY: "`tools=[...]`: the API's function calling",
        GRAMMAR: "a grammar: `response_format` forces a call"}

INTRO = (
    "**Tools (function calling).** You describe a function to the model; instead of "
    "answering, it may reply with a *call*: the function's name and its arguments as JSON "
    "(`message.tool_calls`, `finish_reason: tool_calls`). The model runs nothing: **your "
    "code** checks the arguments, runs the function and sends the result back in a `tool` "
    "message, then the model writes the answer from it. Two requests, both on the wire "
    "panel. It is how agents reach beyond what a model knows: today's weather, a "
    "calculator, your own documents.")

BUILTIN_NOTE = (
    "**The built-in model was never trained to call tools.** SmolLM2-135M's chat template "
    "has no place for `tools`, and its server (llama.cpp) answers a request with `tools` in "
    "plain text — pick the `tools=[...]` way below and see. So the grammar way does it by "
    "hand: the functions are written into the system prompt (what a tool-trained model's "
    "template would do), and `response_format: json_schema` forces the reply into "
    "`{\"name\": …, \"arguments\": {…}}` — the server turns the schema into a grammar that "
    "only lets through tokens that keep it valid. So the reply always parses and validates, "
    "and we treat it as the tool call it stands for. But the grammar decides the *shape*, "
    "not the *sense*: this model often picks the wrong function or a made-up city or "
    "amount, and fumbles the final answer. Hosted models trained on tools (GPT, Claude, "
    "Gemini, Llama 3.1+, Qwen…) return real `tool_calls`.")

GRAMMAR_NOTE = (
    "The grammar way: no `tools` field. The functions are listed in the system prompt and "
    "the reply is forced into this schema; its `name` and `arguments` stand for a tool call, "
    "and the id is ours (the model wrote none).")


def tools_view(choice: Choice, system_prompt: str) -> None:
    st.markdown(INTRO)
    builtin = choice.endpoint.kind == "builtin"
    if builtin:
        st.info(BUILTIN_NOTE)
    picked = st.multiselect("Functions the model may call", list(TOOLS),
                            default=["get_weather"], key="tools_picked",
                            help="Each is a pydantic model (its JSON schema is what the model "
                                 "sees) and a small Python function that runs here, offline.")
    for name in picked:
        with st.expander(f"`{name}`: the code that runs (fixed tables, no network)"):
            st.code(TOOLS[name].source(), language="python")
    left, right = st.columns(2)
    way = left.radio("How to ask", list(WAYS), format_func=WAYS.get,
                     index=1 if builtin else 0, key=f"tools_way_{choice.endpoint.id}")
    tool_choice = right.radio(
        "tool_choice", ["auto", "required"], key="tools_choice", disabled=way == GRAMMAR,
        help="auto: the model decides whether to call a function; required: it must call "
             "one. The grammar way always produces a call.")
    question = st.text_input("Question", EXAMPLE_QUESTIONS["get_weather"], key="tools_question",
                             help="Try: " + " · ".join(EXAMPLE_QUESTIONS.values()))
    if st.button("Send with tools", type="primary", key="tools_send"):
        refusal = choice.error or (None if choice.model else "Pick a model in the sidebar.")
        refusal = refusal or (None if picked else "Pick at least one function.")
        if refusal:
            st.warning(refusal)
        else:
            with st.spinner("Asking, running the function, asking again…"):
                st.session_state[EXCHANGE] = _send(choice, question, system_prompt, picked,
                                                   way, tool_choice)
    exchange: ToolExchange | None = st.session_state.get(EXCHANGE)
    if exchange is None:
        st.caption("Nothing sent yet.")
        return
    steps, wire = st.columns([3, 2], gap="medium")
    with steps:
        _steps(exchange)
    with wire:
        sent = sum(view is not None for view in (exchange.first, exchange.second))
        exchanges_panel(session.inspector(), max(sent, 1), expanded=True)


def _send(choice: Choice, question: str, system_prompt: str, picked: list[str], way: str,
          tool_choice: str) -> ToolExchange:
    provider, account = choice.provider, session.account()  # both requests, one by one
    return round_trip(
        provider, choice.model, question, system_prompt, [TOOLS[name] for name in picked],
        choice.options, way, tool_choice,
        on_error=lambda exc: str(describe_error(exc, provider.where, provider.inspector.redact)),
        admit=lambda messages, max_tokens: session.admit(
            account, choice.endpoint, choice.model, messages=messages, max_tokens=max_tokens),
        account=account)


def _steps(exchange: ToolExchange) -> None:
    st.markdown(f"**① The tool definition, as sent** to `{exchange.model}`")
    if exchange.way == GRAMMAR:
        st.caption(GRAMMAR_NOTE)
    st.json(exchange.sent, expanded=4)
    if exchange.assistant is None:
        _error(exchange)
        return
    finish = ((exchange.first or {}).get("response", {}).get("json") or {}).get("choices", [{}])
    reason = (finish[0] if finish else {}).get("finish_reason")
    st.markdown(f"**② What came back: the assistant message** (`finish_reason: {reason}`)")
    st.json(exchange.assistant)
    if exchange.way == GRAMMAR and exchange.calls:
        st.markdown("…and the assistant message with `tool_calls` it stands for:")
        st.json(stands_for(exchange))
    if exchange.notice and not exchange.calls:
        st.warning(exchange.notice)
        if exchange.way == TOOLS_WAY:
            st.caption("Nothing to run, so no second request. A model not trained on tools "
                       "does this; `tool_choice: required` insists, where the server honours "
                       "it, and the grammar way forces a call on any model.")
    if exchange.answer and not exchange.calls:
        st.markdown(exchange.answer)
    if not exchange.calls:
        _error(exchange)
        return
    if len(exchange.calls) > 1:
        st.caption(f"{len(exchange.calls)} calls in one answer: each is run, and each result "
                   "goes back in its own `tool` message with its `tool_call_id`.")
    for run in exchange.calls:
        st.markdown(f"**③ `{run.name}` — the arguments, validated by pydantic** "
                    f"(`{run.id}`)")
        st.code(run.arguments or "(empty)", language="json")
        if run.error:
            st.error(run.error)
            st.caption("The function did not run: the error goes back as its result, so the "
                       "model can say so or try again.")
        else:
            st.json(run.parsed)
            st.markdown("**④ The function's result**")
            st.json(run.result)
        st.markdown("**⑤ The `tool` message sent back**")
        st.json(run.message)
    if exchange.second is not None:
        messages = (exchange.second["request"].get("json") or {}).get("messages", [])
        st.markdown(f"**⑥ The second request**: the whole conversation again, "
                    f"{len(messages)} messages, the call and its result included")
        st.json(messages, expanded=False)
    if exchange.answer is not None:
        st.markdown("**⑦ The final answer**")
        st.success(exchange.answer or "(empty)")
    if exchange.notice and exchange.calls:
        st.warning(exchange.notice)
    _error(exchange)


def _error(exchange: ToolExchange) -> None:
    if exchange.error:
        st.error(exchange.error)
