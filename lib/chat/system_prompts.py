"""System prompts from the lecture, and its three rules for writing one.

The system prompt sets the model's intention; it comes first, and there is only one. The
presets are the lecture's examples, written out the way its best practices ask: specific,
with the output defined and boundaries set.
"""

from __future__ import annotations

RULES = (
    ("Be specific", "say who the assistant is and how it helps"),
    ("Define the output", "length, format, structure: \"list no more than 3 suggestions\""),
    ("Set boundaries", "what to do with questions outside the task"),
)

PRESETS: dict[str, str] = {
    "Travel planner": "You help travelers make plans for their trips.",
    "Math homework helper": (
        "You help students with their math homework. Always show your work step by step, "
        "and give hints before full answers. If you are asked about anything other than "
        "math, politely bring the student back to the homework."
    ),
    "Python tutor": (
        "You are a Python programming tutor who explains concepts using simple analogies and "
        "provides code examples. List no more than 3 suggestions. If you are asked questions "
        "outside coding, politely redirect the student back to the task."
    ),
    "Helpful assistant": "You are a helpful assistant.",
    "None": "",
}
CUSTOM = "Custom (edit below)"


def preset_for(text: str) -> str:
    """The preset whose text this is, or CUSTOM."""
    return next((name for name, preset in PRESETS.items() if preset == text.strip()), CUSTOM)
