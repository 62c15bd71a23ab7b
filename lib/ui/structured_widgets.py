"""The Structured Outputs page's pieces of screen: the schema picker, one mode's answer,
and the reliability experiment. Logic lives in lib/structured; this only draws it."""

from __future__ import annotations

import json

import streamlit as st

from lib.cost.pricing import usage_cost
from lib.structured import builder, schemas
from lib.structured.charts import latency_figure, per_token_figure, rates_figure
from lib.structured.experiment import estimate, summarize, trials
from lib.structured.modes import MODES, Ask, Mode, ModeResult, messages_for, run_mode
from lib.structured.schemas import OutputSchema, SchemaError
from lib.structured.support import json_schema_support
from lib.ui import session
from lib.ui.provider_picker import Choice

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
    rows = st.data_editor(
        builder.LOCATION_ROWS, num_rows="dynamic", key="so_builder_rows", width="stretch",
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=builder.TYPES,
                                                     default="string", required=True),
            "list": st.column_config.CheckboxColumn("list", default=False),
            "required": st.column_config.CheckboxColumn("required", default=True),
            "enum_values": st.column_config.TextColumn("enum values"),
            "parent": st.column_config.TextColumn("parent (object field)"),
        })
    schema = builder.build_schema(list(rows), title.strip())
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


def refusal(choice: Choice) -> str | None:
    """Why nothing may be sent now (no provider, no model, the deployment's caps)."""
    if choice.error:
        return choice.error
    if choice.provider is None or not choice.model:
        return "Pick or type a model in the sidebar first."
    return session.admit(choice.endpoint, choice.model)


def schema_supported(choice: Choice) -> bool | None:
    if choice.endpoint.kind == "builtin":
        return True  # llama.cpp turns any JSON Schema into a grammar
    endpoint = choice.provider.endpoint
    return json_schema_support(endpoint.base_url, endpoint.api_key, choice.model)


def ask(choice: Choice, schema: OutputSchema, question: str, mode: Mode,
        supported: bool | None) -> ModeResult:
    """One request through the session's provider (its inspector sees it), counted against
    the deployment's caps when it uses the deployment's key."""
    provider = choice.provider
    options = choice.options
    result = run_mode(provider.client, choice.model, mode, schema,
                      Ask(question, options.max_tokens, options.temperature, options.seed),
                      provider.where, provider.inspector.redact, supported)
    if provider.endpoint.key_from_deployment and result.error is None:
        cost = usage_cost(choice.model, result.prompt_tokens or 0, result.completion_tokens or 0)
        session.account().record(choice.model, cost)
    return result


def show_result(result: ModeResult) -> None:
    st.subheader(result.mode.label)
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
    if choice.endpoint.kind == "builtin":
        price = "free (the built-in model runs here)"
    elif guess.cost_usd is None:
        price = "price unknown for this model"
    else:
        price = f"at most ${guess.cost_usd:.4f} (genai-prices)"
    st.caption(f"Up to {guess.requests} requests, one at a time; at most ≈{guess.max_tokens:,} "
               f"tokens; cost: {price}.")
    start = st.button("▶ Start the experiment", key="so_start", disabled=not modes)
    done = st.session_state.setdefault("so_trials", [])
    if start:
        why_not = refusal(choice)
        if why_not:
            st.warning(why_not)
        else:
            done.clear()
            st.session_state["so_planned"] = guess.requests
            st.session_state["so_trials_for"] = f"{schema.name}: “{question}” on {choice.model}"
            _run(choice, schema, question, int(n), modes, done)
    if done:
        planned = st.session_state.get("so_planned", len(done))
        st.markdown(f"**Results** for {st.session_state.get('so_trials_for', '')}")
        if len(done) < planned:
            st.info(f"Stopped after {len(done)} of {planned} requests; the results so far:")
        _charts(done)


def _run(choice, schema, question, n, modes, done) -> None:
    # Any click reruns the page and so ends this run at its next screen update: Stop is a
    # plain button. The trials live in session state, so the ones finished are kept.
    st.button("⏹ Stop", key="so_stop")
    progress = st.progress(0.0, "Starting…")
    supported = schema_supported(choice)
    total = n * len(modes)
    runs = trials(lambda mode: ask(choice, schema, question, mode, supported), modes, n)
    while len(done) < total:
        why_not = session.admit(choice.endpoint, choice.model)  # caps count every request
        if why_not:
            st.warning(f"Stopped: {why_not}")
            break
        trial = next(runs)
        done.append(trial)
        progress.progress(len(done) / total, f"{len(done)} of {total} requests "
                                             f"({trial.mode.label}, run {trial.run})")
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


def last_exchange(inspector) -> None:
    """The last HTTP exchange, raw (secrets redacted), as the inspector recorded it."""
    latest = inspector.latest()
    with st.expander("🔍 The last HTTP exchange, raw"):
        if latest is None:
            st.caption("Nothing sent yet.")
            return
        request, response = latest["request"], latest["response"]
        st.markdown(f"**Request** `{request['method']} {request['url']}`")
        st.json(request.get("json"), expanded=False)
        st.markdown(f"**Response** `{response['status']}`")
        if "json" in response:
            st.json(response["json"], expanded=False)
        else:
            st.code(response.get("text", ""), language="text")
