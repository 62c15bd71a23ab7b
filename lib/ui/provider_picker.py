"""The sidebar: where requests go (provider, key, base URL), which model, which knobs."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lib.config import Endpoint, default_endpoint
from lib.local_models import builtin_model_loaded, load_builtin_chat_model
from lib.providers import ChatProvider, SamplingOptions
from lib.sampling import bounds
from lib.providers.catalog import available_models
from lib.ui import session

OTHER_MODEL = "Other… (type a model id)"


@dataclass(frozen=True)
class Choice:
    provider: ChatProvider
    model: str
    options: SamplingOptions

    @property
    def endpoint(self) -> Endpoint:
        return self.provider.endpoint


def _key_and_url_inputs(endpoint: Endpoint) -> None:
    """Inputs for what the deployment did not configure; session.typed_settings reads them."""
    if endpoint.needs_key and not endpoint.key_from_deployment:
        value = st.text_input(
            f"{endpoint.label} API key", type="password", key=session.KEY_INPUT + endpoint.id,
            help="Kept in this browser session only: never saved, logged or shown.",
        )
        if not value and endpoint.signup_url:
            st.caption(f"Get a key at {endpoint.signup_url}, or set `{endpoint.key_env}`.")
    if endpoint.url_editable:
        st.text_input(
            "Base URL", placeholder=endpoint.base_url, key=session.URL_INPUT + endpoint.id,
            help="Any server that speaks the OpenAI Chat Completions API. "
                 "Leave empty for the address shown.",
        )


def _model_input(provider: ChatProvider) -> str:
    endpoint = provider.endpoint
    if endpoint.kind == "builtin":
        return st.selectbox("Model", endpoint.suggested_models, key="lab_model_builtin")
    listed = available_models(provider) if endpoint.configured else None
    models = listed.models if listed and listed.models else endpoint.suggested_models
    models = session.classroom_limits().models_for(endpoint, tuple(models))
    if listed and listed.error:
        st.caption(f"Could not list models: {listed.error}")
    options = [*models, OTHER_MODEL]
    picked = st.selectbox("Model", options, key=f"lab_model_{endpoint.id}")
    if picked == OTHER_MODEL:
        return st.text_input("Model id", key=f"lab_model_text_{endpoint.id}").strip()
    return picked


def sampling_inputs() -> SamplingOptions:
    """Sliders built from SamplingOptions' own bounds, defaults and descriptions."""
    defaults = SamplingOptions()
    fields = SamplingOptions.model_fields
    with st.expander("Sampling", expanded=False):
        temperature = st.slider("temperature", *bounds("temperature"), defaults.temperature,
                                0.05, help=fields["temperature"].description)
        top_p = st.slider("top_p", *bounds("top_p"), defaults.top_p, 0.05,
                          help=fields["top_p"].description)
        max_tokens = st.number_input("max_tokens", *bounds("max_tokens"), defaults.max_tokens,
                                     help=fields["max_tokens"].description)
    return SamplingOptions(temperature=temperature, top_p=top_p, max_tokens=int(max_tokens))


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
        _key_and_url_inputs(endpoint)
        provider = session.provider_for(endpoint)
        model = _model_input(provider)
        options = sampling_inputs()
    return Choice(provider, model, options)


def ensure_builtin_loaded() -> None:
    """Load the built-in model with a visible indicator the first time in this process."""
    if builtin_model_loaded():
        return
    with st.status("Loading the built-in model (first time only)…", expanded=False) as status:
        model = load_builtin_chat_model()
        status.update(
            label=f"Built-in {model.name} loaded with {model.engine} in {model.load_seconds:.1f} s",
            state="complete",
        )
