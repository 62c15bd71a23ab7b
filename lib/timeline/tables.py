"""The tables of the timeline page, as pandas DataFrames: the dataset itself, the open models with
their Hugging Face pages, and the closed / open-weight / open-source comparison."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lib.timeline.data import LICENCE_CLASS_LABELS, LICENCE_CLASSES, ModelRelease, ModelTimeline

YES, NO = "✓ yes", "✗ no"  # plain symbols: projectors and kiosks often lack an emoji font

# What each licence class lets you do, as the lecture defines the classes.
LICENCE_CLASS_RIGHTS: dict[str, tuple[str, str, str]] = {
    "How you use it": (
        "The vendor's app or API only",
        "Any API host, or your own hardware",
        "Any API host, or your own hardware",
    ),
    "Download the weights": (NO, YES, YES),
    "Inspect the weights and architecture": (NO, YES, YES),
    "Run it locally / offline": (NO, YES + " (if it fits your hardware)", YES + " (if it fits your hardware)"),
    "Fine-tune it yourself": (
        "Only through the vendor's fine-tuning service, if offered",
        YES + " (as the licence allows)",
        YES,
    ),
    "See the training data": (NO, NO, YES),
    "Reproduce it from scratch": (NO, NO + " (no training data)", YES + " (given the compute)"),
    "Commercial use": (
        "Under the API's terms",
        "Depends on the licence: Apache-2.0 / MIT allow it; Llama and Gemma terms add conditions; "
        "some are research-only",
        "Usually permissive (Apache-2.0) — still read the licence",
    ),
}


def licence_comparison_frame(timeline: ModelTimeline, examples_per_class: int = 4) -> pd.DataFrame:
    """One column per licence class, one row per question; the last row names recent examples."""
    rows = dict(LICENCE_CLASS_RIGHTS)
    rows["Examples in this dataset"] = tuple(
        ", ".join(timeline.examples(licence_class, examples_per_class))
        for licence_class in LICENCE_CLASSES
    )
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=[LICENCE_CLASS_LABELS[c] for c in LICENCE_CLASSES]
    )
    frame.index.name = "What can you do?"
    return frame


def releases_frame(releases: Sequence[ModelRelease]) -> pd.DataFrame:
    """The dataset as a table, one row per release, with its source link."""
    return pd.DataFrame(
        [
            {
                "Model": release.name,
                "Organisation": release.organisation,
                "Released": release.released,
                "Parameters": release.size_label,
                "Licence class": LICENCE_CLASS_LABELS[release.licence_class],
                "Licence": release.licence,
                "Context window": release.context_window,
                "Variants": release.tuning_label,
                "Notes": release.notes,
                "Source": str(release.source),
            }
            for release in releases
        ],
        columns=[
            "Model", "Organisation", "Released", "Parameters", "Licence class", "Licence",
            "Context window", "Variants", "Notes", "Source",
        ],
    )


def open_models_frame(timeline: ModelTimeline) -> pd.DataFrame:
    """Open-weight and open-source releases with their Hugging Face pages, newest first."""
    return pd.DataFrame(
        [
            {
                "Model": release.name,
                "Hugging Face": str(release.hugging_face) if release.hugging_face else None,
                "Licence class": LICENCE_CLASS_LABELS[release.licence_class],
                "Licence": release.licence,
                "Parameters": release.size_label,
                "Variants": release.tuning_label,
                "Released": release.released,
            }
            for release in timeline.open_models()
        ],
        columns=["Model", "Hugging Face", "Licence class", "Licence", "Parameters", "Variants", "Released"],
    )
