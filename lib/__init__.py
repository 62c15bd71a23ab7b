"""Hosted LLM Lab: everything that is not a page. Streamlit-free except lib/ui/."""
