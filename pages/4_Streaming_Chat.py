import streamlit as st

from lib.history import assistant_message, to_api_messages
from lib.streaming import coalesce
from lib.ui import session
from lib.ui.chat_widgets import inspector_panel, metrics_row
from lib.ui.page import lesson_header
from lib.ui.provider_picker import ensure_builtin_loaded, provider_sidebar

lesson_header("streaming_chat")
choice = provider_sidebar()
system_prompt = st.sidebar.text_area(
    "System prompt", "You help travelers make plans for their trips.", key="chat_system"
)
if st.sidebar.button("Clear conversation"):
    st.session_state["chat_history"] = []

history = st.session_state.setdefault("chat_history", [])
for message in history:
    with st.chat_message(message["role"]):
        st.markdown(message["content"])
        if message.get("error"):
            st.error(message["error"])

if prompt := st.chat_input("Ask something, e.g. What should I do on my upcoming trip to Paris?"):
    history.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        refusal = session.classroom_limits().refusal(
            choice.endpoint, choice.model, session.requests_sent()
        )
        if not choice.model:
            refusal = "Pick or type a model in the sidebar first."
        if refusal:
            st.warning(refusal)
        else:
            if choice.endpoint.kind == "builtin":
                ensure_builtin_loaded()
            session.count_request()
            stream = choice.provider.stream_chat(
                to_api_messages(history, system_prompt), choice.model, choice.options
            )
            st.write_stream(coalesce(stream))
            if stream.error:
                kept = " The partial answer above is kept." if stream.text else ""
                st.error(f"{stream.error}{kept}")
            history.append(assistant_message(stream.text, str(stream.error or "") or None))
            metrics_row(stream.metrics)

inspector_panel(session.inspector())
