"""The timeline page's filters: organisation, licence class, base / instruct."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lib.timeline.data import (
    LICENCE_CLASS_LABELS,
    LICENCE_CLASSES,
    TUNING_LABELS,
    TUNINGS,
    LicenceClass,
    ModelRelease,
    ModelTimeline,
    Tuning,
)

ORGANISATIONS_KEY = "timeline_organisations"
LICENCE_CLASSES_KEY = "timeline_licence_classes"
TUNINGS_KEY = "timeline_tunings"


@dataclass(frozen=True)
class TimelineFilters:
    organisations: tuple[str, ...]
    licence_classes: tuple[LicenceClass, ...]
    tunings: tuple[Tuning, ...]

    def apply(self, timeline: ModelTimeline) -> list[ModelRelease]:
        return timeline.select(self.organisations, self.licence_classes, self.tunings)


def timeline_filters(timeline: ModelTimeline) -> TimelineFilters:
    """Licence class and variants side by side, organisations below; every option selected at first."""
    organisations = timeline.organisations
    left, right = st.columns(2)
    chosen_classes = left.pills(
        "Licence class",
        LICENCE_CLASSES,
        selection_mode="multi",
        default=LICENCE_CLASSES,
        format_func=LICENCE_CLASS_LABELS.get,
        key=LICENCE_CLASSES_KEY,
    )
    chosen_tunings = right.pills(
        "Variants",
        TUNINGS,
        selection_mode="multi",
        default=TUNINGS,
        format_func=TUNING_LABELS.get,
        key=TUNINGS_KEY,
        help="A release that shipped both a base and an instruction-tuned model matches either.",
    )
    chosen_organisations = st.multiselect(
        "Organisation",
        organisations,
        default=organisations,
        key=ORGANISATIONS_KEY,
        placeholder="Choose organisations",
    )
    return TimelineFilters(tuple(chosen_organisations), tuple(chosen_classes), tuple(chosen_tunings))
