"""The lesson's words: the lecture's prompts, and how an instruct model gets that way."""

from __future__ import annotations

LECTURE_PROMPTS: dict[str, str] = {
    "Mary had a little": "Mary had a little",
    "Trip to Paris": "What should I do on my upcoming trip to Paris?",
}
# The lecture's settings for each: 50 tokens for the nursery rhyme, 75 for Paris.
LECTURE_MAX_TOKENS = {"Mary had a little": 50, "What should I do on my upcoming trip to Paris?": 75}

OFFLINE_FAMILIES = (
    "**Two different families.** The lecture compares a base model with *its own* "
    "instruction-tuned sibling (Qwen2.5-0.5B and Qwen2.5-0.5B-Instruct). The two models that "
    "ship with this app offline are not siblings: **Gemma 3 270M** is Google's base "
    "(pretrained-only) model, **SmolLM2-135M-Instruct** is Hugging Face's instruction-tuned "
    "one — different data, tokenizer and size. The *behaviour* still shows the lesson: one "
    "continues your text, the other answers it. Connect a provider (sidebar) to compare a "
    "real sibling pair."
)

HOW_INSTRUCT_MODELS_ARE_MADE = """
**How an instruct model gets that way** — it starts as a base model like the left pane's:
a next-token predictor trained on a huge pile of text. Then:

1. **Supervised fine-tuning (SFT).** Training continues on large datasets of questions and
   answers, tasks and completions — examples of a helpful assistant at work.
2. **A chat template.** Those examples are written in a fixed format that marks who speaks:
   *system*, *user*, *assistant*. The model learns the format along with the behaviour, which
   is why it must be given the same format later (try "another family's template" above).
3. **RLHF — reinforcement learning from human feedback.** People rank several answers to the
   same prompt; a *reward model* learns from those rankings which answers people prefer, and
   the assistant is trained to earn a high reward. ChatGPT (Nov 2022) was GPT-3.5 trained
   this way.

A base model has had none of this: ask it a question and it writes what tends to *follow*
such a question on the web — often more questions.
"""

SAMPLING_ORDER = (
    "The engine (llama.cpp) applies **top_k** first, then **top_p** on what is left, then "
    "**temperature**, and draws from the result. (transformers' `generate` applies "
    "temperature before top_k and top_p, so the same numbers can keep slightly different "
    "tokens there.)"
)
