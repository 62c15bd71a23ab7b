import streamlit as st

from lib.ui.page import lesson_header

lesson_header("cost_simulator")
st.info("This lesson is being built: see the project's open issues.")
