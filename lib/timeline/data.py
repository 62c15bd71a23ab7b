"""The model-history dataset (data/models.yaml): its schema, loading, and the queries the page needs.

The pydantic models below are the one definition of the dataset's columns; loading the YAML
validates every row, so a typo in the data fails at start-up (and in tests), not on screen.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)

DATASET_PATH = Path(__file__).resolve().parent.parent.parent / "data" / "models.yaml"

LicenceClass = Literal["closed", "open-weight", "open-source"]
Tuning = Literal["base", "instruct"]

LICENCE_CLASSES: tuple[LicenceClass, ...] = get_args(LicenceClass)
TUNINGS: tuple[Tuning, ...] = get_args(Tuning)
UNDISCLOSED = "undisclosed"
FIRST_RELEASE = date(2019, 1, 1)  # the lecture starts at GPT-2

LICENCE_CLASS_LABELS: dict[LicenceClass, str] = {
    "closed": "Closed",
    "open-weight": "Open-weight",
    "open-source": "Open-source",
}
TUNING_LABELS: dict[Tuning, str] = {"base": "Base (completion)", "instruct": "Instruction-tuned"}


class ModelRelease(BaseModel):
    """One model release: a row of data/models.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    organisation: str = Field(min_length=1)
    released: date
    parameters_b: PositiveFloat | Literal["undisclosed"] = Field(
        description="Total parameters in billions (largest size of the release), or 'undisclosed'."
    )
    active_parameters_b: PositiveFloat | None = Field(
        default=None, description="Mixture-of-experts models: parameters used per token, in billions."
    )
    licence_class: LicenceClass
    licence: str = Field(min_length=1)
    context_window: PositiveInt = Field(
        description="Tokens; the window generally available at release "
                    "(a longer beta or preview window is noted, not counted).")
    tuning: tuple[Tuning, ...] = Field(min_length=1, description="Variants shipped: base and/or instruct.")
    source: HttpUrl
    hugging_face: HttpUrl | None = None
    notes: str = ""

    @field_validator("released")
    @classmethod
    def _released_in_the_lecture_era(cls, released: date) -> date:
        if not FIRST_RELEASE <= released <= date.today():
            raise ValueError(f"release date {released} is outside {FIRST_RELEASE}..today")
        return released

    @field_validator("tuning")
    @classmethod
    def _tunings_unique(cls, tuning: tuple[Tuning, ...]) -> tuple[Tuning, ...]:
        if len(set(tuning)) != len(tuning):
            raise ValueError(f"tuning lists a variant twice: {tuning}")
        return tuple(t for t in TUNINGS if t in tuning)  # canonical order: base, instruct

    @field_validator("hugging_face")
    @classmethod
    def _hugging_face_is_hugging_face(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and url.host != "huggingface.co":
            raise ValueError(f"hugging_face must be a huggingface.co page, got {url}")
        return url

    @model_validator(mode="after")
    def _consistent_with_licence_class(self) -> ModelRelease:
        is_open = self.licence_class != "closed"
        if is_open and self.parameters_b == UNDISCLOSED:
            raise ValueError(f"{self.name}: downloadable weights have a known size")
        if not is_open and self.hugging_face is not None:
            raise ValueError(f"{self.name}: a closed model has no Hugging Face page")
        if self.active_parameters_b is not None and (
            self.parameters_b == UNDISCLOSED or self.active_parameters_b >= self.parameters_b
        ):
            raise ValueError(f"{self.name}: active parameters must be fewer than total parameters")
        return self

    @property
    def is_open(self) -> bool:
        return self.licence_class != "closed"

    @property
    def size_label(self) -> str:
        """'175B', '0.27B', '1T', 'undisclosed'; with '(37B active)' for mixtures of experts."""
        if self.parameters_b == UNDISCLOSED:
            return UNDISCLOSED
        label = format_billions(self.parameters_b)
        if self.active_parameters_b is not None:
            label += f" ({format_billions(self.active_parameters_b)} active)"
        return label

    @property
    def tuning_label(self) -> str:
        return " + ".join(self.tuning)


class Milestone(BaseModel):
    """An event the lecture highlights, pointing at one release on the chart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    model: str = Field(min_length=1, description="Name of the release the annotation points at.")
    label: str = Field(min_length=1, max_length=40)
    source: HttpUrl


class ModelTimeline(BaseModel):
    """The whole dataset: releases plus the milestones annotated on the chart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    releases: tuple[ModelRelease, ...] = Field(min_length=1)
    milestones: tuple[Milestone, ...] = ()

    @model_validator(mode="after")
    def _names_unique_and_milestones_resolve(self) -> ModelTimeline:
        names = [release.name for release in self.releases]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate release names: {duplicates}")
        missing = [m.model for m in self.milestones if m.model not in names]
        if missing:
            raise ValueError(f"milestones point at unknown releases: {missing}")
        return self

    def release(self, name: str) -> ModelRelease:
        return next(release for release in self.releases if release.name == name)

    @property
    def organisations(self) -> list[str]:
        """Organisations, the one with the most releases first (the filter's option order)."""
        counts: dict[str, int] = {}
        for release in self.releases:
            counts[release.organisation] = counts.get(release.organisation, 0) + 1
        return sorted(counts, key=lambda org: (-counts[org], org.lower()))

    def select(
        self,
        organisations: Iterable[str],
        licence_classes: Iterable[LicenceClass],
        tunings: Iterable[Tuning],
    ) -> list[ModelRelease]:
        """Releases matching all three filters, oldest first. A release matches a tuning filter
        when it shipped any of the chosen variants."""
        orgs, classes, wanted = set(organisations), set(licence_classes), set(tunings)
        chosen = [
            release
            for release in self.releases
            if release.organisation in orgs
            and release.licence_class in classes
            and wanted.intersection(release.tuning)
        ]
        return sorted(chosen, key=lambda release: (release.released, release.name))

    def milestones_for(self, releases: Iterable[ModelRelease]) -> list[Milestone]:
        """Milestones whose release is among `releases` (so a filtered chart keeps only its own)."""
        shown = {release.name for release in releases}
        return [milestone for milestone in self.milestones if milestone.model in shown]

    def open_models(self) -> list[ModelRelease]:
        """Open-weight and open-source releases, newest first."""
        return sorted(
            (release for release in self.releases if release.is_open),
            key=lambda release: release.released,
            reverse=True,
        )

    def examples(self, licence_class: LicenceClass, count: int = 4) -> list[str]:
        """Names of the most recent releases of one licence class."""
        matching = [release for release in self.releases if release.licence_class == licence_class]
        matching.sort(key=lambda release: release.released, reverse=True)
        return [release.name for release in matching[:count]]


def format_billions(billions: float) -> str:
    """A parameter count for people: 0.27 -> '270M', 7.3 -> '7.3B', 1000 -> '1T'."""
    if billions >= 1000:
        return f"{billions / 1000:g}T"
    if billions < 1:
        return f"{billions * 1000:g}M"
    return f"{billions:g}B"


def parse_timeline(text: str) -> ModelTimeline:
    """Validate the YAML text of a dataset."""
    return ModelTimeline.model_validate(yaml.safe_load(text))


@functools.cache
def load_timeline(path: Path = DATASET_PATH) -> ModelTimeline:
    """The dataset, validated; read once per process."""
    return parse_timeline(path.read_text(encoding="utf-8"))
