"""Where chat requests can go, and with which key: the configuration contract.

Each setting is resolved in this order: Streamlit secrets, then the environment, then
what the user typed in the sidebar (kept in that browser session only). The first place
that has a value wins.

- ``OPENROUTER_API_KEY``; ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (the openai SDK's own
  names: a base URL points the OpenAI preset at any compatible server);
  ``OLLAMA_BASE_URL``, ``LMSTUDIO_BASE_URL``, ``VLLM_BASE_URL``, ``LLAMACPP_BASE_URL``
  for the local servers.
- More endpoints in secrets: ``[providers.NAME]`` with ``base_url``, ``api_key`` and an
  optional ``models = [...]``.
- The default endpoint is the first configured of OpenRouter and OpenAI; with neither,
  the built-in local model.

This module is Streamlit-free: the UI passes ``st.secrets`` in as a plain mapping.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from lib.inspector import without_credentials

BUILTIN_ID = "builtin"

EndpointKind = Literal["openai_compatible", "builtin"]
Source = Literal["secrets", "environment", "sidebar", "preset"]


@dataclass(frozen=True)
class Endpoint:
    """A place to send chat requests: a hosted API, a local server, or the built-in model."""

    id: str
    label: str
    kind: EndpointKind
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    key_source: Source | None = None
    url_source: Source = "preset"
    needs_key: bool = False
    suggested_models: tuple[str, ...] = ()
    key_env: str | None = None  # the variable that configures it, shown as a hint
    url_env: str | None = None
    signup_url: str | None = None
    url_private: bool = False  # the operator marked the address private: never shown
    url_typable: bool = True  # visitors may type a base URL (off on a deployment with keys)

    @property
    def configured(self) -> bool:
        """Ready to try: has a key if it needs one (local servers may still be down)."""
        return not self.needs_key or bool(self.api_key)

    @property
    def status(self) -> str:
        """How it is configured, in a few words for the screen."""
        if self.kind == "builtin":  # on this machine, or on the operator's model server
            return "offline, always available" if self.url_source == "preset" else "on the class's model server"
        if self.key_from_deployment:
            return f"key from {self.key_source}"
        if self.key_source == "sidebar":
            return "your key (this session only)"
        if self.needs_key:
            return "needs an API key"
        return "local server, if running"

    @property
    def serves_only_its_own_models(self) -> bool:
        """No point typing another model id: the built-in server has just its own."""
        return self.kind == "builtin"

    @property
    def bills_usage(self) -> bool:
        """Requests cost money: a keyed API, not the built-in model or a keyless local server."""
        return self.kind != "builtin" and bool(self.api_key)

    @property
    def key_from_deployment(self) -> bool:
        """The key came from the deployment (secrets or environment), not the user."""
        return self.key_source in ("secrets", "environment")

    @property
    def url_editable(self) -> bool:
        """The sidebar may change the base URL: typed URLs are allowed, the deployment did not
        set this one, and no deployment key would follow it."""
        return (self.kind == "openai_compatible" and self.url_typable
                and self.url_source in ("preset", "sidebar") and not self.key_from_deployment)

    @property
    def shown_url(self) -> str:
        """The address as a visitor may see it: never a URL the operator marked private, and
        never the built-in server's port."""
        if self.kind == "builtin":
            return "this machine (llama.cpp server)" if self.url_source == "preset" else "the class's model server"
        if self.url_private:
            return "private (set by the operator)"
        return without_credentials(self.base_url or "")

    @property
    def fingerprint(self) -> str:
        """Identifies endpoint + URL + key for caches, without holding the key itself."""
        digest = hashlib.sha256((self.api_key or "").encode()).hexdigest()[:16]
        return f"{self.id}|{self.base_url}|{digest}"


@dataclass(frozen=True)
class Preset:
    id: str
    label: str
    base_url: str
    needs_key: bool
    key_env: str | None = None
    url_env: str | None = None
    suggested_models: tuple[str, ...] = ()
    signup_url: str | None = None


PRESETS: tuple[Preset, ...] = (
    Preset(
        "openrouter", "OpenRouter", "https://openrouter.ai/api/v1", True,
        key_env="OPENROUTER_API_KEY",
        suggested_models=(
            "openai/gpt-5.2-chat", "anthropic/claude-sonnet-4.5", "google/gemini-2.5-pro",
        ),
        signup_url="https://openrouter.ai/keys",
    ),
    Preset(
        "openai", "OpenAI", "https://api.openai.com/v1", True,
        key_env="OPENAI_API_KEY", url_env="OPENAI_BASE_URL",
        suggested_models=("gpt-5", "gpt-5-mini", "gpt-5-nano"),
        signup_url="https://platform.openai.com/api-keys",
    ),
    Preset("ollama", "Ollama", "http://localhost:11434/v1", False, url_env="OLLAMA_BASE_URL"),
    Preset("lmstudio", "LM Studio", "http://localhost:1234/v1", False, url_env="LMSTUDIO_BASE_URL"),
    Preset("vllm", "vLLM", "http://localhost:8000/v1", False, url_env="VLLM_BASE_URL"),
    Preset(
        "llamacpp", "llama.cpp server", "http://localhost:8080/v1", False,
        url_env="LLAMACPP_BASE_URL",
    ),
)

BUILTIN = Endpoint(id=BUILTIN_ID, label="Built-in SmolLM2-135M (offline)", kind="builtin",
                   suggested_models=("SmolLM2-135M-Instruct",))
# LAB_BUILTIN_BASE_URL: the same models, served by the operator's fleet (lib/models/fleet.py)
BUILTIN_ON_FLEET = replace(BUILTIN, label="Built-in SmolLM2-135M (class server)",
                           url_source="environment")

DEFAULT_ORDER = ("openrouter", "openai")


def _first(*candidates: tuple[Any, Source]) -> tuple[str | None, Source | None]:
    for value, source in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip(), source
    return None, None


def _secret(secrets: Mapping[str, Any], name: str | None) -> Any:
    return secrets.get(name) if name else None


def setting(secrets: Mapping[str, Any], environ: Mapping[str, str], name: str) -> Any:
    """A deployment setting: from secrets, else the environment, else None."""
    value = secrets.get(name)
    return value if value not in (None, "") else environ.get(name) or None


TRUE_WORDS = {"1", "true", "yes", "on"}


def flag(secrets: Mapping[str, Any], environ: Mapping[str, str], name: str) -> bool:
    """A yes/no deployment setting: true, 1, yes or on (any case) mean yes."""
    value = setting(secrets, environ, name)
    return value is True or str(value).strip().lower() in TRUE_WORDS


def has_deployment_keys(secrets: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    """Some key comes from the deployment (secrets or environment), not from a visitor."""
    return (any(setting(secrets, environ, p.key_env) for p in PRESETS if p.key_env)
            or any(dict(t).get("api_key") for t in dict(_secret(secrets, "providers") or {}).values()))


def custom_urls_allowed(secrets: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    """Visitors may type base URLs (and use the local presets): always on a laptop with no
    deployment keys; on a deployment with keys only when LAB_ALLOW_CUSTOM_URLS says so,
    because the server would fetch whatever URL a visitor types and show what came back."""
    return flag(secrets, environ, "LAB_ALLOW_CUSTOM_URLS") or not has_deployment_keys(secrets, environ)


def _preset_endpoint(
    preset: Preset,
    secrets: Mapping[str, Any],
    environ: Mapping[str, str],
    typed: Mapping[str, str],
    urls_typable: bool = True,
) -> Endpoint:
    key, key_source = _first(
        (_secret(secrets, preset.key_env), "secrets"),
        (environ.get(preset.key_env or ""), "environment"),
        (typed.get(f"{preset.id}.api_key"), "sidebar"),
    )
    deployment_key = key_source in ("secrets", "environment")
    url, url_source = _first(
        (_secret(secrets, preset.url_env), "secrets"),
        (environ.get(preset.url_env or ""), "environment"),
        # A deployment's key only ever goes where the deployment says: never to a URL a
        # student typed (that would hand them the key).
        (None if deployment_key or not urls_typable else typed.get(f"{preset.id}.base_url"),
         "sidebar"),
    )
    # A custom base URL turns the OpenAI preset into "any compatible server": it may not
    # need a key at all (a local llama.cpp or vLLM, say).
    customised = bool(url) and url.rstrip("/") != preset.base_url
    needs_key = preset.needs_key and not (preset.id == "openai" and customised)
    return Endpoint(
        id=preset.id,
        label=preset.label,
        kind="openai_compatible",
        base_url=(url or preset.base_url).rstrip("/"),
        api_key=key,
        key_source=key_source,
        url_source=url_source or "preset",
        needs_key=needs_key,
        suggested_models=preset.suggested_models,
        key_env=preset.key_env,
        url_env=preset.url_env,
        signup_url=preset.signup_url,
        url_typable=urls_typable,
    )


def _custom_endpoints(secrets: Mapping[str, Any]) -> list[Endpoint]:
    table = _secret(secrets, "providers") or {}
    endpoints = []
    for name, settings in dict(table).items():
        settings = dict(settings)
        base_url = str(settings.get("base_url", "")).strip()
        if not base_url:
            continue
        key = settings.get("api_key")
        models = settings.get("models") or ()
        endpoints.append(
            Endpoint(
                id=f"custom:{name}",
                label=str(settings.get("label", name)),
                kind="openai_compatible",
                base_url=base_url.rstrip("/"),
                api_key=str(key) if key else None,
                key_source="secrets" if key else None,
                url_source="secrets",
                needs_key=False,
                suggested_models=tuple(str(m) for m in models),
                url_private=settings.get("private") is True
                or str(settings.get("private", "")).lower() in TRUE_WORDS,
                url_typable=False,
            )
        )
    return endpoints


def resolve_endpoints(
    secrets: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    typed: Mapping[str, str] | None = None,
) -> list[Endpoint]:
    """Every endpoint the app offers, in picker order: presets, custom ones, built-in.

    ``typed`` holds what the user typed in the sidebar, keyed ``"<id>.api_key"`` or
    ``"<id>.base_url"``.
    """
    secrets = secrets or {}
    environ = environ if environ is not None else {}
    typed = typed or {}
    urls_typable = custom_urls_allowed(secrets, environ)
    endpoints = [_preset_endpoint(p, secrets, environ, typed, urls_typable) for p in PRESETS]
    if not urls_typable:
        # Local-server presets point at the server's own localhost: on a deployment with
        # keys they stay hidden unless the operator configured them.
        endpoints = [e for e in endpoints if e.needs_key or e.url_source != "preset"]
    endpoints += _custom_endpoints(secrets)
    endpoints.append(BUILTIN_ON_FLEET if setting(secrets, environ, "LAB_BUILTIN_BASE_URL") else BUILTIN)
    return endpoints


def default_endpoint(endpoints: list[Endpoint]) -> Endpoint:
    """The first configured of OpenRouter and OpenAI; with neither, the built-in model."""
    by_id = {e.id: e for e in endpoints}
    for endpoint_id in DEFAULT_ORDER:
        endpoint = by_id.get(endpoint_id)
        if endpoint and endpoint.configured:  # a key, or OPENAI_BASE_URL at a keyless server
            return endpoint
    return by_id[BUILTIN_ID]

