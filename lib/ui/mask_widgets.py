"""Watch the mask: step a constrained generation on the built-in model, token by token."""

from __future__ import annotations

import streamlit as st

from lib.chat.errors import describe_error
from lib.structured.charts import candidates_figure
from lib.structured.mask import MAX_STEPS, TOP_K, MaskStepper, Step, StepperBusy
from lib.structured.schemas import OutputSchema
from lib.structured.support import local_engine
from lib.ui.provider_picker import Choice

STEPPER = "so_mask"


def watch_the_mask(choice: Choice, schema: OutputSchema, question: str) -> None:
    server = None if choice.provider is None else local_engine(choice.provider.endpoint)
    if server is None:
        st.info("Watching the mask needs the built-in model: its engine shows the model's "
                "candidates for every next token. Pick it as the provider in the sidebar.")
        return
    stepper: MaskStepper | None = st.session_state.get(STEPPER)
    if stepper is not None and (stepper.schema != schema or stepper.question != question
                                or stepper.server is not server):
        stepper = None  # the schema, question or engine changed: start again
    buttons = st.columns(4)
    try:
        if buttons[0].button("Start", key="so_mask_start", type="primary"):
            stepper = st.session_state[STEPPER] = MaskStepper(server, schema, question)
            stepper.step()
        idle = stepper is None or stepper.done
        advance = max([count for column, label, key, count in (
            (buttons[1], "Next token", "so_mask_next", 1),
            (buttons[2], "10 tokens", "so_mask_ten", 10),
            (buttons[3], "To the end", "so_mask_end", MAX_STEPS),
        ) if column.button(label, key=key, disabled=idle)], default=0)
        if advance:
            _advance(stepper, advance)
            if stepper.done:
                st.rerun()  # draw the step buttons again, now disabled
    except StepperBusy:
        st.info("Still stepping from your previous click: wait a moment, then step again.")
    except ValueError as exc:  # a schema the grammar library cannot compile
        st.error(str(exc))
        return
    except Exception as exc:
        st.error(str(describe_error(exc, "the built-in model")))
    if stepper is None:
        st.caption("Start, then step: each step asks the engine for the model's top "
                   f"{TOP_K} next tokens, then the grammar says which of them may follow.")
        return
    _show(stepper)


def _advance(stepper: MaskStepper, count: int) -> None:
    """Up to ``count`` steps, one request each, one at a time. The progress line is drawn
    before every step: a click reruns the page, and this run ends at that call."""
    progress = st.empty()
    for _ in range(count):
        progress.caption(f"Stepping… token {len(stepper.steps) + 1}: `{stepper.text[-40:]}`")
        if stepper.step() is None:
            break
    progress.empty()


def _show(stepper: MaskStepper) -> None:
    st.markdown("**Generated so far**")
    st.code(stepper.text or " ", language="json", wrap_lines=True)
    if stepper.error is not None:
        st.error(f"The grammar stopped: {stepper.error}")
    elif stepper.cut_short:
        st.warning(f"Stopped at the {MAX_STEPS}-token limit before the JSON was finished. The "
                   "grammar kept every token valid, yet an answer cut off is still broken "
                   "JSON: the same as a real request hitting max_tokens (finish_reason "
                   "\"length\").")
    elif stepper.done:
        check = stepper.schema.check(stepper.text)
        verdict = "matches the schema ✅" if check.schema_valid else f"fails: {check.errors}"
        st.success(f"Done after {len(stepper.steps)} tokens: the JSON {verdict}")
    if not stepper.steps:
        return
    last = stepper.steps[-1]
    _step_table(last)
    masked = sum(not c.allowed for s in stepper.steps for c in s.candidates[:1])
    with st.expander(f"All {len(stepper.steps)} steps (the model's favourite was masked out "
                     f"{masked} times)"):
        st.dataframe([{"step": s.number, "picked": s.picked.text,
                       "p(picked)": round(s.picked.probability, 3),
                       "model's favourite": s.candidates[0].text if s.candidates else "",
                       "favourite allowed": s.candidates[0].allowed if s.candidates else None,
                       "tokens allowed": s.allowed_count} for s in stepper.steps],
                     hide_index=True)


def _step_table(step: Step) -> None:
    st.markdown(f"**Step {step.number}:** the grammar allows **{step.allowed_count:,}** of "
                f"the vocabulary's {step.vocabulary_size:,} tokens here.")
    rows = [{"token": repr(c.text), "model's probability": round(c.probability, 4),
             "grammar": "allowed" if c.allowed else "🚫 masked out",
             "picked": "⬅ picked" if c.id == step.picked.id else ""} for c in step.candidates]
    if all(c.id != step.picked.id for c in step.candidates):
        rows.append({"token": repr(step.picked.text),
                     "model's probability": round(step.picked.probability, 4),
                     "grammar": "allowed", "picked": "⬅ picked"})
    chart, table = st.columns(2)
    chart.plotly_chart(candidates_figure(step), key="so_mask_chart")
    table.dataframe(rows, hide_index=True)
    if step.note:
        st.caption(step.note)
    st.caption("Probabilities are the model's own, before the mask. Constrained decoding "
               "drops the masked tokens and picks among the rest (here: the most likely one).")
