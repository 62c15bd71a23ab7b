"""Hosted LLM Lab: ``streamlit run Home.py``. Every lesson is a page of app_pages/; this
script is the app around them: it runs whichever page the browser is on, with this
browser's work restored before and saved after (lib/ui/classroom.py)."""

import streamlit as st

from lib.lessons import HOME_PAGE, LESSONS
from lib.ui.classroom import around_the_page

slugs = {st.Page(HOME_PAGE, title="Home", icon="🧪", default=True): "home"}
slugs.update({st.Page(lesson.path, title=lesson.title, icon=lesson.icon): lesson.slug
              for lesson in LESSONS})
page = st.navigation(list(slugs))
with around_the_page(slugs[page]):
    page.run()
