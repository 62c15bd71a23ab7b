"""Structured outputs: schemas, the three ways to ask for JSON, and how reliable each is."""
