"""Plotly figures of the reliability experiment (plotly imported when a chart is drawn)."""

from __future__ import annotations

from typing import Sequence

from lib.structured.experiment import ModeSummary, Trial


def rates_figure(summaries: Sequence[ModeSummary]):
    import plotly.graph_objects as go

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
    import plotly.graph_objects as go

    figure = go.Figure()
    for mode in dict.fromkeys(t.mode for t in done):
        mine = [t for t in done if t.mode is mode and t.latency_s is not None and not t.failed]
        figure.add_trace(go.Box(name=mode.label, y=[t.latency_s for t in mine], boxpoints="all"))
    figure.update_layout(yaxis_title="seconds per request", showlegend=False,
                         title="Latency per request", height=360)
    return figure


def per_token_figure(summaries: Sequence[ModeSummary]):
    import plotly.graph_objects as go

    labels = [s.mode.label for s in summaries]
    figure = go.Figure([go.Bar(name="wall time", x=labels,
                               y=[s.median_ms_per_token for s in summaries])])
    if any(s.median_engine_ms_per_token for s in summaries):
        figure.add_trace(go.Bar(name="engine decode time", x=labels,
                                y=[s.median_engine_ms_per_token for s in summaries]))
    figure.update_layout(barmode="group", yaxis_title="ms per generated token (median)",
                         title="Time per token: is constrained decoding slower?", height=360)
    return figure
