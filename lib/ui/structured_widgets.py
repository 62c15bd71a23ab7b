"""The Structured Outputs page's pieces of screen: the schema picker, one mode's answer,
and the reliability experiment. Logic lives in lib/structured; this only draws it."""

from __future__ import annotations

import json
import threading
from typing import Callable

import streamlit as st

from lib.chat.sampling import reasoning_model
from lib.cost.pricing import usage_cost
from lib.structured import builder, schemas
from lib.structured.charts import latency_figure, per_token_figure, rates_figure
from lib.structured.experiment import estimate, summarize
from lib.structured.metering import RequestMeter
from lib.structured.modes import MODES, Ask, Mode, ModeResult, messages_for, run_mode
from lib.structured.runs import (EXPERIMENT_TIME_LIMIT_S, AskRun, ExperimentRun, ask_each,
                                 run_experiment)
from lib.structured.schemas import OutputSchema, SchemaError
from lib.structured.support import json_schema_support, local_engine
from lib.ui import session
from lib.ui.provider_picker import Choice

BUILDER_TABLE = "so_builder_table"  # the builder's rows as edited (lib/what_is_saved.py)
BUILDER_START = "so_builder_start"
SCHEMA_CHOICES = ("Location (the lecture's)", "Trip itinerary (nested)", "Build your own",
                  "Paste a JSON Schema")
EXAMPLE_PASTE = json.dumps({
    "title": "Weather", "type": "object", "additionalProperties": False,
    "properties": {"city": {"type": "string"},
                   "temperature_c": {"type": "number"},
                   "sky": {"type": "string", "enum": ["sunny", "cloudy", "rain", "snow"]}},
    "required": ["city", "temperature_c", "sky"]}, indent=2)


def schema_picker() -> OutputSchema | None:
    """The schema chosen, built or pasted; None (with the reason shown) when it is invalid."""
    picked = st.radio("Schema", SCHEMA_CHOICES, horizontal=True, key="so_schema_choice")
    try:
        if picked == SCHEMA_CHOICES[0]:
            schema = schemas.LOCATION
            st.code(LOCATION_SOURCE, language="python")
        elif picked == SCHEMA_CHOICES[1]:
            schema = schemas.TRIP
            st.code(TRIP_SOURCE, language="python")
        elif picked == SCHEMA_CHOICES[2]:
            schema = _builder()
        else:
            text = st.text_area("JSON Schema", EXAMPLE_PASTE, height=260, key="so_pasted")
            schema = schemas.from_json_text(text)
    except SchemaError as exc:
        st.error(f"This schema can't be used yet: {exc}")
        return None
    with st.expander("The JSON Schema that is sent", expanded=picked == SCHEMA_CHOICES[2]):
        st.json(schema.json_schema)
    return schema


def _builder() -> OutputSchema:
    st.caption("One row per field. To nest, add a field of type **object**, then give its "
               "fields that object's name as **parent**. **list** makes a field an array; "
               "an **enum** takes its allowed values, comma-separated. Strict Structured "
               "Outputs lists every field as required: a field that is not required may be "
               "`null` instead.")
    title = st.text_input("Schema name", "Location", key="so_builder_title")
    # The editor's own state holds edits to the rows it started from, so it starts from the
    # same rows as long as that state lives: the lecture's, or the table kept for this
    # browser (after a reload, or once Streamlit dropped the editor's state on another page).
    if "so_builder_rows" not in st.session_state or BUILDER_START not in st.session_state:
        st.session_state[BUILDER_START] = st.session_state.get(BUILDER_TABLE, builder.LOCATION_ROWS)
    start = st.session_state[BUILDER_START]
    rows = st.data_editor(
        start, num_rows="dynamic", key="so_builder_rows", width="stretch",
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=builder.TYPES,
                                                     default="string", required=True),
            "list": st.column_config.CheckboxColumn("list", default=False),
            "required": st.column_config.CheckboxColumn("required", default=True),
            "enum_values": st.column_config.TextColumn("enum values"),
            "parent": st.column_config.TextColumn("parent (object field)"),
        })
    st.session_state[BUILDER_TABLE] = rows = list(rows)  # saved for this browser
    schema = builder.build_schema(rows, title.strip())
    st.caption(f"The pydantic model `{schema.name}` was built from these rows; "
               "`parse` sends it as the JSON Schema below.")
    return schema


LOCATION_SOURCE = '''class Location(BaseModel):
    name: str
    country: str
    latitude: float
    longitude: float'''

TRIP_SOURCE = '''class Activity(BaseModel):
    time: str = Field(description="When, e.g. 09:00 or morning")
    description: str
    category: Literal["sight", "food", "museum", "walk", "transport"]

class Day(BaseModel):
    day: int = Field(description="1 for the first day")
    activities: list[Activity]

class TripItinerary(BaseModel):
    destination: str
    days: list[Day]'''


def missing(choice: Choice) -> str | None:
    """Why nothing can be sent now (no provider or no model); the deployment's caps are
    asked before every request (see meter)."""
    if choice.error:
        return choice.error
    if choice.provider is None or not choice.model:
        return "Pick or type a model in the sidebar first."
    return None


def schema_supported(choice: Choice) -> bool | None:
    endpoint = choice.provider.endpoint
    if local_engine(endpoint) is not None:
        return True  # llama.cpp turns any JSON Schema into a grammar
    return json_schema_support(endpoint.base_url, endpoint.api_key, choice.model)


def request_lock() -> threading.Lock:
    """This session's requests go one at a time, across its script runs."""
    return st.session_state.setdefault("so_request_lock", threading.Lock())


def sender(choice: Choice, schema: OutputSchema, question: str,
           supported: bool | None) -> Callable[[Mode], ModeResult]:
    """Send one mode's request through the session's provider (its inspector sees it),
    every request admitted and recorded against the deployment's caps."""
    provider, options = choice.provider, choice.options
    endpoint = provider.endpoint
    account = session.account()  # this click's requests, one after another, same size each
    ask = Ask(question, options.max_tokens, options.temperature, options.seed,
              reasoning_model(endpoint.id, choice.model))
    asked = [{"role": "user", "content": question}, schema.json_schema]  # the schema goes too
    meter = RequestMeter(
        choice.model, lambda pending: session.admit(account, choice.endpoint, choice.model,
                                                    pending, asked, options.max_tokens),
        account if endpoint.key_from_deployment else None, endpoint.bills_usage)
    return lambda mode: run_mode(provider.client, choice.model, mode, schema, ask,
                                 provider.where, provider.inspector.redact, supported, meter)


def ask_all(choice: Choice, schema: OutputSchema, question: str) -> None:
    """"Ask in all three modes": a new AskRun in session state, one request per mode, with
    progress drawn before each (where a click ends this run)."""
    why_not = missing(choice)
    if why_not:
        st.warning(why_not)
        return
    supported = schema_supported(choice)
    if supported is False:
        st.info(f"{choice.provider.where} says `{choice.model}` does not support Structured "
                "Outputs (`json_schema`); that mode falls back to JSON mode.")
    run = st.session_state["so_ask_run"] = AskRun()
    progress = st.progress(0.0, "Asking, one mode after another…")
    ask_each(run, MODES, sender(choice, schema, question, supported), request_lock(),
             lambda done, mode: progress.progress(done / len(MODES), f"Asking in {mode.label}…"))
    progress.empty()


def results() -> list[ModeResult]:
    run = st.session_state.get("so_ask_run")
    return run.results if run is not None else []


def show_result(result: ModeResult) -> None:
    st.subheader(result.mode.label)
    if result.refused:
        st.warning(f"Not sent: {result.refused}")
    if result.sent_as is not result.mode:
        st.caption(f"sent as {result.sent_as.label}")
    for note in result.notes:
        st.warning(note)
    if result.error is not None:
        st.error(str(result.error))
    if result.refusal:
        st.info(f"**Refusal** (the model declined; `message.refusal`): {result.refusal}")
    if result.text is not None:
        st.markdown("**Raw text** (`message.content`)")
        st.code(result.text or "(empty)", language="json", wrap_lines=True)
    check = result.check
    if check is not None:
        if check.schema_valid:
            st.success("✅ Valid JSON that matches the schema")
        elif check.valid_json:
            st.warning("⚠️ Valid JSON, but not the schema:\n\n" +
                       "\n".join(f"- {e}" for e in check.errors[:8]))
        else:
            st.error(f"❌ {check.errors[0]}")
        if check.valid_json:
            st.markdown("**Parsed**")
            st.json(check.parsed, expanded=True)
    facts = [f"finish_reason `{result.finish_reason}`" if result.finish_reason else None,
             f"{result.latency_s:.2f} s" if result.latency_s is not None else None,
             f"{result.completion_tokens} tokens" if result.completion_tokens else None]
    st.caption(" · ".join(f for f in facts if f))
    if result.request_body:
        with st.expander("Request sent"):
            st.json(result.request_body)


def experiment(choice: Choice, schema: OutputSchema, question: str) -> None:
    """N runs per mode with progress, an estimate first, Stop at any time, then charts."""
    left, right = st.columns([1, 2])
    n = left.number_input("Runs per mode (N)", 1, 50, 5, key="so_runs")
    modes = right.multiselect("Modes", MODES, MODES, format_func=lambda m: m.label,
                              key="so_modes")
    prompt_tokens = len(json.dumps(messages_for(schema, question))) // 4  # ≈ 4 characters a token
    guess = estimate(int(n), modes, prompt_tokens, choice.options.max_tokens,
                     lambda p, c: usage_cost(choice.model, p, c) if choice.model else None)
    if not choice.endpoint.bills_usage:
        price = "free (nothing is billed on this endpoint)"
    elif guess.cost_usd is None:
        price = "price unknown for this model"
    else:
        price = f"at most ${guess.cost_usd:.4f} (genai-prices)"
    limit = EXPERIMENT_TIME_LIMIT_S / 60
    st.caption(f"Up to {guess.requests} requests, one at a time, for at most {limit:g} "
               f"minutes; at most ≈{guess.max_tokens:,} tokens; cost: {price}.")
    if st.button("▶ Start the experiment", key="so_start", disabled=not modes):
        why_not = missing(choice)
        if why_not:
            st.warning(why_not)
        else:
            run = st.session_state["so_experiment"] = ExperimentRun(
                guess.requests, f"{schema.name}: “{question}” on {choice.model}")
            _run(choice, schema, question, int(n), modes, run)
    run: ExperimentRun | None = st.session_state.get("so_experiment")
    if run is None:
        return
    if run.stopped:
        st.warning(f"Stopped: {run.stopped}")
    if run.trials:
        st.markdown(f"**Results** for {run.label}")
        if len(run.trials) < run.planned:
            st.info(f"Stopped after {len(run.trials)} of {run.planned} requests; "
                    "the results so far:")
        _charts(run.trials)


def _run(choice, schema, question, n, modes, run: ExperimentRun) -> None:
    # Any click reruns the page and so ends this run at its next progress update: Stop is a
    # plain button. The run is its own object: a newer run never gets this one's trials.
    st.button("⏹ Stop", key="so_stop")
    progress = st.progress(0.0, "Starting…")

    def drawn(run: ExperimentRun) -> None:
        trial = run.trials[-1]
        progress.progress(len(run.trials) / run.planned,
                          f"{len(run.trials)} of {run.planned} requests "
                          f"({trial.mode.label}, run {trial.run})")

    run_experiment(run, modes, n, sender(choice, schema, question, schema_supported(choice)),
                   request_lock(), lambda: st.session_state.get("so_experiment") is run, drawn)
    progress.empty()


def _charts(done) -> None:
    summaries = summarize(done)
    table = [{"mode": s.mode.label, "runs": s.runs, "failed requests": s.failed,
              "valid JSON": f"{100 * s.valid_json_rate:.0f}%",
              "matches schema": f"{100 * s.schema_valid_rate:.0f}%",
              "cut at max_tokens": s.cut_at_max_tokens,
              "matches, of those not cut": "–" if s.schema_valid_when_finished is None
              else f"{100 * s.schema_valid_when_finished:.0f}%",
              "median latency (s)": None if s.median_latency_s is None else round(s.median_latency_s, 2),
              "ms per token": None if s.median_ms_per_token is None else round(s.median_ms_per_token, 1),
              "engine ms per token": None if s.median_engine_ms_per_token is None
              else round(s.median_engine_ms_per_token, 1)} for s in summaries]
    st.table(table)
    left, right = st.columns(2)
    left.plotly_chart(rates_figure(summaries), key="so_rates")
    right.plotly_chart(latency_figure(done), key="so_latency")
    st.plotly_chart(per_token_figure(summaries), key="so_per_token")
    if any(s.cut_at_max_tokens for s in summaries):
        st.caption("An answer cut at max_tokens is unfinished JSON in every mode: the "
                   "guarantee of Structured Outputs holds for answers that end on their own. "
                   "Raise max_tokens in the sidebar for bigger schemas.")
    st.caption("Time per token compares decoding with and without the schema; "
               "on a shared machine the load changes between requests, so rounds alternate "
               "the modes and the medians are shown.")
