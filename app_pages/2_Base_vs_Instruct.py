import streamlit as st

from lib.base_vs_instruct.code import transformers_code
from lib.base_vs_instruct.lesson_text import HOW_INSTRUCT_MODELS_ARE_MADE, OFFLINE_FAMILIES
from lib.ui import session
from lib.ui.chat_widgets import exchanges_panel
from lib.ui.page import lesson_header
from lib.ui.pair_picker import knobs_sidebar, pair_sidebar
from lib.ui.side_by_side import next_token_view, panes, prompt_inputs

lesson_header("base_vs_instruct")
pair = pair_sidebar()
knobs = knobs_sidebar(pair)
if pair.offline:
    st.info(OFFLINE_FAMILIES)

main, aside = st.columns([5, 2])
with main:
    prompt, system_prompt, prompt_format = prompt_inputs()
    run = panes(pair, prompt, system_prompt, prompt_format, knobs)
with aside:
    st.markdown(HOW_INSTRUCT_MODELS_ARE_MADE)

next_token_view(run, knobs)

with st.expander("The transformers code the lecture teaches, for this run"):
    st.caption("Shown, not run: it needs torch, an optional extra this app does not install. "
               "The panes above do the same through the engine's OpenAI-compatible API.")
    if run is not None:
        st.code(transformers_code(run.base.request.body["model"],
                                  run.instruct.request.body["model"], run.prompt, knobs,
                                  run.messages,
                                  None if run.prompt_format == "template" else run.instruct_reads))
    else:
        st.caption("Generate first.")
exchanges_panel(session.inspector(), 2)
