"""Classroom mode's storage: each browser session's work, saved server-side so a reload
restores it. Streamlit-free (the pages decide what to save and when); ``store.open_store``
picks SQLite (one process, the default) or Redis (several replicas) from the settings.
"""
