"""``python -m lib.gradio_chat``: the lab's chat as a Gradio app, on the same lib/.

    make gradio                                  # set up its environment once, then launch
    .venv-gradio/bin/python -m lib.gradio_chat --port 7860 --provider builtin
    .venv-gradio/bin/python -m lib.gradio_chat --example streaming

Same configuration contract as the Streamlit app (``.streamlit/secrets.toml``, then the
environment), same providers, same streaming, same deployment policy on shared keys. Gradio
5.x lives in an environment of its own (launchers/gradio), so it never drags the Streamlit
app's packages back.
"""


# No `from __future__ import annotations`: Gradio reads `request: gr.Request` at run time.
import argparse
import os
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from lib.chat.history import to_api_messages
from lib.chat.providers import ChatProvider, make_provider
from lib.chat.sampling import SamplingOptions, bounds
from lib.chat.turn import ChatTurn
from lib.config import default_endpoint, resolve_endpoints
from lib.deployment import DeploymentPolicy, SessionUsage
from lib.ledger.accounts import admit_request, key_account
from lib.inspector import Inspector
from lib.models.catalog import available_models

SECRETS_FILE = Path(".streamlit/secrets.toml")
EXAMPLES = ("basic", "history", "streaming")


def read_secrets(path: Path = SECRETS_FILE) -> dict[str, Any]:
    """The Streamlit secrets file, if there is one (same contract as the app)."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        return {}


class LabChat:
    """What the Gradio chat does, without Gradio: providers, policy, one streamed answer."""

    def __init__(self, secrets: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        self.endpoints = {e.id: e for e in resolve_endpoints(secrets, environ, {})}
        self.default = default_endpoint(list(self.endpoints.values()))
        self.policy = DeploymentPolicy.from_settings(secrets, environ)
        self._secrets, self._environ = secrets, environ
        self._providers: dict[str, ChatProvider] = {}
        self._usage: dict[str, SessionUsage] = {}
        self._lock = threading.Lock()

    def provider(self, endpoint_id: str) -> ChatProvider:
        """One client per endpoint for the process (keys come from the deployment only)."""
        with self._lock:
            if endpoint_id not in self._providers:
                self._providers[endpoint_id] = make_provider(self.endpoints[endpoint_id],
                                                             Inspector())
            return self._providers[endpoint_id]

    def models(self, endpoint_id: str) -> list[str]:
        endpoint = self.endpoints[endpoint_id]
        listed = available_models(self.provider(endpoint_id)) if endpoint.configured else None
        models = list(listed.models if listed and listed.models else endpoint.suggested_models)
        return list(self.policy.models_for(endpoint, tuple(models)))

    def respond(self, message: str, history: list[dict], endpoint_id: str, model: str,
                system_prompt: str, temperature: float, max_tokens: float,
                session_id: str = "") -> Iterator[tuple[str, str]]:
        """Yield (answer so far, stats) as the answer streams; a failure ends the answer
        with its message, and the partial answer stays."""
        endpoint = self.endpoints[endpoint_id]
        usage = self._session_usage(session_id)
        conversation = [{"role": m["role"], "content": m["content"]} for m in history
                        if isinstance(m.get("content"), str)]  # Gradio adds display fields
        conversation.append({"role": "user", "content": message})
        account = key_account(usage, self._secrets, self._environ)
        refusal = admit_request(self.policy, account, endpoint, model,
                                messages=to_api_messages(conversation, system_prompt),
                                max_tokens=int(max_tokens))
        if refusal:
            yield f"⚠️ {refusal}", ""
            return
        options = SamplingOptions(temperature=temperature, max_tokens=int(max_tokens))
        turn = ChatTurn.start(self.provider(endpoint_id), model, options, conversation,
                              system_prompt, account=account)
        text = ""
        try:
            for delta in turn.stream:
                text += delta
                yield text, ""
        finally:  # also when the user presses Stop: Gradio closes this generator
            turn.settle()
        error = turn.stream.error
        shown = f"{text}\n\n⚠️ {error}" if error else text
        yield shown, stats_line(turn)

    def _session_usage(self, session_id: str) -> SessionUsage:
        with self._lock:
            return self._usage.setdefault(session_id, SessionUsage())


def stats_line(turn: ChatTurn) -> str:
    m = turn.stream.metrics
    ttft = f"{m.ttft_s * 1000:.0f} ms" if m.ttft_s is not None else "—"
    tps = f"{m.tokens_per_s:.1f}" if m.tokens_per_s else "—"
    estimate = " (estimated)" if m.usage_is_estimate else ""
    return (f"**Time to first token** {ttft} · **tokens/s** {tps} · "
            f"**tokens**{estimate} {m.prompt_tokens or '—'} in, {m.completion_tokens} out · "
            f"**finish** {m.finish_reason or '—'}")


def build_chat(lab: LabChat, provider_id: str | None = None, model: str | None = None):
    import gradio as gr

    start = lab.endpoints[provider_id] if provider_id else lab.default
    models = lab.models(start.id)
    low, high = bounds("max_tokens")
    defaults = SamplingOptions()
    with gr.Blocks(title="Hosted LLM Lab · Gradio chat") as demo:
        gr.Markdown("## Hosted LLM Lab · Gradio chat\nThe same providers as the Streamlit app.")
        stats = gr.Markdown(label="Last answer")
        with gr.Accordion("Model and settings", open=True):
            with gr.Row():
                provider = gr.Dropdown([(e.label, e.id) for e in lab.endpoints.values()],
                                       value=start.id, label="Provider")
                model_box = gr.Dropdown(models, value=model or (models[0] if models else None),
                                        label="Model", allow_custom_value=True)
            system = gr.Textbox("You help travelers make plans for their trips.",
                                label="System prompt")
            with gr.Row():
                temperature = gr.Slider(*bounds("temperature"), value=defaults.temperature,
                                        step=0.05, label="Temperature")
                max_tokens = gr.Slider(low, 2048, value=defaults.max_tokens, step=1,
                                       label="Max tokens")

        def choose_provider(endpoint_id: str):
            options = lab.models(endpoint_id)
            return gr.update(choices=options, value=options[0] if options else None)

        provider.change(choose_provider, provider, model_box)

        def respond(message, history, endpoint_id, model_id, system_prompt, temp, tokens,
                    request: gr.Request):
            session = request.session_hash if request else ""
            yield from lab.respond(message, history, endpoint_id, model_id, system_prompt,
                                   temp, tokens, session)

        gr.ChatInterface(respond, type="messages", additional_inputs=[
            provider, model_box, system, temperature, max_tokens], additional_outputs=[stats],
            examples=[["What should I do on my upcoming trip to Paris?"]],
            cache_examples=False)
    return demo


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lib.gradio_chat",
                                     description="The lab's chat as a Gradio app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true",
                        help="a temporary public link through Gradio's share servers")
    parser.add_argument("--provider", help="endpoint id, e.g. builtin, openrouter, openai")
    parser.add_argument("--model", help="model id to start with")
    parser.add_argument("--example", choices=EXAMPLES,
                        help="run one of the lecture's three Gradio examples instead")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    lab = LabChat(read_secrets(), os.environ)
    if args.provider and args.provider not in lab.endpoints:
        sys.exit(f"error: unknown provider {args.provider!r}; "
                 f"choose from {', '.join(lab.endpoints)}")
    if args.example:
        from lib import gradio_examples

        demo = getattr(gradio_examples, args.example)(lab, args.provider, args.model)
    else:
        demo = build_chat(lab, args.provider, args.model)
    demo.queue(default_concurrency_limit=8)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                prevent_thread_lock=True, show_api=True, show_error=True)
    if args.share and not demo.share_url:
        demo.close()
        sys.exit("error: --share could not create a public link: this machine cannot reach "
                 "Gradio's share servers (no internet?). Run without --share and open the "
                 f"local URL, http://{args.host}:{args.port}, instead.")
    print(f"Serving on http://{args.host}:{args.port}" +
          (f" and {demo.share_url}" if demo.share_url else ""), flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        demo.close()


if __name__ == "__main__":
    main()
