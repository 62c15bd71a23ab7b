"""The cost simulator's Streamlit pieces: inputs that validate, token view, metric rows."""

from __future__ import annotations

import html
from decimal import Decimal

import streamlit as st
from pydantic import BaseModel, ValidationError

from lib.cost.conversation import Conversation, Strategy
from lib.cost.pricing import (
    DAYS_IN, LECTURE_PRICE, LECTURE_SCENARIO, CustomPrice, LectureExample, ModelPrice, PriceTable, Scenario,
    UnknownModel,
)
from lib.input_errors import field_title, input_errors
from lib.cost.tokens import (
    ENCODINGS, count_tokens, napkin_tokens, napkin_words, token_pieces, word_count,
    words_per_100_tokens,
)
from lib.cost.report import dollars, per_mtok

MAX_PROMPT_CHARS = 50_000  # about 12k tokens: plenty to count, cheap to redraw
MAX_TOKENS_SHOWN = 2_000

SAMPLE_PROMPT = (
    "I'm planning a three-day trip to Lisbon in late spring with two friends who love food and "
    "history but hate crowds. Could you suggest a day-by-day plan with neighbourhoods to walk, "
    "a few affordable places to eat, one day trip outside the city, and tips for getting around "
    "by public transport? Please keep it practical and mention anything we should book ahead."
)
LECTURE_CHOICE = f"lecture slide: {LECTURE_PRICE.name}"
DEFAULT_MODELS = ("openai: gpt-5.2", "anthropic: claude-sonnet-4-5", "google: gemini-2.5-pro")
BIG_METRICS_CSS = "<style>[data-testid='stMetricValue']{font-size:2.8rem}</style>"


def validated(model: type[BaseModel], **values: object) -> BaseModel | None:
    """`model(**values)`, or None after showing each problem as a plain sentence."""
    try:
        return model(**values)
    except ValidationError as error:
        for message in input_errors(error, model):
            st.error(message, icon="⚠️")
        return None


def lecture_metrics(example: LectureExample) -> None:
    st.html(BIG_METRICS_CSS)
    tokens_in, tokens_out = LECTURE_SCENARIO.input_tokens, LECTURE_SCENARIO.output_tokens
    users = f"{LECTURE_SCENARIO.users:,} users"
    st.markdown(
        f"**{LECTURE_PRICE.name}** at **{per_mtok(LECTURE_PRICE.input_per_mtok)}** per million input "
        f"tokens and **{per_mtok(LECTURE_PRICE.output_per_mtok)}** per million output tokens. "
        f"A user writes {napkin_words(tokens_in):,} words ({tokens_in:,} tokens); the model answers "
        f"with {napkin_words(tokens_out):,} words ({tokens_out:,} tokens)."
    )
    cols = st.columns(3)
    cols[0].metric(f"Input: {tokens_in:,} tokens", dollars(example.request.input), border=True)
    cols[1].metric(f"Output: {tokens_out:,} tokens", dollars(example.request.output), border=True)
    cols[2].metric("Cost per request", dollars(example.request.total), border=True)
    cols = st.columns(2)
    cols[0].metric(
        f"{users} × 1 request per month", f"{dollars(example.monthly_at_one_per_month)}/mo",
        border=True,
    )
    cols[1].metric(
        f"{users} × 1 request per day", f"{dollars(example.monthly_at_one_per_day)}/mo",
        border=True, help="A month is 30 days here, as on the slide.",
    )


def lecture_price_check(table: PriceTable) -> None:
    """Set the slide's price beside what genai-prices says the same model costs today."""
    try:
        today = table.lookup("openai: gpt-5.2")
    except UnknownModel:
        return
    same = (today.input_per_mtok, today.output_per_mtok) == (
        LECTURE_PRICE.input_per_mtok, LECTURE_PRICE.output_per_mtok
    )
    st.caption(
        f"{table.source} lists {today.name} at {per_mtok(today.input_per_mtok)} in / "
        f"{per_mtok(today.output_per_mtok)} out per million tokens"
        + (": the slide's price." if same else ": the slide's price has since changed.")
    )


def price_source_note(table: PriceTable) -> None:
    as_of = table.as_of.isoformat() if table.as_of else "unknown"
    st.caption(
        f"Prices: **{table.source}**, pydantic's offline price database — newest price change it "
        f"records: **{as_of}**; prices as they apply on {table.on.date().isoformat()}. "
        "Providers change prices: check their pricing pages before you budget."
    )


def input_tokens_picker() -> int | None:
    """How big the prompt is: counted by tiktoken from real text, or napkin maths from words."""
    mode = st.radio(
        "Size the input from", ["Words (napkin math)", "Text (count with tiktoken)"],
        horizontal=True, key="input_mode",
    )
    if mode.startswith("Words"):
        words = st.number_input("Words in the user's message", value=75, step=25, key="input_words")
        if words < 0:
            st.error("Words in the user's message: must be 0 or more.", icon="⚠️")
            return None
        ratio = words_per_100_tokens(SAMPLE_PROMPT)
        st.markdown(
            f"Napkin math: **{int(words):,} words ≈ {napkin_tokens(int(words)):,} tokens** "
            f"(100 tokens ≈ 75 words). Measured by tiktoken on a sample English prompt: "
            f"**100 tokens ≈ {ratio:.0f} words**."
        )
        return napkin_tokens(int(words))
    encoding = st.selectbox(
        "Tokenizer", list(ENCODINGS), key="encoding",
        format_func=lambda name: f"{name} ({ENCODINGS[name].used_by})",
    )
    text = st.text_area("Prompt to count", SAMPLE_PROMPT, height=140, key="input_text",
                        max_chars=MAX_PROMPT_CHARS)
    tokens, words = count_tokens(text, encoding), word_count(text)
    ratio = words_per_100_tokens(text, encoding)
    ratio_text = f"**100 tokens ≈ {ratio:.0f} words**" if ratio else "no tokens"
    st.markdown(
        f"tiktoken counts **{tokens:,} tokens** in {words:,} words: {ratio_text} "
        f"(napkin math would say {napkin_tokens(words):,} tokens)."
    )
    with st.expander("See the tokens"):
        pieces = token_pieces(text, encoding)
        token_view(pieces[:MAX_TOKENS_SHOWN])
        if len(pieces) > MAX_TOKENS_SHOWN:
            st.caption(f"The first {MAX_TOKENS_SHOWN:,} of {len(pieces):,} tokens.")
    return tokens


def token_view(pieces: list[str]) -> None:
    """Each token on its own tinted background; spaces shown as ·, line breaks as ↵."""
    colours = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca", "#ddd6fe")
    spans = "".join(
        f"<span style='display:inline-block;background:{colours[i % len(colours)]};color:#111;"
        f"padding:0 3px;margin:2px 1px;border-radius:3px;white-space:pre'>"
        f"{html.escape(piece).replace(' ', '·').replace(chr(10), '↵')}</span>"
        + ("<br>" if piece.endswith("\n") else "")
        for i, piece in enumerate(pieces) if piece
    )
    st.html(f"<div style='font-family:monospace;font-size:1.2rem;line-height:2'>{spans}</div>")


def scenario_inputs() -> Scenario | None:
    """Request size, audience and rate; the validated Scenario, or None with the errors shown."""
    left, right = st.columns(2)
    with left:
        input_tokens = input_tokens_picker()
        output_tokens = st.number_input(field_title(Scenario, "output_tokens"), value=2000, step=100,
                                        key="output_tokens")
        st.caption(f"≈ {napkin_words(max(int(output_tokens), 0)):,} words by napkin math")
        cached = st.slider(field_title(Scenario, "cached_share"), 0, 100, 0, format="%d%%",
                           key="cached_share", help="Cache hits cost less where the provider "
                           "offers prompt caching (see the Cached input column).")
    with right:
        users = st.number_input(field_title(Scenario, "users"), value=10_000, step=1000, key="users")
        requests = st.number_input(field_title(Scenario, "requests_per_user"), value=1.0, step=1.0, key="requests")
        per = st.selectbox(field_title(Scenario, "per"), list(DAYS_IN), index=2, key="per")
        period = st.selectbox(field_title(Scenario, "period"), list(DAYS_IN), index=2, key="period",
                              help="A week is 7 days, a month 30 days, a year 12 months.")
    if input_tokens is None:
        return None
    return validated(
        Scenario, input_tokens=input_tokens, output_tokens=output_tokens,
        cached_share=Decimal(cached) / 100, users=users,
        requests_per_user=Decimal(str(requests)), per=per, period=period,
    )


def model_picker(table: PriceTable) -> list[ModelPrice]:
    """Models to compare: the lecture's price, genai-prices' models, and prices typed in."""
    chosen = st.multiselect(
        "Models (type to search, or type any id genai-prices knows, e.g. openai/gpt-4o-mini)",
        [LECTURE_CHOICE, *table.catalog()], default=[LECTURE_CHOICE, *DEFAULT_MODELS],
        accept_new_options=True, key="models",
    )
    prices: list[ModelPrice] = []
    for ref in chosen:
        if ref == LECTURE_CHOICE:
            prices.append(LECTURE_PRICE)
            continue
        try:
            prices.append(table.lookup(ref))
        except UnknownModel as unknown:
            st.warning(str(unknown), icon="🔎")
    custom = st.session_state.setdefault("custom_prices", {})
    prices.extend(price.to_model_price() for price in custom.values())
    with st.expander("Add a model with your own prices"):
        custom_price_form(custom)
    return prices


def custom_price_form(custom: dict[str, CustomPrice]) -> None:
    with st.form("custom_price", clear_on_submit=False):
        name = st.text_input(field_title(CustomPrice, "name"), key="custom_name", placeholder="My fine-tune")
        cols = st.columns(3)
        values = {
            "input_per_mtok": cols[0].text_input(field_title(CustomPrice, "input_per_mtok"), key="custom_input"),
            "output_per_mtok": cols[1].text_input(field_title(CustomPrice, "output_per_mtok"), key="custom_output"),
            "cached_input_per_mtok": cols[2].text_input(
                field_title(CustomPrice, "cached_input_per_mtok"), key="custom_cached"
            ),
        }
        if st.form_submit_button("Add to the comparison"):
            price = validated(CustomPrice, name=name, **values)
            if price is not None:
                custom[price.name] = price
                st.rerun()
    if custom and st.button("Remove my prices", key="clear_custom"):
        custom.clear()
        st.rerun()


def headline_metrics(row: dict[str, object], period: str) -> None:
    st.caption(f"For **{row['Model']}**:")
    cols = st.columns(3)
    cols[0].metric("Cost per request", dollars(row["Cost per request"]), border=True)
    cols[1].metric(f"Requests per {period}", f"{row[f'Requests per {period}']:,.0f}", border=True)
    cols[2].metric(f"Cost per {period}", dollars(row[f"Cost per {period}"]), border=True)


def conversation_inputs() -> Conversation | None:
    def label(name: str) -> str:
        return field_title(Conversation, name)

    cols = st.columns(3)
    turns = cols[0].slider(label("turns"), 1, 200, 50, key="turns")
    system = cols[0].number_input(label("system_tokens"), value=200, step=50, key="system_tokens")
    user = cols[1].number_input(label("user_tokens"), value=100, step=25, key="user_tokens")
    reply = cols[1].number_input(label("reply_tokens"), value=400, step=50, key="reply_tokens")
    window = cols[2].number_input(label("window_turns"), value=6, step=1, key="window")
    summary = cols[2].number_input(label("summary_tokens"), value=300, step=50, key="summary_tokens")
    return validated(
        Conversation, turns=turns, system_tokens=system, user_tokens=user,
        reply_tokens=reply, window_turns=window, summary_tokens=summary,
    )


def conversation_metrics(totals: dict[Strategy, Decimal], turns: int) -> None:
    cols = st.columns(len(totals))
    for col, (strategy, total) in zip(cols, totals.items(), strict=True):
        col.metric(f"{turns} turns, {strategy}", dollars(total), border=True)
    cheapest = min(totals.values())
    if cheapest > 0:
        st.caption(
            f"Keeping the whole history costs **{totals['keep all'] / cheapest:.1f}×** the "
            "cheapest strategy here, and the gap widens with every turn."
        )
