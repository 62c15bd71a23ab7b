"""The base vs instruct page's main area: the prompt, the two panes, the next-token view."""

from __future__ import annotations

import contextlib

import streamlit as st

from lib.base_vs_instruct.knobs import Knobs
from lib.base_vs_instruct.lesson_text import LECTURE_MAX_TOKENS, LECTURE_PROMPTS, SAMPLING_ORDER
from lib.base_vs_instruct.next_token import reshape, shown_token
from lib.base_vs_instruct.panes import PaneStream
from lib.base_vs_instruct.pairs import Run, start_run
from lib.base_vs_instruct.prompt_formats import BY_KEY, FORMATS
from lib.base_vs_instruct.side_by_side import pane_texts
from lib.ledger.accounts import KeyAccount
from lib.ui import session
from lib.ui.pair_picker import PairChoice

RUN = "bvi_run"  # the last run (kept across reruns, partial if it was interrupted)
PROMPT = "bvi_prompt"


def _use_lecture_prompt(prompt: str) -> None:
    st.session_state[PROMPT] = prompt  # a callback: runs before the widgets are drawn
    st.session_state["bvi_max_new_tokens"] = LECTURE_MAX_TOKENS.get(prompt, 75)


def prompt_inputs() -> tuple[str, str, str]:
    """(prompt, system prompt, instruct prompt format), the lecture's prompts one click away."""
    st.session_state.setdefault(PROMPT, LECTURE_PROMPTS["Mary had a little"])
    buttons = st.container(horizontal=True)
    for name, text in LECTURE_PROMPTS.items():
        buttons.button(f"“{text}”", key=f"bvi_lecture_{name}", on_click=_use_lecture_prompt,
                      args=(text,), help=f"The lecture's prompt, with its "
                                         f"{LECTURE_MAX_TOKENS[text]} new tokens")
    prompt = st.text_area("Prompt (both models get it)", key=PROMPT, height=80)
    left, right = st.columns([2, 3])
    system_prompt = left.text_input(
        "System prompt (instruct model only, optional)", key="bvi_system",
        placeholder="e.g. You help travelers make plans for their trips.")
    prompt_format = right.radio("What the instruct model reads", [f.key for f in FORMATS],
                                format_func=lambda k: BY_KEY[k].label, key="bvi_format",
                                horizontal=True)
    right.caption(BY_KEY[prompt_format].explanation)
    return prompt, system_prompt, prompt_format


def _refusal(pair: PairChoice, prompt: str, knobs: Knobs, account: KeyAccount) -> str | None:
    if pair.errors:
        return " ".join(pair.errors)
    if pair.base is None or pair.instruct is None:
        return "Pick the two models in the sidebar first."
    if not prompt.strip():
        return "Type a prompt first (or click one of the lecture's)."
    for pending, side in enumerate((pair.base, pair.instruct)):
        # Both panes of a hosted pair share one provider: the base pane's request is let
        # through before either is recorded, so the instruct pane counts it as pending (at
        # cap - 1 one click would otherwise go one over the cap).
        refusal = session.admit(account, side.provider.endpoint, side.model, pending,
                                [prompt], knobs.max_new_tokens)
        if refusal:
            account.release(pair.base.model)  # admitted, then not sent: its hold is free
            return refusal
    return None


def _pane_header(column, title: str, model: str, path: str) -> None:
    column.markdown(f"**{title}** · `{model}`")
    column.caption(f"POST {path}")


def _show_outcome(column, stream: PaneStream) -> None:
    if stream.error:
        kept = " The partial text above is kept." if stream.text and "kept" not in str(
            stream.error) else ""
        column.error(f"{stream.error}{kept}")
    metrics = stream.metrics
    if metrics is None:
        return
    ttft = f"{metrics.ttft_s * 1000:.0f} ms" if metrics.ttft_s is not None else "—"
    speed = f"{metrics.tokens_per_s:.1f} tok/s" if metrics.tokens_per_s else "—"
    estimate = " (est.)" if metrics.usage_is_estimate else ""
    column.caption(f"First token {ttft} · {speed} · {metrics.completion_tokens} tokens{estimate}"
                   f" · finish: {metrics.finish_reason or '—'}")


def _reads_box(column, run: Run) -> None:
    with column.expander("The exact text the instruct model read", expanded=True):
        if run.instruct_reads is None:
            st.caption("The provider applies the model's chat template on its side: the "
                       "request carries only the messages.")
        else:
            st.code(run.instruct_reads, language=None, wrap_lines=True)


def panes(pair: PairChoice, prompt: str, system_prompt: str, prompt_format: str,
          knobs: Knobs) -> Run | None:
    """The two panes: streamed side by side when the button is clicked, else the last run."""
    clicked = st.button("▶ Generate both", type="primary", key="bvi_generate")
    left, right = st.columns(2)
    run: Run | None = st.session_state.get(RUN)
    if run is not None:  # interrupted by this rerun: end it before showing it
        run.settle()
    if clicked:
        account = session.account()  # the click's two requests
        refusal = _refusal(pair, prompt, knobs, account)
        if refusal:
            st.warning(refusal)
            return run
        try:
            run = start_run(pair.base, pair.instruct, prompt, knobs, prompt_format,
                            system_prompt, account)
        except Exception as exc:  # the template could not be rendered: the engine said why
            account.release(pair.base.model)
            account.release(pair.instruct.model)
            st.error(f"Could not prepare the instruct model's prompt: {exc}")
            return st.session_state.get(RUN)
        st.session_state[RUN] = run
    if run is None:
        _pane_header(left, "Base (completion) model", pair.base.model if pair.base else "—",
                     "/v1/completions")
        _pane_header(right, "Instruction-tuned model", pair.instruct.model if pair.instruct
                     else "—", "/v1/chat/completions")
        left.caption("Click ▶ Generate both: the two answers stream at the same time.")
        return None
    _pane_header(left, "Base (completion) model", run.base.request.body["model"],
                 run.base.request.path)
    _pane_header(right, "Instruction-tuned model", run.instruct.request.body["model"],
                 run.instruct.request.path)
    _reads_box(right, run)
    # Keyed containers: a stable handle for the browser test (class st-key-<key>).
    boxes = [left.container(key="bvi_text_base").empty(),
             right.container(key="bvi_text_instruct").empty()]
    prefix = [run.prompt, ""]  # the base model's text continues the prompt
    if clicked:
        try:
            with contextlib.closing(pane_texts([run.base, run.instruct])) as updates:
                for index, text in updates:  # a rerun mid-stream closes both streams here
                    boxes[index].code(prefix[index] + text, language=None, wrap_lines=True)
        finally:
            run.settle()  # counted once, even when interrupted (plain Python: no st here)
    else:
        for index, stream in enumerate((run.base, run.instruct)):
            boxes[index].code(prefix[index] + stream.text, language=None, wrap_lines=True)
    _show_outcome(left, run.base)
    _show_outcome(right, run.instruct)
    return run


def next_token_view(run: Run | None, knobs: Knobs) -> None:
    st.subheader("Next-token view: what each model considered")
    if run is None or not (run.base.steps or run.instruct.steps):
        st.caption("Generate first: every token arrives with its likeliest alternatives.")
        return
    longest = max(len(run.base.steps), len(run.instruct.steps))
    step = st.slider("Step (the n-th generated token)", 1, max(longest, 2), 1, key="bvi_step")
    st.caption(SAMPLING_ORDER + " Move the knobs in the sidebar: the right-hand column "
               "follows them without generating again.")
    for column, stream, before in zip(st.columns(2), (run.base, run.instruct),
                                      (run.prompt, "")):
        with column:
            if step > len(stream.steps):
                st.caption(f"{stream.request.body['model']} wrote {len(stream.steps)} tokens.")
                continue
            current = stream.steps[step - 1]
            context = before + "".join(s.chosen for s in stream.steps[:step - 1])
            shown_context = f"…{shown_token(context[-60:])}" if context else "(start of the answer)"
            st.markdown(f"`{shown_context}` → **`{shown_token(current.chosen)}`**")
            shaped = reshape(current, knobs.temperature, knobs.top_k, knobs.top_p,
                             knobs.do_sample)
            rows = [{"token": shown_token(r.token),
                     "model's probability": r.model_probability,
                     "after the knobs": r.sampling_probability,
                     "picked": "◀" if r.token == current.chosen else ""}
                    for r in shaped.rows]
            st.dataframe(rows, hide_index=True, width="stretch", column_config={
                "model's probability": st.column_config.ProgressColumn(
                    format="%.3f", min_value=0.0, max_value=1.0),
                "after the knobs": st.column_config.ProgressColumn(
                    format="%.3f", min_value=0.0, max_value=1.0)})
            st.caption(f"The {len(current.candidates)} likeliest tokens hold "
                       f"{current.known_mass:.1%} of the model's probability. {shaped.note}")
