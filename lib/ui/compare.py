"""The chat page's Compare view: one prompt, two or three provider/model panes, all streaming
at once, each with its own time to first token, speed, tokens and cost."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from lib.chat.compare import SideBySide
from lib.chat.history import to_api_messages
from lib.chat.providers import ChatProvider
from lib.chat.turn import ChatTurn
from lib.config import Endpoint
from lib.models.catalog import available_models
from lib.ui import session
from lib.ui.provider_picker import Choice

ACTIVE = "compare_active"  # the SideBySide being streamed, for the next run to settle
RESULTS = "compare_results"
DEFAULT_PROMPT = "What should I do on my upcoming trip to Paris?"


@dataclass(frozen=True)
class Pane:
    endpoint: Endpoint
    provider: ChatProvider | None
    model: str
    error: str | None


def settle_interrupted_compare() -> None:
    """End a comparison a rerun interrupted (its threads stop with their streams)."""
    race = st.session_state.pop(ACTIVE, None)
    if race is not None:
        race.settle()
        st.session_state[RESULTS] = _results(race)


def compare_view(choice: Choice, system_prompt: str) -> None:
    settle_interrupted_compare()
    st.markdown("One prompt, several models, **all streaming at once**: watch which starts "
                "first, which writes fastest, and what each costs. The sidebar's system "
                "prompt and sampling settings go to every pane.")
    prompt = st.text_area("Prompt", DEFAULT_PROMPT, key="compare_prompt", height=80)
    count = st.radio("Panes", [2, 3], horizontal=True, key="compare_panes")
    columns = st.columns(count)
    panes = [_pane_picker(i, column, choice) for i, column in enumerate(columns)]
    if st.button("▶ Send to all at once", type="primary", key="compare_send",
                 disabled=not prompt.strip()):
        st.session_state.pop(RESULTS, None)
        _race(choice, panes, columns, prompt.strip(), system_prompt)
    elif results := st.session_state.get(RESULTS):
        for result in results:
            if result["pane"] < len(columns):
                with columns[result["pane"]]:
                    _show_result(result)


def _pane_defaults(choice: Choice, endpoints: list[Endpoint]) -> list[str]:
    """Which endpoint each pane starts on: the sidebar's, then hosted ones with a key, then
    the built-in model (local servers are offered but rarely running)."""
    keyed = [e.id for e in endpoints if e.kind != "builtin" and e.api_key]
    builtin = [e.id for e in endpoints if e.kind == "builtin"]
    ordered = [choice.endpoint.id, *keyed, *builtin]
    return list(dict.fromkeys(ordered))


def _pane_picker(index: int, column, choice: Choice) -> Pane:
    with column:
        endpoints = [e for e in session.endpoints() if e.kind == "builtin" or e.configured]
        labels = {e.id: e.label for e in endpoints}
        ids = list(labels)
        defaults = _pane_defaults(choice, endpoints)
        start = defaults[min(index, len(defaults) - 1)]
        endpoint_id = st.selectbox(f"Pane {index + 1}: provider", ids, key=f"compare_provider_{index}",
                                   index=ids.index(start) if start in ids else 0,
                                   format_func=labels.get)
        endpoint = next(e for e in endpoints if e.id == endpoint_id)
        try:
            provider = session.provider_for(endpoint)
        except Exception as exc:  # the built-in model could not start: the pane says why
            return Pane(endpoint, None, "", f"{endpoint.label} is not available: {exc}")
        listed = available_models(provider)
        models = session.policy().models_for(
            endpoint, tuple(listed.models or endpoint.suggested_models))
        if not models:
            if listed.error:
                st.caption(f"Could not list models: {listed.error}")
            model = st.text_input("Model id", key=f"compare_model_text_{index}_{endpoint.id}")
        else:
            model = st.selectbox("Model", models, key=f"compare_model_{index}_{endpoint.id}")
        return Pane(endpoint, provider, (model or "").strip(), None)


def _race(choice: Choice, panes: list[Pane], columns, prompt: str, system_prompt: str) -> None:
    turns, shown_panes, refusals, pending = [], [], {}, 0
    try:  # nothing is drawn until the race is in the session, for the next run to settle
        for index, pane in enumerate(panes):
            history = [{"role": "user", "content": prompt}]
            account = session.account()  # this pane's request: what it holds, it gives back
            refusal = pane.error or (None if pane.model else "Pick a model.") or session.admit(
                account, pane.endpoint, pane.model, pending,
                to_api_messages(history, system_prompt), choice.options.max_tokens)
            if refusal:
                refusals[index] = refusal
                continue
            pending += pane.endpoint.key_from_deployment  # let through, recorded when settled
            turns.append(ChatTurn.start(pane.provider, pane.model, choice.options, history,
                                        system_prompt, account=account))
            shown_panes.append(index)
        if turns:
            race = SideBySide(turns, panes=shown_panes)
            st.session_state[ACTIVE] = race
    except BaseException:  # a rerun came before the race was kept: nothing was sent
        for turn in turns:
            turn.account.release(turn.model)
        raise
    for index, refusal in refusals.items():
        columns[index].warning(refusal)
    if not turns:
        return
    slots = [columns[index].empty() for index in shown_panes]
    # Any click reruns the page and interrupts this run; the next run settles the race.
    stop = st.empty()
    stop.button("⏹ Stop all", key="compare_stop")
    try:
        race.start()
        drawn = [-1] * len(turns)
        for texts in race.progress(interval_s=0.1):
            for i, (slot, turn, text) in enumerate(zip(slots, turns, texts)):
                if len(text) != drawn[i]:  # only panes that moved: the page stays light
                    slot.markdown(f"**{turn.model}**\n\n{text}")
                    drawn[i] = len(text)
    finally:
        race.settle()  # plain Python first: a rerun may interrupt the drawing below
        if st.session_state.get(ACTIVE) is race:  # not taken over by a newer run
            st.session_state.pop(ACTIVE, None)
            st.session_state[RESULTS] = _results(race)
        stop.empty()
    for slot, result in zip(slots, _results(race)):
        with slot.container():
            _show_result(result)


def _results(race: SideBySide) -> list[dict]:
    results = []
    for index, turn in enumerate(race.turns):
        timing = race.timing(index)
        metrics = turn.stream.metrics
        results.append({
            "pane": race.panes[index], "model": turn.model, "where": turn.provider.where,
            "text": turn.stream.text,
            "error": str(turn.stream.error) if turn.stream.error else None,
            "first_token_s": timing.first_token_s, "done_s": timing.done_s,
            "tokens_per_s": metrics.tokens_per_s if metrics else None,
            "completion_tokens": metrics.completion_tokens if metrics else None,
            "estimate": metrics.usage_is_estimate if metrics else True,
            "cost": turn.cost,
        })
    return results


def _show_result(result: dict) -> None:
    st.markdown(f"**{result['model']}**\n\n{result['text']}")
    if result["error"]:
        st.error(result["error"] + (" The partial answer is kept." if result["text"] else ""))
    first, done = result["first_token_s"], result["done_s"]
    speed = f"{result['tokens_per_s']:.1f} tok/s" if result["tokens_per_s"] else "— tok/s"
    about = "≈ " if result["estimate"] else ""
    cost = result["cost"]
    price = "price unknown" if cost is None else "free" if cost == 0 else f"${cost:.6f}"
    st.caption(
        f"first token {'—' if first is None else f'{first:.2f} s'} · done "
        f"{'—' if done is None else f'{done:.2f} s'} after the click · {speed} · "
        f"{about}{result['completion_tokens'] or 0} tokens · {price} · {result['where']}")
