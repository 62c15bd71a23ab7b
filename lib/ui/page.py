"""The header every page starts with."""

from __future__ import annotations

import streamlit as st

from lib.lessons import BY_SLUG, Lesson
from lib.ui import session


def lesson_header(slug: str) -> Lesson:
    """Configure the page and show its title and what it teaches."""
    lesson = BY_SLUG[slug]
    st.set_page_config(
        page_title=f"{lesson.title} · Hosted LLM Lab", page_icon=lesson.icon, layout="wide"
    )
    st.title(f"{lesson.icon} {lesson.title}")
    st.caption(lesson.summary)
    session.note_visit()
    return lesson
