"""The timeline chart: release date against parameter count (log scale), one colour per licence class.

Closed models rarely publish their size, so releases whose size is undisclosed sit on a separate
band at the top of the chart, labelled "undisclosed", instead of at a made-up height.
Colours are mid-tone so they read on both the light and the dark theme, and each licence class also
has its own marker shape for colour-blind viewers and washed-out projectors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from lib.timeline.data import (
    LICENCE_CLASS_LABELS,
    LICENCE_CLASSES,
    UNDISCLOSED,
    LicenceClass,
    Milestone,
    ModelRelease,
)

LICENCE_CLASS_COLOURS: dict[LicenceClass, str] = {
    "closed": "#E0602A",  # vermilion
    "open-weight": "#3A8FD9",  # blue
    "open-source": "#22A06B",  # green
}
LICENCE_CLASS_SYMBOLS: dict[LicenceClass, str] = {
    "closed": "square",
    "open-weight": "circle",
    "open-source": "diamond",
}
UNDISCLOSED_Y = 5000.0  # billions: the height of the "undisclosed" band, above the largest model
BAND_EDGE_Y = 2200.0  # dotted line between disclosed sizes and the undisclosed band
SIZE_TICKS = {0.1: "100M", 1: "1B", 10: "10B", 100: "100B", 1000: "1T", UNDISCLOSED_Y: UNDISCLOSED}
FONT_SIZE = 18  # projector-friendly
# Pixel offsets (label minus marker) for the lecture's milestones, keyed by the release they point at.
MILESTONE_LABEL_OFFSETS: dict[str, tuple[int, int]] = {
    "GPT-2": (0, -75),
    "GPT-3": (0, 80),
    "InstructGPT": (-150, -60),
    "ChatGPT (GPT-3.5)": (-130, 30),
    "Llama 2": (20, 150),
}
HOVER_TEMPLATE = (
    "<b>%{customdata[0]}</b> · %{customdata[1]}<br>"
    "Released %{x|%d %b %Y}<br>"
    "Parameters: %{customdata[2]}<br>"
    "Licence: %{customdata[3]} (%{customdata[4]})<br>"
    "Context window: %{customdata[5]} tokens<br>"
    "Variants: %{customdata[6]}<br>"
    "Source: %{customdata[7]}"
    "<extra></extra>"
)


def plotted_size(release: ModelRelease) -> float:
    """Height of a release on the chart, in billions of parameters."""
    return UNDISCLOSED_Y if release.parameters_b == UNDISCLOSED else float(release.parameters_b)


def _hover_row(release: ModelRelease) -> list[str]:
    return [
        release.name,
        release.organisation,
        release.size_label,
        release.licence,
        LICENCE_CLASS_LABELS[release.licence_class],
        f"{release.context_window:,}",
        release.tuning_label,
        str(release.source),
    ]


def licence_class_trace(licence_class: LicenceClass, releases: Sequence[ModelRelease]) -> go.Scatter:
    """The markers of one licence class: one legend entry."""
    return go.Scatter(
        name=LICENCE_CLASS_LABELS[licence_class],
        x=[release.released for release in releases],
        y=[plotted_size(release) for release in releases],
        mode="markers",
        marker={
            "size": 16,
            "color": LICENCE_CLASS_COLOURS[licence_class],
            "symbol": LICENCE_CLASS_SYMBOLS[licence_class],
            "line": {"width": 1, "color": "rgba(128,128,128,0.9)"},
            "opacity": 0.9,
        },
        customdata=[_hover_row(release) for release in releases],
        hovertemplate=HOVER_TEMPLATE,
    )


def milestone_annotation(milestone: Milestone, release: ModelRelease, index: int) -> dict:
    """A labelled arrow to a release. Annotations on a log axis take log10 coordinates."""
    # The lecture's milestones have hand-placed labels in the chart's empty areas; any other
    # milestone alternates above/below (always below on the undisclosed band, the chart's top).
    above = index % 2 == 0 and release.parameters_b != UNDISCLOSED
    dx, dy = MILESTONE_LABEL_OFFSETS.get(milestone.model, (0, -70 if above else 70))
    return {
        "x": milestone.date.isoformat(),
        "y": math.log10(plotted_size(release)),
        "xref": "x",
        "yref": "y",
        "text": milestone.label.replace(": ", "<br>", 1),
        "showarrow": True,
        "arrowhead": 2,
        "arrowwidth": 1.5,
        "arrowcolor": "rgba(128,128,128,0.9)",
        "ax": dx,
        "ay": dy,
        "font": {"size": FONT_SIZE - 2},
        "bgcolor": "rgba(128,128,128,0.14)",
        "borderpad": 4,
    }


def timeline_figure(
    releases: Sequence[ModelRelease],
    milestones: Sequence[Milestone] = (),
    height: int = 640,
) -> go.Figure:
    """Scatter of `releases` over time, coloured by licence class, with `milestones` annotated."""
    figure = go.Figure()
    for licence_class in LICENCE_CLASSES:
        of_class = [release for release in releases if release.licence_class == licence_class]
        if of_class:
            figure.add_trace(licence_class_trace(licence_class, of_class))

    by_name = {release.name: release for release in releases}
    shown = [m for m in sorted(milestones, key=lambda m: m.date) if m.model in by_name]
    annotations = [milestone_annotation(m, by_name[m.model], i) for i, m in enumerate(shown)]

    if any(release.parameters_b == UNDISCLOSED for release in releases):
        figure.add_hline(y=BAND_EDGE_Y, line_dash="dot", line_width=1, line_color="rgba(128,128,128,0.7)")

    figure.update_layout(
        height=height,
        font={"size": FONT_SIZE},
        hoverlabel={"font_size": FONT_SIZE - 2},
        legend={
            "title": {"text": "Licence class"},
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "left",
            "x": 0,
            "font": {"size": FONT_SIZE},
        },
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        annotations=annotations,
    )
    figure.update_xaxes(title_text="Release date", tickfont={"size": FONT_SIZE - 2})
    figure.update_yaxes(
        title_text="Parameters (log scale)",
        type="log",
        tickvals=list(SIZE_TICKS),
        ticktext=list(SIZE_TICKS.values()),
        tickfont={"size": FONT_SIZE - 2},
        range=[math.log10(0.07), math.log10(UNDISCLOSED_Y * 2.2)],
    )
    return figure
