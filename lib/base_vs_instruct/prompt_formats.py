"""What the instruct model reads: its own chat template, the bare prompt, or another
family's template — the lecture's "wrong format will likely generate garbage", made visible.

Every template is rendered by a real renderer, never typed here: the instruct model's own by
its engine (llama.cpp's ``/apply-template``, from the GGUF's template), the wrong family's by
transformers' chat-template renderer from Gemma 3's own ``tokenizer_config.json`` (vendored
in lib/templates/). Only the template is read: no engine is started and no tokenizer loaded
for a string (Gemma's loaded tokenizer alone is ~300 MB), so a hosted pair costs nothing here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import lzma
from dataclasses import dataclass
from typing import Literal

import httpx

from lib.models.engine import local_server
from lib.templates.families import FAMILIES

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


def own_template_text(model_id: str, messages: list[dict[str, str]]) -> str | None:
    """The exact text a shipped model reads for these messages: its engine's /apply-template;
    None when its server has none (a vLLM fleet): the template is then applied out of sight,
    as on a hosted provider."""
    try:
        return local_server(model_id).post("/apply-template", {"messages": messages})["prompt"]
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (404, 405, 501):
            return None
        raise


class TemplateUnavailable(RuntimeError):
    """The vendored template could not be read; the message names the file."""


@functools.cache
def _gemma_chat_template() -> str:
    family = FAMILIES["gemma"]
    packed = family.folder / "tokenizer_config.json.xz"
    try:
        data = lzma.decompress(packed.read_bytes())
    except (OSError, lzma.LZMAError) as exc:
        raise TemplateUnavailable(f"{packed} cannot be read: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != family.config_sha256:
        raise TemplateUnavailable(f"{packed} is corrupt (its sha256 differs).")
    return json.loads(data)["chat_template"]


def wrong_template_text(messages: list[dict[str, str]]) -> str:
    """The messages in Gemma 3's format (google/gemma-3-270m-it's chat template), rendered
    as transformers' apply_chat_template(tokenize=False) renders it."""
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template(
        conversations=[messages], chat_template=_gemma_chat_template(),
        add_generation_prompt=True,
        # <bos> is a control token of Gemma's vocabulary, not text: the receiving model's own
        # engine puts its own start token first (llama.cpp's Gemma format leaves it out too).
        bos_token="")
    return rendered[0]
