""""View code": the snippet runs as a plain script, sends the very body the app sends, and never
shows a key, the built-in server's in-process address, or a private URL."""

import ast
import os
import subprocess
import sys
from dataclasses import replace

from hypothesis import given, settings, strategies as st

from lib.chat.codegen import NOTE, python_snippet
from lib.chat.providers import ChatProvider
from lib.chat.sampling import SamplingOptions
from lib.config import BUILTIN, resolve_endpoints
from lib.inspector import Inspector
from tests.conftest import SERVED_API_KEY

CANARY = "sk-canary-7f3a9c1e-never-in-the-snippet"
MESSAGES = [
    {"role": "system", "content": "You help travelers make plans for their trips."},
    {"role": "user", "content": "What should I do in Paris?"},
]
AWKWARD = [
    {"role": "system", "content": 'Say "hi" and it\'s done.\nSecond line\ttab \\ backslash'},
    {"role": "user", "content": "Ünïcödé 😀 — \u2028 \x00 \r\n true false null None {}"},
    {"role": "assistant", "content": "'''\"\"\" \\n is not a newline"},
]


def run(snippet: str, **env: str) -> subprocess.CompletedProcess:
    """The snippet as a user would run it: a fresh interpreter, only the variables given."""
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("OPENAI_", "OPENROUTER_", "LAB_"))}
    return subprocess.run([sys.executable, "-c", snippet], env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def endpoint_for(environ, endpoint_id="openai", secrets=None):
    return next(e for e in resolve_endpoints(secrets or {}, environ, {}) if e.id == endpoint_id)


def sent_body(endpoint, model, messages, options, stream=True):
    return ChatProvider(endpoint, Inspector()).request_body(messages, model, options, stream)


def messages_in(snippet: str):
    """The `messages = [...]` literal, evaluated."""
    for node in ast.parse(snippet).body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "messages":
            return ast.literal_eval(node.value)
    raise AssertionError("no messages = ... in the snippet")


def test_the_snippet_gets_the_answer_with_the_apps_exact_body(fault_server):
    endpoint = endpoint_for({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": CANARY})
    options = SamplingOptions(temperature=0.2, top_p=0.9, max_tokens=64, top_k=40, seed=7)
    snippet = python_snippet(endpoint, "ok", MESSAGES, options)
    assert CANARY not in snippet and 'os.environ["OPENAI_API_KEY"]' in snippet
    result = run(snippet, OPENAI_API_KEY=CANARY)
    assert result.returncode == 0, result.stderr
    assert "Hello from the fault server." in result.stdout
    assert "completion_tokens=" in result.stdout  # usage printed at the end
    request = fault_server.requests[-1]
    assert request.body == sent_body(endpoint, "ok", MESSAGES, options)
    assert request.body["top_k"] == 40 and request.body["seed"] == 7
    assert request.headers["authorization"] == f"Bearer {CANARY}"


def test_without_streaming_the_body_matches_too(fault_server):
    endpoint = endpoint_for({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": CANARY})
    options = SamplingOptions(max_tokens=32, top_k=5)
    snippet = python_snippet(endpoint, "ok", MESSAGES, options, stream=False)
    result = run(snippet, OPENAI_API_KEY=CANARY)
    assert result.returncode == 0, result.stderr
    assert "Hello from the fault server." in result.stdout
    assert fault_server.requests[-1].body == sent_body(endpoint, "ok", MESSAGES, options, stream=False)
    assert "stream" not in fault_server.requests[-1].body


def test_every_field_the_body_gets_is_in_the_call_and_extras_go_in_extra_body(fault_server):
    endpoint = endpoint_for({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": CANARY})
    options = SamplingOptions(seed=1, top_k=3, stop=("\n\n", 'END"'), presence_penalty=0.5,
                              frequency_penalty=-0.25)
    snippet = python_snippet(endpoint, "ok", MESSAGES, options)
    assert 'extra_body={"top_k": 3}' in snippet and "stop=[" in snippet
    result = run(snippet, OPENAI_API_KEY=CANARY)
    assert result.returncode == 0, result.stderr
    body = fault_server.requests[-1].body
    assert body == sent_body(endpoint, "ok", MESSAGES, options)
    assert body["stop"] == ["\n\n", 'END"'] and body["seed"] == 1
    assert body["presence_penalty"] == 0.5 and body["frequency_penalty"] == -0.25


def test_the_lectures_loop_fails_on_the_usage_chunk_that_the_snippet_guards(fault_server):
    endpoint = endpoint_for({"OPENAI_BASE_URL": fault_server.base_url, "OPENAI_API_KEY": CANARY})
    snippet = python_snippet(endpoint, "ok", MESSAGES, SamplingOptions())
    assert "if chunk.choices:" in snippet and "IndexError" in snippet
    assert "IndexError" in NOTE and "if chunk.choices:" in NOTE
    lecture = snippet.split("usage = None")[0] + (
        "for chunk in stream:\n    print(chunk.choices[0].delta.content or '', end='')\n")
    result = run(lecture, OPENAI_API_KEY=CANARY)
    assert "Hello from the fault server." in result.stdout
    assert result.returncode != 0 and "IndexError" in result.stderr


def test_the_builtin_snippet_targets_lib_serve_not_the_in_process_server():
    connected = replace(BUILTIN, base_url="http://127.0.0.1:54321/v1", api_key=CANARY)
    snippet = python_snippet(connected, "SmolLM2-135M-Instruct", MESSAGES, SamplingOptions())
    assert CANARY not in snippet and "54321" not in snippet
    assert "python -m lib.serve --port 8080" in snippet
    assert 'os.environ["LAB_SERVE_API_KEY"]' in snippet
    assert '"http://127.0.0.1:8080/v1"' in snippet


def test_the_builtin_snippet_gets_an_answer_from_lib_serve(served_model):
    options = SamplingOptions(max_tokens=16, temperature=0)
    snippet = python_snippet(BUILTIN, "SmolLM2-135M-Instruct", MESSAGES, options)
    result = run(snippet, LAB_SERVE_BASE_URL=served_model, LAB_SERVE_API_KEY=SERVED_API_KEY)
    assert result.returncode == 0, result.stderr
    answer, _, usage = result.stdout.rstrip("\n").rpartition("\n")
    assert answer.strip() and "completion_tokens=" in usage


def test_a_private_url_is_read_from_the_environment(fault_server):
    secrets = {"providers": {"lab": {"base_url": fault_server.base_url, "api_key": CANARY,
                                     "private": True}}}
    endpoint = endpoint_for({}, "custom:lab", secrets)
    snippet = python_snippet(endpoint, "ok", MESSAGES, SamplingOptions())
    host_port = fault_server.base_url.split("//")[1].split("/")[0]
    assert host_port not in snippet and CANARY not in snippet
    assert 'os.environ["LAB_BASE_URL"]' in snippet and 'os.environ["LAB_API_KEY"]' in snippet
    result = run(snippet, LAB_BASE_URL=fault_server.base_url, LAB_API_KEY=CANARY)
    assert result.returncode == 0, result.stderr
    assert "Hello from the fault server." in result.stdout


def test_a_keyless_local_server_runs_without_any_variable(fault_server):
    endpoint = endpoint_for({"OLLAMA_BASE_URL": fault_server.base_url}, "ollama")
    snippet = python_snippet(endpoint, "ok", MESSAGES, SamplingOptions())
    assert f'"{fault_server.base_url}"' in snippet
    result = run(snippet)
    assert result.returncode == 0, result.stderr
    assert "Hello from the fault server." in result.stdout


def test_quotes_newlines_and_unicode_render_to_valid_python():
    snippet = python_snippet(BUILTIN, 'odd "model"\n', AWKWARD, SamplingOptions(stop=("\x00", "'")))
    assert messages_in(snippet) == AWKWARD
    snippet.encode("utf-8")  # writable to a file


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=())), max_size=4))
def test_any_text_renders_to_the_same_messages(contents):
    messages = [{"role": "user", "content": text} for text in contents]
    snippet = python_snippet(BUILTIN, "m", messages, SamplingOptions())
    assert messages_in(snippet) == messages
    snippet.encode("utf-8")
