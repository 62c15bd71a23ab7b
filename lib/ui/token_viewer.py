"""The token viewer: text in, tokens out, for tiktoken and the shipped models' tokenizers."""

from __future__ import annotations

import streamlit as st

from lib.templates.engine_templates import EngineUnavailable
from lib.templates.token_html import tokens_html
from lib.templates.token_view import NAPKIN_RULE, napkin_check, tokenize_for_view, tokenizer_choices

# From the lecture: the instruction-tuned model's answer about Paris.
SAMPLE_TEXT = (
    "Great question! On your next trip to Paris, you can start by visiting the iconic Eiffel "
    "Tower and the Louvre Museum. Don't miss exploring the Notre-Dame Cathedral and its stunning "
    "stained glass windows. For a bit of a break, consider visiting Montmartre for some beautiful "
    "art and architecture. If you're looking for something more adventurous, you could take a "
    "stroll through the charming streets of Montmartre or explore the vibrant nightlife of Le "
    "Marais. Have fun planning your trip to Paris!"
)
MAX_CHARS = 20_000


def token_viewer() -> None:
    text = st.text_area("Text to tokenize", SAMPLE_TEXT, key="tv_text", height=140,
                        max_chars=MAX_CHARS)
    choices = {choice.key: choice for choice in tokenizer_choices()}
    picked = st.multiselect("Tokenizers", list(choices), key="tv_picked",
                            default=[key for key, choice in choices.items() if choice.shown_first],
                            format_func=lambda key: choices[key].label)
    show_ids = st.toggle("Show token ids", False, key="tv_ids")
    st.caption("Each coloured box is one token; · is a space, ↵ a new line, → a tab. Bytes in "
               "grey are a token holding part of a character (emoji often take 2–3 tokens).")
    for key in picked:
        choice = choices[key]
        st.markdown(f"**{choice.label}** · {choice.used_by}")
        try:
            tokens = tokenize_for_view(key, text)
        except EngineUnavailable as exc:
            st.error(f"{choice.label} can't tokenize right now: {exc}")
            continue
        check = napkin_check(text, len(tokens))
        counts = st.columns(4)
        counts[0].metric("Tokens", check.tokens)
        counts[1].metric("Words", check.words)
        counts[2].metric("Napkin estimate", check.napkin_tokens,
                         None if check.error_percent is None
                         else f"{check.error_percent:+.0f}% vs real",
                         delta_color="off", help=f"The lecture's napkin maths: {NAPKIN_RULE}.")
        counts[3].metric("Words per 100 tokens",
                         "–" if check.words_per_100_tokens is None
                         else f"{check.words_per_100_tokens:.0f}",
                         help="The napkin rule says 75.")
        st.markdown(tokens_html(tokens, show_ids=show_ids), unsafe_allow_html=True)
