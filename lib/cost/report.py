"""The cost simulator's tables, CSV and charts (pandas + plotly; no Streamlit, so testable)."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from lib.cost.conversation import TurnCost
from lib.cost.pricing import ModelPrice, Scenario


def dollars(amount: Decimal) -> str:
    """Money for people: "$8,452.50" from a dollar up, all significant digits below a dollar
    ("$0.028175", "$0.000000175")."""
    if amount < 0:
        return "-" + dollars(-amount)
    if amount >= 1:
        return f"${amount.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f}"
    if amount == 0:
        return "$0.00"
    significant = amount.quantize(
        Decimal(1).scaleb(amount.adjusted() - 5), ROUND_HALF_UP
    )  # six significant digits
    return f"${significant.normalize():f}"


def per_mtok(price: Decimal | None, tiered: bool = False) -> str:
    if price is None:
        return "—"
    return f"${price.normalize():f}" + (" (+tiers)" if tiered else "")


def comparison_rows(prices: list[ModelPrice], scenario: Scenario) -> list[dict[str, object]]:
    """One row per model: its prices, one request's cost and the period's cost (exact Decimals)."""
    requests = scenario.requests_in_period()
    rows = []
    for price in prices:
        request = scenario.cost_per_request(price)
        rows.append({
            "Model": price.name,
            "Price source": price.source,
            "Input $/1M": price.input_per_mtok,
            "Cached input $/1M": price.cached_input_per_mtok,
            "Output $/1M": price.output_per_mtok,
            "Long-prompt tiers": "yes" if price.tiered else "no",
            "Input tokens": scenario.input_tokens,
            "Cached input tokens": scenario.cached_input_tokens,
            "Output tokens": scenario.output_tokens,
            "Input cost": request.input,
            "Output cost": request.output,
            "Cost per request": request.total,
            f"Requests per {scenario.period}": float(requests),
            f"Cost per {scenario.period}": scenario.cost_over_period(price),
        })
    return rows


def comparison_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The rows as a table to show: money as dollar strings, so nothing is rounded away."""
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        if "$/1M" in column:
            frame[column] = frame[column].map(per_mtok)
        elif "cost" in column.lower():
            frame[column] = frame[column].map(dollars)
        elif column.startswith("Requests per"):
            frame[column] = frame[column].map(_count)
    return frame


def _count(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def comparison_csv(rows: list[dict[str, object]]) -> str:
    """The rows as CSV, money as exact decimal strings (a spreadsheet can sum them)."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _plain(v) for k, v in row.items()})
    return buffer.getvalue()


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if value is None:
        return ""
    return value


def comparison_figure(rows: list[dict[str, object]], period: str) -> go.Figure:
    column = f"Cost per {period}"
    frame = pd.DataFrame({
        "Model": [r["Model"] for r in rows],
        column: [float(r[column]) for r in rows],
        "label": [dollars(r[column]) for r in rows],
    })
    figure = px.bar(frame, x="Model", y=column, text="label", title=f"{column} by model")
    figure.update_layout(yaxis_tickprefix="$", font_size=18, showlegend=False)
    return figure


def conversation_frame(rows: list[TurnCost]) -> pd.DataFrame:
    return pd.DataFrame({
        "Turn": [r.turn for r in rows],
        "Strategy": [r.strategy for r in rows],
        "Input tokens sent": [r.input_tokens for r in rows],
        "Cost of this turn ($)": [float(r.cost) for r in rows],
        "Cumulative cost ($)": [float(r.cumulative_cost) for r in rows],
    })


def conversation_figure(rows: list[TurnCost], column: str, title: str) -> go.Figure:
    figure = px.line(
        conversation_frame(rows), x="Turn", y=column, color="Strategy", markers=True, title=title
    )
    figure.update_layout(yaxis_tickprefix="$", font_size=18, legend_title_text="")
    return figure
