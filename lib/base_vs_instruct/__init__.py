"""Base vs instruction-tuned: one prompt, two models, side by side (Streamlit-free)."""
