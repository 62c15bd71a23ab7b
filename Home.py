"""Hosted LLM Lab: ``streamlit run Home.py``. Every lesson is a page of app_pages/; this
script is the app around them, run before and after whichever page the browser is on."""

import streamlit as st

from lib.lessons import HOME_PAGE, LESSONS

page = st.navigation([
    st.Page(HOME_PAGE, title="Home", icon="🧪", default=True),
    *(st.Page(lesson.path, title=lesson.title, icon=lesson.icon) for lesson in LESSONS),
])
page.run()
