"""The transformers code that renders a conversation, as the lecture writes it."""

from __future__ import annotations

import json


def apply_chat_template_code(hub_id: str, messages: list[dict[str, str]],
                             add_generation_prompt: bool) -> str:
    """Python that prints what the page shows for `hub_id` (it downloads the tokenizer files;
    the lab itself reads them from its vendored copy)."""
    rows = ",\n".join(f"    {json.dumps(m, ensure_ascii=False)}" for m in messages)
    return (
        "from transformers import AutoTokenizer  # no torch needed for templates\n\n"
        f'tokenizer = AutoTokenizer.from_pretrained("{hub_id}")\n'
        f"messages = [\n{rows},\n]\n"
        "text = tokenizer.apply_chat_template(\n"
        f"    messages, tokenize=False, add_generation_prompt={add_generation_prompt}\n"
        ")\n"
        "print(text)\n"
        "print(tokenizer(text, add_special_tokens=False)[\"input_ids\"])  # the token ids\n"
    )
