import streamlit as st

from lib.ui import session
from lib.ui.anatomy import anatomy_view
from lib.ui.chat_turn import answer, settle_interrupted_answer
from lib.ui.chat_widgets import conversation_message, wire_panel
from lib.ui.compare import compare_view, settle_interrupted_compare
from lib.ui.context_controls import (
    context_gauge, context_strategy_input, last_request_messages, message_mark,
    next_request_plan,
)
from lib.ui.conversation import clear_button, export_import, rewind_controls, view_code
from lib.ui.page import lesson_header
from lib.ui.provider_picker import provider_sidebar
from lib.ui.system_prompt import system_prompt_input
from lib.ui.tools import tools_view

lesson_header("streaming_chat")
choice = provider_sidebar()
with st.sidebar:
    system_prompt = system_prompt_input()
    streaming = st.toggle("Stream the answer", True, key="chat_streaming",
                          help="Off: one plain request, and nothing shows until the whole "
                               "answer is done. Feel the wait, then switch it back on.")
    strategy = context_strategy_input()
    clear_button()

settle_interrupted_answer()
settle_interrupted_compare()
view = st.segmented_control("View", ["💬 Chat", "⚖️ Compare models", "🔬 Anatomy of a response",
                                     "🛠️ Tools"],
                            default="💬 Chat", key="chat_view", label_visibility="collapsed")
if view == "⚖️ Compare models":
    compare_view(choice, system_prompt)
    st.stop()
if view == "🔬 Anatomy of a response":
    anatomy_view(choice, system_prompt)
    st.stop()
if view == "🛠️ Tools":
    tools_view(choice, system_prompt)
    st.stop()

history = st.session_state.setdefault("chat_history", [])
if prompt := st.chat_input("Ask something, e.g. What should I do on my upcoming trip to Paris?"):
    history.append({"role": "user", "content": prompt})
chat, wire_column = st.columns([3, 2], gap="medium")
with wire_column:
    wire = wire_panel(session.inspector())
with chat:
    plan = next_request_plan(choice, history, system_prompt, strategy)
    for index, message in enumerate(history):
        conversation_message(message, message_mark(plan, index))
    if history and history[-1]["role"] == "user" and not history[-1].get("unsent"):
        with st.chat_message("assistant"):  # a new, regenerated or edited question
            answer(choice, history, system_prompt, streaming, strategy, wire)
        plan = next_request_plan(choice, history, system_prompt, strategy)
    context_gauge(plan, choice, history)
    if (rewound := rewind_controls(history)) is not None:
        history[:] = rewound
        st.rerun()  # draw the shortened conversation, then answer its last question
    view_code(choice.endpoint, choice.model, last_request_messages(history, system_prompt),
              choice.options, streaming)
with st.sidebar:  # drawn last, so it saves the answer just given too
    export_import(history, system_prompt)
