"""The system prompt box: the lecture's presets, free text, and its three rules beside it."""

from __future__ import annotations

import streamlit as st

from lib.chat.system_prompts import PRESETS, RULES

TEXT_KEY = "chat_system"
PRESET_KEY = "chat_system_preset"


def system_prompt_input() -> str:
    """A preset picker that fills the text box (which stays editable); returns the text."""
    def use_preset() -> None:
        st.session_state[TEXT_KEY] = PRESETS[st.session_state[PRESET_KEY]]

    st.selectbox("System prompt", list(PRESETS), key=PRESET_KEY, on_change=use_preset,
                 help="The lecture's examples. Pick one, then edit it freely below.")
    text = st.text_area("System prompt text", PRESETS["Travel planner"], key=TEXT_KEY,
                        label_visibility="collapsed")
    st.caption("A good system prompt: " + "; ".join(
        f"**{rule.lower()}** ({how})" for rule, how in RULES) + ". One only, and first.")
    return text
