import streamlit as st

from lib.templates.conversation import rule_notes
from lib.templates.families import MISSING_FAMILIES_NOTE
from lib.templates.sources import shown_by_default, template_sources
from lib.ui.page import lesson_header
from lib.ui.template_widgets import conversation_editor, template_column
from lib.ui.token_viewer import token_viewer

lesson_header("chat_templates")
templates_tab, tokens_tab = st.tabs(["🧩 Chat templates", "🔤 Token viewer"])

with templates_tab:
    st.markdown(
        "A chat model reads **one string**. Its chat template turns the system / user / assistant "
        "messages into that string, with the marker tokens the model was fine-tuned on — and each "
        "family has its own (there is no universal standard). Edit the conversation; every column "
        "renders it with that family's real template, exactly as transformers' "
        "`apply_chat_template` does, and the built-in model's own template via llama.cpp.")
    messages = conversation_editor()
    for note in rule_notes(messages):
        st.warning(note)

    sources = template_sources()
    picked = st.multiselect("Templates", list(sources), key="tpl_sources",
                            default=[key for key, s in sources.items() if shown_by_default(s)],
                            format_func=lambda key: sources[key].label,
                            help="Gemma is one click away: its 262k-token vocabulary takes about "
                                 "300 MB, held once for the whole class.")
    with st.expander("Why no Llama 2 or Phi-3?"):
        st.markdown(MISSING_FAMILIES_NOTE)
    toggles = st.columns(3)
    generation_prompt = toggles[0].toggle(
        "add_generation_prompt", True, key="tpl_generation_prompt",
        help="Ends the string with the assistant's header, so the model answers next.")
    highlight = toggles[1].toggle("Highlight special tokens", True, key="tpl_highlight")
    show_ids = toggles[2].toggle("Token ids", False, key="tpl_ids",
                                 help="Colour each token and show its id.")

    if messages:  # an empty conversation has nothing to render (rule_notes said so above)
        columns = st.columns(min(3, max(1, len(picked))))
        for index, key in enumerate(picked):
            with columns[index % len(columns)]:
                template_column(sources[key], messages, generation_prompt,
                                highlight_special=highlight, show_ids=show_ids)

with tokens_tab:
    token_viewer()
