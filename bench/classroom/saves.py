"""classroom_mode.py part 2b: one save's cost in this process (SavedSession.save after a turn,
with nothing changed, a load, the conversation's encoding alone) on a realistic session state."""

from __future__ import annotations

import secrets
import statistics
import time

from classroom.conversation import conversation
from classroom.sessions import saved_session
from classroom.stats import pct
from lib.persistence.browser import session_key
from lib.what_is_saved import CODEC


def realistic_state(settings: dict, conv: list[dict]) -> dict:
    """A chat page's session state after a turn: the settings the app saved in part 2 (or
    a typical set), the conversation, and keys the app keeps but never saves."""
    state = dict(settings) or {
        "lab_provider": "openai", "lab_model_openai": "paced", "lab_max_tokens_openai": 2000,
        "lab_temperature": 0.7, "lab_top_p": 1.0, "lab_seed": None, "lab_stop": "",
        "lab_presence_penalty": 0.0, "lab_frequency_penalty": 0.0, "lab_projector": False,
        "chat_system_preset": "Travel planner", "chat_system": "You are a travel planner.",
        "chat_streaming": True, "chat_view": "💬 Chat", "chat_context_strategy": "Keep everything"}
    state.pop("chat_history", None)
    state.update({"chat_history": conv, "lab_session_key": "0" * 64, "lab_saved_session": object(),
                  "lab_cookie_script": "<script>…</script>", "chat_stop": False,
                  "chat_edit_pick": 48, "chat_import": None, "lab_key_input_openai": "sk-secret"})
    return state


def save_cost(store, saves: int, settings: dict) -> dict:
    """In this process: SavedSession.save after a turn (the conversation grew by two
    messages, the rest as it was), a save with nothing changed, and a load."""
    key = session_key(secrets.token_urlsafe(16))
    base = conversation(seed=99)
    saved = saved_session(store, key, new_browser=True)
    state = realistic_state(settings, base)
    saved.save(state)  # the first save writes every setting; after that only what changes
    turn, unchanged, loads, encode = [], [], [], []
    for i in range(saves):
        conv = [dict(m) for m in base[:-2]]
        conv += [{"role": "user", "content": f"(msg-49) variant {i}: " + base[-2]["content"]},
                 dict(base[-1], content=f"(msg-50) variant {i}: " + base[-1]["content"])]
        state["chat_history"] = conv
        started = time.perf_counter()
        saved.save(state)
        turn.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        saved.save(state)  # a rerun that changed nothing: encoded and compared, not written
        unchanged.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        CODEC.dumps(conv)
        encode.append((time.perf_counter() - started) * 1000)
        if i % 10 == 0:
            started = time.perf_counter()
            restored = saved_session(store, key).load()
            loads.append((time.perf_counter() - started) * 1000)
            if restored.get("chat_history") != conv:
                raise RuntimeError("a save did not land")
    conv_bytes = len(CODEC.dumps(state["chat_history"]))
    no_request = len(CODEC.dumps([{k: v for k, v in m.items() if k != "request"}
                                  for m in state["chat_history"]]))
    # The same rerun with nothing changed, for a 500-message conversation (a long lab).
    state["chat_history"] = conversation(seed=7, messages=500)
    saved.save(state)
    big = []
    for _ in range(20):
        started = time.perf_counter()
        saved.save(state)
        big.append((time.perf_counter() - started) * 1000)
    if saved.problem:
        raise RuntimeError(saved.problem)
    row = lambda v: {"median_ms": round(statistics.median(v), 3), "p95_ms": round(pct(v, 95), 3)}  # noqa: E731
    return {"turn_save": row(turn), "unchanged_save": row(unchanged), "load": row(loads),
            "encode_conversation": row(encode), "saves": saves,
            "saved_names": len(saved._written),  # noqa: SLF001 - what a turn's state holds
            "conversation_json_bytes": conv_bytes, "without_last_request_bytes": no_request,
            "unchanged_save_500_messages": row(big),
            "conversation_500_json_bytes": len(CODEC.dumps(state["chat_history"]))}
