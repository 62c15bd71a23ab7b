"""A shipped model's own chat template and tokenizer, read from the running engine.

llama.cpp's server renders with the template inside the GGUF (`/apply-template`), shows it
(`/props` → chat_template) and tokenizes with the model's vocabulary (`/tokenize` with
pieces). This is what the model really reads, next to the vendored families.
"""

from __future__ import annotations

import threading

import httpx

from lib.models.engine import EngineError, local_server
from lib.models.settings import EngineSettingsError
from lib.models.shipped import SHIPPED_MODELS, ModelNotInstalled
from lib.templates.pieces import TokenPiece, pieces_from_bytes
from lib.templates.rendering import RenderedPrompt

# The model's control-token ids, listed once per model (see control_token_ids): one entry per
# shipped model, so bounded. A lock per model: one engine's listing never holds up another's.
_control_ids: dict[str, frozenset[int]] = {}
_control_locks = {model_id: threading.Lock() for model_id in SHIPPED_MODELS}


class EngineUnavailable(RuntimeError):
    """The model's engine can't be reached; the message says why."""


def _server(model_id: str):
    try:
        return local_server(model_id)
    except (EngineError, EngineSettingsError, ModelNotInstalled) as exc:
        raise EngineUnavailable(str(exc)) from exc


def _post(model_id: str, path: str, body: dict) -> dict:
    try:
        return _server(model_id).post(path, body)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code in (404, 405, 501):  # a fleet without llama.cpp's extras
            raise EngineUnavailable(str(exc)) from exc
        raise EngineUnavailable(f"{path} failed ({exc.response.status_code}): "
                                f"{_error_text(exc.response)}") from exc
    except httpx.HTTPError as exc:
        raise EngineUnavailable(f"{path} failed: {exc}") from exc


def _error_text(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:300]


def engine_chat_template(model_id: str) -> str:
    """The Jinja template inside the model's GGUF ("" when it has none)."""
    try:
        props = _server(model_id).get("/props")
    except httpx.HTTPError as exc:
        raise EngineUnavailable(f"/props failed: {exc}") from exc
    return props.get("chat_template") or ""


def engine_pieces(model_id: str, text: str) -> tuple[TokenPiece, ...]:
    """`text` tokenized by the model's own vocabulary, special tokens parsed (as in a prompt)."""
    tokens = _post(model_id, "/tokenize", {"content": text, "add_special": False,
                                           "with_pieces": True})["tokens"]
    ids = [token["id"] for token in tokens]
    data = [_piece_bytes(token["piece"]) for token in tokens]
    return pieces_from_bytes(ids, data, control_token_ids(model_id) & set(ids))


def _piece_bytes(piece: str | list[int]) -> bytes:
    # llama.cpp gives a piece as a string, or as a list of byte values when it is not UTF-8.
    return piece.encode("utf-8") if isinstance(piece, str) else bytes(piece)


def control_token_ids(model_id: str) -> frozenset[int]:
    """The ids of the model's control tokens (<|im_start|>, <|im_end|> …), asked of its engine
    once per process: /tokenize doesn't say which tokens are special, but the engine's
    vocabulary listing gives control tokens without bytes (lib.structured.mask reads it for the
    grammar library the same way; ~0.5 s for SmolLM2's 49k tokens). Instruct models only."""
    if SHIPPED_MODELS[model_id].tuning != "instruct":
        # A base model's 262k-token listing would be ~150 MB of Python objects in the
        # shared process, and its text has no chat markers to highlight anyway.
        return frozenset()
    with _control_locks[model_id]:
        cached = _control_ids.get(model_id)
        if cached is None:
            from lib.structured.mask import engine_vocabulary

            try:
                vocabulary = engine_vocabulary(_server(model_id))
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                raise EngineUnavailable(f"the vocabulary listing failed: {exc}") from exc
            cached = _control_ids[model_id] = frozenset(
                token_id for token_id, piece in enumerate(vocabulary.pieces) if not piece)
        return cached


def render_with_engine(model_id: str, messages: list[dict[str, str]],
                       add_generation_prompt: bool = True) -> RenderedPrompt:
    """`messages` through the model's own template by the engine, and its tokens."""
    source = f"{SHIPPED_MODELS[model_id].label} (its own template, from the engine)"
    try:
        text = _post(model_id, "/apply-template", {
            "messages": messages, "add_generation_prompt": add_generation_prompt})["prompt"]
        return RenderedPrompt(source, text, engine_pieces(model_id, text))
    except EngineUnavailable as exc:
        return RenderedPrompt(source, error=f"The engine could not render this: {exc}")
