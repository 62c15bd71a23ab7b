import streamlit as st

from lib.config import default_endpoint
from lib.lessons import LESSONS
from lib.ui import session
from lib.ui.operator import operator_panel

st.set_page_config(page_title="Hosted LLM Lab", page_icon="🧪", layout="wide")

st.title("🧪 Hosted LLM Lab")
session.note_visit()
st.write(
    "An interactive companion to *Exploring Hosted LLMs*: how models evolved and are "
    "licensed, what instruction tuning and chat templates do, how the OpenAI Chat "
    "Completions API works (streaming and structured outputs included), and what it all costs."
)

st.header("Lessons")
for lesson in LESSONS:
    with st.container(border=True):
        st.page_link(lesson.path, label=f"**{lesson.title}**", icon=lesson.icon)
        st.write(lesson.summary)

st.header("Providers")
endpoints = session.endpoints()
default = default_endpoint(endpoints)
st.dataframe(
    [
        {
            "Provider": e.label,
            "Base URL": e.shown_url,
            "Status": e.status,
            "Default": "⭐" if e.id == default.id else "",
        }
        for e in endpoints
    ],
    hide_index=True,
    width="stretch",
)
st.caption(
    "No key? Everything works offline with the built-in SmolLM2-135M-Instruct model. "
    "Add `OPENROUTER_API_KEY` or `OPENAI_API_KEY` to `.streamlit/secrets.toml` or the "
    "environment, or type a key in the sidebar of a chat page, to use hosted models."
)

st.header("The built-in model from your own code")
st.write(
    "The built-in model runs on llama.cpp's own OpenAI-compatible server, so the lecture's "
    "notebook code works against it unchanged. In a terminal, in this project's folder:"
)
st.code(".venv/bin/python -m lib.serve --port 8080", language="bash")
st.write("It prints the base URL and an API key. Then, in Python:")
st.code(
    """from openai import OpenAI

client = OpenAI(base_url="http://127.0.0.1:8080/v1", api_key="<the key it printed>")
stream = client.chat.completions.create(
    model="SmolLM2-135M-Instruct",
    messages=[{"role": "user", "content": "What should I do on my upcoming trip to Paris?"}],
    stream=True,
)
for chunk in stream:
    if chunk.choices:  # the last chunk may carry only usage, with no choices
        print(chunk.choices[0].delta.content or "", end="")""",
    language="python",
)

st.header("A Gradio chat, as in the lecture")
st.write(
    "The same chat with a Gradio interface is a separate program on the same code. In a "
    "terminal, in this project's folder (the first run sets up its own environment):"
)
st.code('make gradio\nmake gradio ARGS="--example streaming"   # or basic, history', language="bash")

operator_panel()
