"""What the instruct model reads: its own chat template, the bare prompt, or another
family's template — the lecture's "wrong format will likely generate garbage", made visible.

Every template is rendered by a real renderer, never typed here: the instruct model's own by
its engine (llama.cpp's ``/apply-template``, from the GGUF's template), the wrong family's by
the Gemma engine (llama.cpp's built-in Gemma format, the one Gemma's instruction-tuned models
were trained on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lib.models.engine import local_server
from lib.models.shipped import GEMMA3_BASE

FormatKey = Literal["template", "raw", "wrong"]


@dataclass(frozen=True)
class PromptFormat:
    key: FormatKey
    label: str
    explanation: str


FORMATS: tuple[PromptFormat, ...] = (
    PromptFormat("template", "Its own chat template (right)",
                 "Sent as chat messages: the server wraps them in the model's template, the "
                 "format it was fine-tuned on."),
    PromptFormat("raw", "No template (raw prompt)",
                 "The bare text on /v1/completions: the instruct model sees no turns, so it "
                 "can only continue the text, like a base model."),
    PromptFormat("wrong", "Another family's template (Gemma, wrong)",
                 "Gemma's turn markers rendered by a real renderer and sent on /v1/completions: "
                 "markers this model never saw in training."),
)
BY_KEY = {f.key: f for f in FORMATS}
WRONG_FAMILY = "Gemma (<start_of_turn> … <end_of_turn>)"


def messages_for(prompt: str, system_prompt: str = "") -> list[dict[str, str]]:
    """The conversation the instruct pane sends: one system prompt first (if any), then the
    user's prompt."""
    system = [{"role": "system", "content": system_prompt.strip()}] if system_prompt.strip() else []
    return [*system, {"role": "user", "content": prompt}]


def own_template_text(model_id: str, messages: list[dict[str, str]]) -> str:
    """The exact text a shipped model reads for these messages: its engine's /apply-template."""
    return local_server(model_id).post("/apply-template", {"messages": messages})["prompt"]


def wrong_template_text(messages: list[dict[str, str]]) -> str:
    """The messages in Gemma's format, rendered by llama.cpp's built-in Gemma template."""
    return own_template_text(GEMMA3_BASE.id, messages)
