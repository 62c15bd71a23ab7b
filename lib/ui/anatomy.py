"""The chat page's Anatomy view: one real response, every field explained."""

from __future__ import annotations

import json

import streamlit as st

from lib.chat.anatomy import ANATOMY_PROMPT, Specimens, collect, explain, price_check
from lib.chat.errors import describe_error
from lib.cost.pricing import usage_cost
from lib.ui import session
from lib.ui.provider_picker import Choice

SPECIMENS = "anatomy_specimens"

WHO_USES_WHAT = (
    "**`/completions` (2020, GPT-3)** takes one `prompt` string and continues it: the API of "
    "base models. OpenAI calls it legacy; llama.cpp, vLLM and OpenRouter still serve it, "
    "which is how the Base vs instruct page talks to a base model.\n\n"
    "**`/chat/completions` (2023, ChatGPT)** takes a list of `messages` with roles; the server "
    "applies the model's chat template. It became the lingua franca: OpenAI, OpenRouter, "
    "Groq, Together, Mistral, DeepSeek, Ollama, LM Studio, vLLM and llama.cpp all speak it, "
    "and Anthropic and Google offer compatible endpoints — which is why one client reaches "
    "them all by changing `base_url`.")


def anatomy_view(choice: Choice, system_prompt: str) -> None:
    st.markdown(f"Send one short question to **{choice.model or 'the chosen model'}** four "
                "ways — a whole answer, a stream, the 2020 `/completions` API and the 2025 "
                "Responses API — with the sidebar's settings, then read what came back, field "
                "by field.")
    question = st.text_input("Question", ANATOMY_PROMPT, key="anatomy_prompt")
    if st.button("Send it four ways", type="primary", key="anatomy_send"):
        refusal = choice.error or (None if choice.model else "Pick a model in the sidebar.")
        if refusal:
            st.warning(refusal)
        else:
            with st.spinner("Asking four ways…"):
                st.session_state[SPECIMENS] = (choice.model, _collect(choice, question, system_prompt))
    if SPECIMENS not in st.session_state:
        st.caption("Nothing sent yet.")
        return
    model, specimens = st.session_state[SPECIMENS]
    whole, stream, legacy, responses = st.tabs(
        ["A whole answer", "A stream", "/completions vs /chat/completions",
         "The Responses API"])
    with whole:
        _whole_answer(model, specimens)
    with stream:
        _stream(specimens)
    with legacy:
        _legacy(specimens)
    with responses:
        _responses(model, specimens)


def _collect(choice: Choice, question: str, system_prompt: str) -> Specimens:
    provider = choice.provider
    messages = [{"role": "system", "content": system_prompt.strip()}] if system_prompt.strip() else []
    messages.append({"role": "user", "content": question})
    account = session.account()

    def record(usage: dict | None) -> None:  # each request on a deployment's key, once done
        if not provider.endpoint.key_from_deployment:
            return
        if usage is None:  # refused, or no server: nothing to count
            account.release(choice.model)
            return
        cost = usage_cost(choice.model, usage.get("prompt_tokens") or 0,
                          usage.get("completion_tokens") or 0)
        account.record(choice.model, cost if provider.endpoint.bills_usage else None)

    return collect(provider, choice.model, messages, choice.options,
                   lambda exc: str(describe_error(exc, provider.where, provider.inspector.redact)),
                   admit=lambda: session.admit(account, choice.endpoint, choice.model,
                                               messages=messages,
                                               max_tokens=choice.options.max_tokens),
                   record=record)


def _failed(specimens: Specimens, name: str) -> bool:
    error = (specimens.errors or {}).get(name)
    if error:
        st.error(error)
    return bool(error)


def _whole_answer(model: str, specimens: Specimens) -> None:
    if _failed(specimens, "whole") or specimens.whole is None:
        return
    response = specimens.whole["response"]["json"] or {}
    left, right = st.columns([2, 3])
    left.markdown("=== RESPONSE === (`stream: false`)")
    left.json(response)
    _field_by_field(right, response)
    usage = response.get("usage") or {}
    if "completion_tokens_details" not in usage:
        right.caption("No `completion_tokens_details` here. A reasoning model (o-series, GPT-5) "
                      "reports `reasoning_tokens` in it: billed output the answer never shows — "
                      "1,408 of 2,224 completion tokens in the lecture's GPT-5 example.")
    _cost(right, model, response)


def _field_by_field(column, response: dict) -> None:
    rows = []
    for field in explain(response):
        value = json.dumps(field.value, ensure_ascii=False)
        if len(value) > 60:
            value = value[:57] + "…"
        meaning = f" — {field.meaning}" if field.meaning else ""
        rows.append(f"- `{field.path}` = `{value}`{meaning}")
    column.markdown("**Field by field**\n\n" + "\n".join(rows))


def _cost(column, model: str, response: dict) -> None:
    check = price_check(model, response)
    if check.provider_usd is not None or check.ours_usd:
        ours = "unknown" if check.ours_usd is None else f"${check.ours_usd:.6f}"
        theirs = "not reported" if check.provider_usd is None else f"${check.provider_usd:.6f}"
        column.caption(f"Cost: the provider says {theirs}; usage × our price list "
                       f"(genai-prices) says {ours}.")


def _stream(specimens: Specimens) -> None:
    if _failed(specimens, "stream") or specimens.stream is None:
        return
    response = specimens.stream["response"]
    content_type = response["headers"].get("content-type", "?")
    st.markdown(f"Response headers say `content-type: {content_type}`: Server-Sent Events. "
                "The body arrives in pieces, each a `data: {json}` line and a blank line: "
                "`chat.completion.chunk` objects whose `choices[0].delta.content` holds the "
                "next few characters. With `stream_options: {include_usage: true}` the last "
                "chunk has **empty `choices`** and the `usage`, so the lecture's "
                "`chunk.choices[0]` raises IndexError on it; `data: [DONE]` ends the stream.")
    st.json(response["headers"], expanded=False)
    events = response.get("sse_events", [])
    shown = events if len(events) <= 8 else [*events[:4], f"… {len(events) - 8} more …", *events[-4:]]
    st.code("\n\n".join(shown), language="text")


def _legacy(specimens: Specimens) -> None:
    st.markdown(WHO_USES_WHAT)
    left, right = st.columns(2)
    with left:
        st.markdown("**`POST /chat/completions`** (2023)")
        if specimens.whole is not None:
            st.json(specimens.whole["request"]["json"])
            st.json(specimens.whole["response"]["json"], expanded=2)
    with right:
        st.markdown("**`POST /completions`** (2020)")
        if not _failed(specimens, "legacy") and specimens.legacy is not None:
            st.json(specimens.legacy["request"]["json"])
            st.json(specimens.legacy["response"]["json"], expanded=2)


RESPONSES_API = (
    "**The Responses API** (`POST /responses`, OpenAI, March 2025) is OpenAI's newer API "
    "beside Chat Completions, which stays supported. The same question, its differences:\n"
    "- `input` (a string or a list of messages) instead of `messages`, and the system prompt "
    "as `instructions`; `max_output_tokens` instead of `max_tokens`;\n"
    "- the answer is a list of typed `output` items (a `message`, a model's `reasoning`, a "
    "`function_call`…) instead of `choices`; the SDK's `response.output_text` joins the text;\n"
    "- usage says `input_tokens` / `output_tokens`;\n"
    "- the server can keep the conversation: a follow-up sends `previous_response_id` and "
    "only the new message, where Chat Completions resends everything every turn;\n"
    "- a stream is typed events (`response.output_text.delta`, … `response.completed`) "
    "rather than `chat.completion.chunk`s.\n\n"
    "OpenAI, llama.cpp (the built-in model) and vLLM serve it; most other providers and "
    "local servers speak Chat Completions only, which is why this app uses that.")


def _responses(model: str, specimens: Specimens) -> None:
    st.markdown(RESPONSES_API)
    if _failed(specimens, "responses") or specimens.responses is None:
        return
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**`POST /responses`**")
        st.json(specimens.responses["request"]["json"])
        st.json(specimens.responses["response"]["json"], expanded=2)
    response = specimens.responses["response"]["json"] or {}
    _field_by_field(right, response)
    _cost(right, model, response)
