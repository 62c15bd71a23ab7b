import streamlit as st

from lib.ui.page import lesson_header
from lib.timeline import text
from lib.timeline.data import load_timeline
from lib.timeline.chart import timeline_figure
from lib.timeline.tables import licence_comparison_frame, open_models_frame, releases_frame
from lib.ui.timeline_filters import timeline_filters

lesson_header("timeline")

timeline = load_timeline()

st.header("From GPT-2 to today")
st.markdown(text.HOW_TO_READ_THE_CHART)
filters = timeline_filters(timeline)
shown = filters.apply(timeline)
if shown:
    st.plotly_chart(timeline_figure(shown, timeline.milestones_for(shown)), key="timeline_chart")
    st.caption(f"{len(shown)} of {len(timeline.releases)} releases shown.")
else:
    st.info(text.NO_MATCH, icon="🔎")

with st.expander(f"The data behind the chart ({len(shown)} releases)"):
    st.markdown(text.ONE_ROW_PER_RELEASE)
    st.dataframe(
        releases_frame(shown),
        hide_index=True,
        column_config={
            "Source": st.column_config.LinkColumn("Source"),
            "Context window": st.column_config.NumberColumn("Context window", format="localized"),
        },
    )

st.header("Closed, open-weight, open-source")
st.markdown(text.CLASSES_INTRO)
st.table(licence_comparison_frame(timeline))

st.header("Discover open models")
guide, demo = st.columns([3, 2])
guide.markdown(text.MODEL_CARD_GUIDE)
demo.info(text.SEED_DEMO, icon="🤗")
st.subheader("The open models in this dataset")
st.dataframe(
    open_models_frame(timeline),
    hide_index=True,
    column_config={
        "Hugging Face": st.column_config.LinkColumn(
            "Hugging Face", display_text=r"https://huggingface\.co/(.*)", width="medium"
        )
    },
)
