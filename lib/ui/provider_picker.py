"""The sidebar: where requests go (provider, key, base URL), which model, which knobs."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lib.config import Endpoint, default_endpoint
from lib.chat.providers import ChatProvider, starts_on_first_use
from lib.chat.sampling import SamplingOptions, bounds, reasoning_model
from lib.models.engine import EngineError
from lib.models.settings import EngineSettingsError
from lib.models.shipped import ModelNotInstalled
from lib.models.catalog import available_models
from lib.ui import session

OTHER_MODEL = "Other… (type a model id)"


# Every answer needs at least this much room for the prompt: max_tokens stops short of it.
MIN_PROMPT_TOKENS = 256


@dataclass(frozen=True)
class Choice:
    endpoint: Endpoint
    provider: ChatProvider | None  # None when it could not be reached: see error
    model: str
    options: SamplingOptions
    error: str | None = None
    window_tokens: int | None = None  # the model's context window, when known


def key_and_url_inputs(endpoint: Endpoint) -> None:
    """Inputs for what the deployment did not configure; session.typed_settings reads them."""
    if endpoint.needs_key and not endpoint.key_from_deployment:
        value = st.text_input(
            f"{endpoint.label} API key", type="password", key=session.KEY_INPUT + endpoint.id,
            help="Held in the app's memory for this browser session only, and sent only to "
                 f"{endpoint.label}: never saved, logged or shown. Gone when the session ends.",
        )
        if not value and endpoint.signup_url:
            st.caption(f"Get a key at {endpoint.signup_url}, or set `{endpoint.key_env}`.")
    if endpoint.url_editable:
        st.text_input(
            "Base URL", placeholder=endpoint.base_url, key=session.URL_INPUT + endpoint.id,
            help="Any server that speaks the OpenAI Chat Completions API. "
                 "Leave empty for the address shown.",
        )


def _model_input(endpoint: Endpoint, provider: ChatProvider | None) -> tuple[str, int | None]:
    """The model picked, and its context window if the server's listing gives one."""
    listed = available_models(provider) if provider and endpoint.configured else None
    models = listed.models if listed and listed.models else endpoint.suggested_models
    models = session.policy().models_for(endpoint, tuple(models))
    if listed and listed.error:
        st.caption(f"Could not list models: {listed.error}")
    options = [*models] if endpoint.serves_only_its_own_models else [*models, OTHER_MODEL]
    picked = st.selectbox("Model", options, key=f"lab_model_{endpoint.id}",
                          format_func=lambda m: f"{m}  · free" if m.endswith(":free") else m)
    if any(m.endswith(":free") for m in models):
        st.caption("Ids ending in `:free` cost nothing: OpenRouter serves them with lower rate "
                   "limits, and the provider may log prompts.")
    if picked == OTHER_MODEL:
        return st.text_input("Model id", key=f"lab_model_text_{endpoint.id}").strip(), None
    return picked, (listed.windows.get(picked) if listed else None)


def sampling_inputs(context_tokens: int | None = None, reasoning: bool = False) -> SamplingOptions:
    """Sliders built from SamplingOptions' own bounds, defaults and descriptions; max_tokens
    also stays inside the model's context window when it is known. ``reasoning``: the model
    takes none of the knobs but the length limit (and seed, stop), and the panel says so."""
    defaults = SamplingOptions()
    fields = SamplingOptions.model_fields
    low, high = bounds("max_tokens")
    if context_tokens:
        high = min(high, context_tokens - MIN_PROMPT_TOKENS)
    with st.expander("Sampling", expanded=False):
        if reasoning:
            st.caption("A reasoning model (o-series, GPT-5): its limit is sent as "
                       "`max_completion_tokens` (hidden reasoning counts too), and temperature, "
                       "top_p and the penalties are left out: it takes only their defaults.")
        temperature = st.slider("temperature", *bounds("temperature"), defaults.temperature,
                                0.05, help=fields["temperature"].description,
                                key="lab_temperature")
        top_p = st.slider("top_p", *bounds("top_p"), defaults.top_p, 0.05,
                          help=fields["top_p"].description, key="lab_top_p")
        help_text = fields["max_tokens"].description
        if context_tokens:
            help_text += f" At most {high:,} here: the model's window is {context_tokens:,} tokens."
        max_tokens = st.number_input("max_tokens", low, high, min(defaults.max_tokens, high),
                                     help=help_text, key=f"lab_max_tokens_{high}")
        seed = st.number_input("seed", *bounds("seed"), value=None, step=1,
                               placeholder="none", help=fields["seed"].description,
                               key="lab_seed")
        stop = st.text_area("stop (one per line)", "", height=68,
                            help=fields["stop"].description, key="lab_stop")
        presence = st.slider("presence_penalty", *bounds("presence_penalty"), 0.0, 0.1,
                             help=fields["presence_penalty"].description,
                             key="lab_presence_penalty")
        frequency = st.slider("frequency_penalty", *bounds("frequency_penalty"), 0.0, 0.1,
                              help=fields["frequency_penalty"].description,
                              key="lab_frequency_penalty")
    stops = tuple(line for line in stop.splitlines() if line)[:4]
    return SamplingOptions(temperature=temperature, top_p=top_p, max_tokens=int(max_tokens),
                           seed=None if seed is None else int(seed), stop=stops,
                           presence_penalty=presence, frequency_penalty=frequency)


def _connect(endpoint: Endpoint) -> tuple[ChatProvider | None, str | None]:
    """This session's provider for the endpoint, or why there is none. The built-in model's
    server starts here the first time, with a visible indicator.

    The indicator lives in a slot drawn on every run, so the widgets below never change
    position between runs (a moved widget shows twice until the run ends)."""
    slot = st.empty()
    try:
        if not starts_on_first_use(endpoint):
            return session.provider_for(endpoint), None
        with slot.status("Starting the built-in model (first time only)…") as status:
            provider = session.provider_for(endpoint)
            status.update(label="The built-in model is ready", state="complete")
        return provider, None
    except (ModelNotInstalled, EngineSettingsError, EngineError) as exc:
        message = f"The built-in model is not available: {exc}"
        slot.error(message)
        return None, message


def provider_sidebar() -> Choice:
    """Draw the provider picker in the sidebar and return what the user chose."""
    with st.sidebar:
        st.header("Model")
        endpoints = session.endpoints()
        default = default_endpoint(endpoints)
        labels = {e.id: f"{e.label} — {e.status}" for e in endpoints}
        ids = [e.id for e in endpoints]
        chosen_id = st.selectbox(
            "Provider", ids, index=ids.index(default.id), format_func=labels.get,
            key="lab_provider",
        )
        endpoint = next(e for e in endpoints if e.id == chosen_id)
        key_and_url_inputs(endpoint)
        provider, error = _connect(endpoint)
        model, listed_window = _model_input(endpoint, provider)
        window = provider.context_window if provider else None
        window_tokens = window.tokens if window else listed_window
        options = sampling_inputs(window_tokens, reasoning_model(endpoint.id, model))
    return Choice(endpoint, provider, model, options, error, window_tokens)
