"""Plotly figures of the reliability experiment and of one mask step.

plotly and pandas are imported here, when the page loads, not first inside a figure
function or st.dataframe: with Streamlit's fast reruns a click starts the next script run
while the old one may still be importing, and plotly peeks at sys.modules["pandas"] — seen
in the running app as "partially initialized module 'pandas' has no attribute 'Series'"."""

from __future__ import annotations

from typing import Sequence

import pandas  # noqa: F401  (imported early on purpose: see above)
import plotly.graph_objects as go

from lib.structured.experiment import ModeSummary, Trial


def rates_figure(summaries: Sequence[ModeSummary]):
    labels = [s.mode.label for s in summaries]
    figure = go.Figure([
        go.Bar(name="valid JSON", x=labels, y=[100 * s.valid_json_rate for s in summaries],
               text=[f"{100 * s.valid_json_rate:.0f}%" for s in summaries]),
        go.Bar(name="matches the schema", x=labels,
               y=[100 * s.schema_valid_rate for s in summaries],
               text=[f"{100 * s.schema_valid_rate:.0f}%" for s in summaries]),
    ])
    figure.update_layout(barmode="group", yaxis_title="% of answers", yaxis_range=[0, 105],
                         title="How often each mode gives usable JSON", height=360)
    return figure


def latency_figure(done: Sequence[Trial]):
    figure = go.Figure()
    for mode in dict.fromkeys(t.mode for t in done):
        mine = [t for t in done if t.mode is mode and t.latency_s is not None and not t.failed]
        figure.add_trace(go.Box(name=mode.label, y=[t.latency_s for t in mine], boxpoints="all"))
    figure.update_layout(yaxis_title="seconds per request", showlegend=False,
                         title="Latency per request", height=360)
    return figure


def per_token_figure(summaries: Sequence[ModeSummary]):
    labels = [s.mode.label for s in summaries]
    figure = go.Figure([go.Bar(name="wall time", x=labels,
                               y=[s.median_ms_per_token for s in summaries])])
    if any(s.median_engine_ms_per_token for s in summaries):
        figure.add_trace(go.Bar(name="engine decode time", x=labels,
                                y=[s.median_engine_ms_per_token for s in summaries]))
    figure.update_layout(barmode="group", yaxis_title="ms per generated token (median)",
                         title="Time per token: is constrained decoding slower?", height=360)
    return figure


def candidates_figure(step):
    """One mask step: the model's top candidates, allowed ones in colour, masked ones grey."""
    candidates = list(reversed(step.candidates))  # most likely at the top
    labels = [f"{'⬅ ' if c.id == step.picked.id else ''}{c.text!r}" for c in candidates]
    figure = go.Figure(go.Bar(
        x=[c.probability for c in candidates], y=labels, orientation="h",
        marker_color=["#2e7d32" if c.allowed else "#bdbdbd" for c in candidates],
        text=["allowed" if c.allowed else "masked out" for c in candidates],
        textposition="auto"))
    figure.update_layout(xaxis_title="the model's probability (before the mask)",
                         title=f"Step {step.number}: green may follow, grey is masked out",
                         height=80 + 28 * len(candidates), margin={"l": 10, "r": 10, "t": 40})
    return figure
