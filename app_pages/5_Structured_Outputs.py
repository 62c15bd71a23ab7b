import streamlit as st

from lib.ui import session
from lib.ui.chat_widgets import exchanges_panel
from lib.ui.mask_widgets import watch_the_mask
from lib.ui.page import lesson_header
from lib.ui.provider_picker import provider_sidebar
from lib.ui.structured_widgets import ask_all, experiment, results, schema_picker, show_result

lesson_header("structured_outputs")
choice = provider_sidebar()

st.markdown(
    "Asking for JSON in the prompt works *sometimes*: small models forget, big ones drop a "
    "brace. **JSON mode** (Nov 2023) guarantees valid JSON but not its shape. **Structured "
    "Outputs** (Aug 2024) guarantees the shape: the server *constrains decoding*, masking out "
    "every next token that would break the schema."
)
with st.expander("The request format, corrected from the slide"):
    st.markdown("The lecture's slide writes Structured Outputs as "
                '`{"type": "json_object", ...}`. That is JSON mode. Structured Outputs is '
                "`json_schema`, with the schema inside:")
    st.code('response_format={\n    "type": "json_schema",\n    "json_schema": {\n'
            '        "name": "Location",\n        "strict": True,\n'
            '        "schema": {...},  # Location.model_json_schema(), made strict\n    },\n}\n'
            "# or let the SDK build it from the pydantic model:\n"
            "client.chat.completions.parse(model=..., messages=..., response_format=Location)",
            language="python")

st.header("1 · The schema")
schema = schema_picker()
if schema is None:
    st.stop()
question = st.text_input("Question", schema.question, key=f"so_question_{schema.name}")

st.header("2 · Three ways to ask")
st.caption("Each mode sends the same messages (the schema described in the system prompt); "
           "only `response_format` differs.")
if st.button("Ask in all three modes", type="primary", key="so_ask"):
    ask_all(choice, schema, question)
for column, result in zip(st.columns(3), results()):
    with column:
        show_result(result)

st.header("3 · How reliable is each mode?")
st.caption("The lecture says constrained decoding is *slightly slower*. Measure it: the same "
           "request N times per mode, one request at a time.")
experiment(choice, schema, question)

st.header("4 · Watch the mask")
st.caption("Constrained decoding, one token at a time: the model's top candidates, which of "
           "them the schema's grammar allows, and the token picked. The lecture's example: "
           "where the schema needs a number, string tokens are masked out.")
watch_the_mask(choice, schema, question)

exchanges_panel(session.inspector(), 3)  # the last click's requests, a tab each
