import streamlit as st

from lib.ui import session
from lib.ui.chat_turn import answer, settle_interrupted_answer
from lib.ui.chat_widgets import inspector_panel
from lib.ui.conversation import export_import, rewind_controls, view_code
from lib.ui.page import lesson_header
from lib.ui.provider_picker import provider_sidebar
from lib.ui.system_prompt import system_prompt_input

lesson_header("streaming_chat")
choice = provider_sidebar()
with st.sidebar:
    system_prompt = system_prompt_input()
    streaming = st.toggle("Stream the answer", True, key="chat_streaming",
                          help="Off: one plain request, and nothing shows until the whole "
                               "answer is done. Feel the wait, then switch it back on.")
if st.sidebar.button("Clear conversation"):
    st.session_state["chat_history"] = []

history = st.session_state.setdefault("chat_history", [])
settle_interrupted_answer()
for message in history:
    with st.chat_message(message["role"]):
        st.markdown(message["content"])
        if message.get("error"):
            st.error(message["error"])

rewound = rewind_controls(history)
if prompt := st.chat_input("Ask something, e.g. What should I do on my upcoming trip to Paris?"):
    history.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        answer(choice, history, system_prompt, streaming)
elif rewound is not None:
    history[:] = rewound
    st.rerun()  # draw the shortened conversation, then answer its last question
elif history and history[-1]["role"] == "user" and not history[-1].get("unsent"):
    with st.chat_message("assistant"):  # a regenerated or edited question waits for its answer
        answer(choice, history, system_prompt, streaming)

with st.sidebar:  # drawn last, so it saves the answer just given too
    export_import(history, system_prompt)
view_code(choice.endpoint, choice.model, history, system_prompt, choice.options, streaming)
inspector_panel(session.inspector())
