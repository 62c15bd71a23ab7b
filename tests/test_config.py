"""The configuration contract: secrets, then environment, then the sidebar."""

from lib.config import BUILTIN_ID, default_endpoint, resolve_endpoints


def by_id(endpoints):
    return {e.id: e for e in endpoints}


def test_no_keys_anywhere_defaults_to_the_builtin_model():
    endpoints = resolve_endpoints({}, {}, {})
    assert default_endpoint(endpoints).id == BUILTIN_ID
    assert not by_id(endpoints)["openrouter"].configured
    assert by_id(endpoints)["builtin"].configured


def test_every_preset_is_offered():
    ids = [e.id for e in resolve_endpoints({}, {}, {})]
    assert ids == ["openrouter", "openai", "ollama", "lmstudio", "vllm", "llamacpp", "builtin"]


def test_secrets_win_over_environment_which_wins_over_sidebar():
    secrets = {"OPENROUTER_API_KEY": "sk-or-from-secrets"}
    environ = {"OPENROUTER_API_KEY": "sk-or-from-env", "OPENAI_API_KEY": "sk-env-openai"}
    typed = {"openrouter.api_key": "sk-or-typed", "openai.api_key": "sk-typed-openai"}
    endpoints = by_id(resolve_endpoints(secrets, environ, typed))
    assert endpoints["openrouter"].api_key == "sk-or-from-secrets"
    assert endpoints["openrouter"].key_source == "secrets"
    assert endpoints["openai"].api_key == "sk-env-openai"
    assert endpoints["openai"].key_source == "environment"
    only_typed = by_id(resolve_endpoints({}, {}, typed))
    assert only_typed["openai"].api_key == "sk-typed-openai"
    assert only_typed["openai"].key_source == "sidebar"


def test_openrouter_is_the_default_when_both_are_configured():
    environ = {"OPENAI_API_KEY": "sk-a", "OPENROUTER_API_KEY": "sk-or-b"}
    assert default_endpoint(resolve_endpoints({}, environ, {})).id == "openrouter"
    assert default_endpoint(resolve_endpoints({}, {"OPENAI_API_KEY": "sk-a"}, {})).id == "openai"


def test_openai_base_url_points_the_openai_preset_at_a_compatible_server():
    environ = {"OPENAI_BASE_URL": "http://127.0.0.1:9999/v1/"}
    openai = by_id(resolve_endpoints({}, environ, {}))["openai"]
    assert openai.base_url == "http://127.0.0.1:9999/v1"
    assert openai.configured and not openai.needs_key
    assert default_endpoint(resolve_endpoints({}, environ, {})).id == "openai"


def test_local_server_urls_come_from_the_environment():
    environ = {"OLLAMA_BASE_URL": "http://gpu-box:11434/v1"}
    assert by_id(resolve_endpoints({}, environ, {}))["ollama"].base_url == "http://gpu-box:11434/v1"
    assert by_id(resolve_endpoints({}, {}, {}))["ollama"].base_url == "http://localhost:11434/v1"


def test_custom_endpoints_from_secrets_tables():
    secrets = {"providers": {"groq": {"base_url": "https://api.groq.com/openai/v1",
                                      "api_key": "gsk_secret", "models": ["llama-3.1-8b"]},
                             "broken": {"api_key": "no url"}}}
    endpoints = by_id(resolve_endpoints(secrets, {}, {}))
    groq = endpoints["custom:groq"]
    assert groq.base_url == "https://api.groq.com/openai/v1"
    assert groq.api_key == "gsk_secret" and groq.key_from_deployment
    assert groq.suggested_models == ("llama-3.1-8b",)
    assert "custom:broken" not in endpoints


def test_api_key_is_not_in_the_endpoint_repr():
    endpoint = by_id(resolve_endpoints({}, {"OPENAI_API_KEY": "sk-canary-123456"}, {}))["openai"]
    assert "sk-canary-123456" not in repr(endpoint)


def test_openai_base_url_set_to_openai_itself_still_needs_a_key():
    environ = {"OPENAI_BASE_URL": "https://api.openai.com/v1"}
    endpoints = resolve_endpoints({}, environ, {})
    assert by_id(endpoints)["openai"].needs_key
    assert default_endpoint(endpoints).id == BUILTIN_ID


def test_a_typed_base_url_never_receives_the_deployments_key():
    # Even where the operator lets visitors type URLs, the shared key never follows one.
    environ = {"OPENROUTER_API_KEY": "sk-or-deployment-secret", "LAB_ALLOW_CUSTOM_URLS": "1"}
    typed = {"openrouter.base_url": "http://attacker.example/v1", "openai.base_url": "http://x/v1"}
    endpoints = by_id(resolve_endpoints({}, environ, typed))
    assert endpoints["openrouter"].base_url == "https://openrouter.ai/api/v1"
    assert not endpoints["openrouter"].url_editable
    # A preset with no deployment key may point anywhere (the key, if any, is the user's).
    assert endpoints["openai"].base_url == "http://x/v1" and endpoints["openai"].url_editable


def test_fingerprint_tells_keys_apart_without_holding_them():
    a = by_id(resolve_endpoints({}, {"OPENAI_API_KEY": "sk-aaaaaaaa"}, {}))["openai"]
    b = by_id(resolve_endpoints({}, {"OPENAI_API_KEY": "sk-bbbbbbbb"}, {}))["openai"]
    assert a.fingerprint != b.fingerprint
    assert "sk-aaaaaaaa" not in a.fingerprint


def test_a_typed_url_with_credentials_is_shown_without_them():
    from lib.inspector import REDACTED, Redactor, without_credentials

    typed = {"openai.base_url": "http://student:hunter2-canary@10.0.0.5:8000/v1?key=sk-q-canary"}
    openai = next(e for e in resolve_endpoints({}, {}, typed) if e.id == "openai")
    assert openai.shown_url == "http://10.0.0.5:8000/v1"
    assert "canary" not in openai.shown_url
    assert without_credentials("not a url") == "not a url"
    line = "POST http://student:hunter2-canary@10.0.0.5:8000/v1/chat/completions"
    assert Redactor()(line) == f"POST http://{REDACTED}@10.0.0.5:8000/v1/chat/completions"


def test_the_built_in_model_on_a_fleet_is_not_called_offline():
    on_fleet = {e.id: e for e in resolve_endpoints({}, {"LAB_BUILTIN_BASE_URL": "http://llm:8080/v1"})}
    builtin = on_fleet["builtin"]
    assert "(class server)" in builtin.label and "offline" not in builtin.label
    assert builtin.status == "on the class's model server"
    assert builtin.shown_url == "the class's model server"  # never the fleet's address
    here = {e.id: e for e in resolve_endpoints({}, {})}["builtin"]
    assert here.status == "offline, always available" and "offline" in here.label
