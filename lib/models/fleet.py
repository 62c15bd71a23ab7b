"""The built-in models on a server fleet the operator runs, instead of a child per replica.

Several app replicas behind a load balancer would each start their own engines (~810 MB
with both models). With ``LAB_BUILTIN_BASE_URL`` (and ``LAB_BUILTIN_API_KEY`` if the fleet
wants one) the built-in models are reached at that OpenAI-compatible server (llama.cpp's
server, ``python -m lib.serve``, vLLM) and no engine child is ever started, not even when
the fleet is down: the page says it is not answering and a use after FAILED_RETRY_S asks
again. A slow fleet never slows every session: its answer (or silence) is remembered, one
caller at a time asks each address, and a connection is given up on after 2 s.

Which server serves which model:
- SmolLM2-135M-Instruct (the chat model): ``LAB_BUILTIN_BASE_URL``.
- Gemma 3 270M base (Base vs instruct): ``LAB_BUILTIN_BASE_MODEL_URL`` when set (one
  llama.cpp server per model), else ``LAB_BUILTIN_BASE_URL`` if that lists it in
  /v1/models (a llama.cpp router or vLLM serving both). Setting only
  ``LAB_BUILTIN_BASE_MODEL_URL`` keeps the chat model in the replica and moves the heavy
  base model out. One key, ``LAB_BUILTIN_API_KEY``, for both.
Models are found by their ids (``--alias`` on llama.cpp, ``--served-model-name`` on vLLM).

Read like every setting: secrets, then the environment. Streamlit copies top-level secrets
into the environment, which is where the engine (no Streamlit here) reads them.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from lib.config import setting
from lib.inspector import without_credentials
from lib.models.server_calls import ServerCalls, server_client
from lib.models.settings import EngineSettingsError
from lib.models.shipped import SMOLLM2, ShippedModel

BASE_URL_ENV = "LAB_BUILTIN_BASE_URL"
API_KEY_ENV = "LAB_BUILTIN_API_KEY"
BASE_MODEL_URL_ENV = "LAB_BUILTIN_BASE_MODEL_URL"
CHECK_EVERY_S = 30.0  # a server found answering is asked again after this long
FAILED_RETRY_S = 15.0  # one found not answering (refusing, lacking the model) after this long
PROBE_CONNECT_TIMEOUT_S = 2.0
PROBE_TIMEOUT_S = 5.0  # reading the answer
PROBE_TIMEOUT = httpx.Timeout(PROBE_TIMEOUT_S, connect=PROBE_CONNECT_TIMEOUT_S)
JOIN_CHECK_S = 1.0  # how long a caller waits for another's check before using the last answer
FIRST_CHECK_S = 30.0  # … when there is no last answer: the check's own timeouts end it first


class FleetUnavailable(RuntimeError):
    """The fleet does not answer, refuses the key or lacks the model; the message says which
    (the pages show it as they show an engine that did not start)."""


@dataclass(frozen=True)
class FleetAddress:
    """Where one built-in model is served, and the setting that said so."""

    base_url: str  # ends in /v1
    api_key: str | None = field(repr=False)
    named_by: str

    @property
    def host(self) -> str:
        """host:port, never a user name, password or query: safe on the page."""
        return httpx.URL(without_credentials(self.base_url)).netloc.decode()


def _address(raw: Any, name: str, api_key: str | None) -> FleetAddress:
    text = str(raw).strip().rstrip("/")
    try:
        url = httpx.URL(text)
    except Exception:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise EngineSettingsError(f"{name} must be an http(s) URL of an OpenAI-compatible "
                                  f"server, e.g. http://llm-fleet:8080/v1 (got "
                                  f"{without_credentials(text)!r}).")
    base_url = text if text.endswith("/v1") else f"{text}/v1"
    return FleetAddress(base_url, api_key, name)


def fleet_address(model: ShippedModel, secrets: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> FleetAddress | None:
    """Where ``model`` is served by the operator's fleet, or None: the app starts its own
    engine. Raises EngineSettingsError for a URL that is not one."""
    secrets = secrets or {}
    environ = os.environ if environ is None else environ
    key = setting(secrets, environ, API_KEY_ENV)
    key = str(key).strip() or None if key else None
    names = (BASE_URL_ENV,) if model.id == SMOLLM2.id else (BASE_MODEL_URL_ENV, BASE_URL_ENV)
    for name in names:
        raw = setting(secrets, environ, name)
        if raw and str(raw).strip():
            return _address(raw, name, key)
    return None


@dataclass(frozen=True)
class _Answer:
    """What one address said to GET /v1/models, shared by every model asked there."""

    at: float  # time.monotonic() when it said it
    listing: dict[str, dict] | None = None  # the models listed, when it gave a list
    props: tuple[int, int | None] | None = None  # llama.cpp's /props: context, slots
    error: str | None = None  # not answering: the httpx error's name
    status: int | None = None  # an answer without a model list: its HTTP status


@dataclass(eq=False)
class FleetServer(ServerCalls):
    """One built-in model on the fleet: what lib/models/engine.py's LocalServer offers the
    pages (base URL, key, context, llama.cpp's endpoints), with no process behind it."""

    model: ShippedModel
    address: FleetAddress
    context_per_slot: int | None  # /props (llama.cpp) or max_model_len (vLLM); None: unknown
    slots: int | None
    checked_at: float = field(default_factory=time.monotonic)
    last_used: float = field(default_factory=time.monotonic)
    _client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = server_client(self.address.base_url, self.address.api_key)

    @property
    def base_url(self) -> str:
        return self.address.base_url

    @property
    def api_key(self) -> str | None:
        return self.address.api_key

    @property
    def where(self) -> str:
        return f"the built-in model's server at {self.address.host}"

    alive = True  # as far as the app knows: a request that fails says so

    def busy(self) -> bool:
        return False

    def stop(self) -> None:
        """Not the app's to stop."""


_servers: dict[tuple[str, str, str], FleetServer] = {}
_answers: dict[tuple[str, str], _Answer] = {}  # the last GET /v1/models of each address
_asking: dict[tuple[str, str], threading.Event] = {}  # set when that address's check ends
_lock = threading.Lock()  # held for dictionary work only, never across a request


def _cache_key(model: ShippedModel, address: FleetAddress) -> tuple[str, str, str]:
    return (model.id, *_address_key(address))


def _address_key(address: FleetAddress) -> tuple[str, str]:
    digest = hashlib.sha256((address.api_key or "").encode()).hexdigest()[:16]
    return address.base_url, digest


def known_fleet_server(model: ShippedModel, address: FleetAddress) -> FleetServer | None:
    """The model's fleet server if it has answered before, without asking it now."""
    return _servers.get(_cache_key(model, address))


def fleet_server(model: ShippedModel, address: FleetAddress) -> FleetServer:
    """The model on the fleet, checked (GET /v1/models) at most every CHECK_EVERY_S while it
    answers and every FAILED_RETRY_S while it does not; one check at a time per address.
    Raises FleetUnavailable with a message for the page; a use after the window asks again."""
    answer = _answer(model, address)
    listed = _judged(model, address, answer)
    key = _cache_key(model, address)
    with _lock:
        known = _servers.get(key)
        if known is None:
            context, slots = _context(answer, listed)
            known = _servers[key] = FleetServer(model, address, context, slots)
        known.checked_at, known.last_used = answer.at, time.monotonic()
        return known


def _fresh(answer: _Answer, model: ShippedModel) -> bool:
    serves = answer.listing is not None and model.id in answer.listing
    return time.monotonic() - answer.at <= (CHECK_EVERY_S if serves else FAILED_RETRY_S)


def _answer(model: ShippedModel, address: FleetAddress) -> _Answer:
    """The address's last answer while it is fresh; else one caller asks (others wait up to
    JOIN_CHECK_S for its answer, then use the last one; with none yet, up to FIRST_CHECK_S)."""
    key = _address_key(address)
    with _lock:
        last = _answers.get(key)
        if last is not None and _fresh(last, model):
            return last
        asking = _asking.get(key)
        mine = asking is None
        if mine:
            asking = _asking[key] = threading.Event()
    if not mine:
        asking.wait(JOIN_CHECK_S if last is not None else FIRST_CHECK_S)
        with _lock:
            latest = _answers.get(key)
        return latest or _Answer(time.monotonic(), error="still being asked")
    answer = None
    try:
        answer = _probe(address, last)
        return answer
    finally:  # whatever happened, the next caller may ask
        with _lock:
            if answer is not None:
                _answers[key] = answer
            del _asking[key]
        asking.set()


def _probe(address: FleetAddress, last: _Answer | None) -> _Answer:
    """GET /v1/models (and /props on the first good answer), as an answer; never raises
    for what the server says or does not say."""
    try:
        with server_client(address.base_url, address.api_key) as client:
            response = client.get("/v1/models", timeout=PROBE_TIMEOUT)
            if response.status_code != 200:
                return _Answer(time.monotonic(), status=response.status_code)
            try:
                listing = {str(m["id"]): m for m in response.json()["data"]}
            except (ValueError, KeyError, TypeError):
                return _Answer(time.monotonic(), status=200)
            props = (last.props if last is not None and last.listing is not None
                     else _props(client))
    except httpx.HTTPError as exc:
        return _Answer(time.monotonic(), error=type(exc).__name__)
    return _Answer(time.monotonic(), listing=listing, props=props)


def _judged(model: ShippedModel, address: FleetAddress, answer: _Answer) -> dict:
    """The model's entry in the answer's listing, or FleetUnavailable saying what is wrong."""
    where = f"The built-in model's server at {address.host}"
    if answer.error is not None:
        raise FleetUnavailable(
            f"{where} is not answering ({answer.error}). The app asks again on the next "
            f"use; it starts no engine of its own while {address.named_by} is set.")
    if answer.status in (401, 403):
        raise FleetUnavailable(f"{where} refused the key: check {API_KEY_ENV}.")
    if answer.status is not None and answer.status != 200:
        raise FleetUnavailable(f"{where} answered GET /v1/models with HTTP "
                               f"{answer.status}: is {address.named_by} right?")
    if answer.listing is None:
        raise FleetUnavailable(f"{where} is not an OpenAI-compatible server (GET /v1/models "
                               "gave no model list).")
    if model.id not in answer.listing:
        served = ", ".join(sorted(answer.listing)) or "nothing"
        if model.tuning == "base" and address.named_by == BASE_URL_ENV:
            raise FleetUnavailable(
                f"{model.label} is not served by the built-in models' server at "
                f"{address.host} (it lists {served}): set {BASE_MODEL_URL_ENV} to a server "
                f"that serves {model.id}, or use a hosted pair.")
        raise FleetUnavailable(
            f"{where} does not serve {model.id} (it lists {served}): name it so with "
            f"--alias {model.id} (llama.cpp) or --served-model-name {model.id} (vLLM).")
    return answer.listing[model.id] or {}


def _props(client: httpx.Client) -> tuple[int, int | None] | None:
    """llama.cpp's /props: tokens one request may use and parallel slots; None elsewhere."""
    try:
        response = client.get("/props", timeout=PROBE_TIMEOUT)
        if response.status_code == 200:
            props = response.json()
            return int(props["default_generation_settings"]["n_ctx"]), props.get("total_slots")
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        pass
    return None


def _context(answer: _Answer, listed: dict) -> tuple[int | None, int | None]:
    """Tokens one request may use and parallel slots: llama.cpp's /props, else vLLM's
    max_model_len in the listing, else unknown (the server refuses what is too long)."""
    if answer.props is not None:
        return answer.props
    window = listed.get("max_model_len") if isinstance(listed, dict) else None
    return (window if isinstance(window, int) and window > 0 else None), None
