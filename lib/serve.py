"""``python -m lib.serve``: the built-in model for any OpenAI client, e.g. the lecture's code.

    python -m lib.serve --port 8080

prints the base URL and the API key to use, then serves until Ctrl-C:

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8080/v1", api_key="<the key it printed>")
    client.chat.completions.create(model="SmolLM2-135M-Instruct", messages=[...])

It is llama.cpp's own server (the same engine the app uses), so streaming, usage,
``response_format`` (json_object, json_schema), ``/v1/completions``, logprobs and seeds work.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading

from pydantic import ValidationError

from lib.models.engine_host import start_server
from lib.models.settings import EngineSettings, EngineSettingsError, cpu_quota
from lib.models.shipped import SHIPPED_MODELS, SMOLLM2, ModelNotInstalled

KEY_ENV = "LAB_SERVE_API_KEY"


def usage_text(model_id: str, base_url: str, api_key: str) -> str:
    if SHIPPED_MODELS[model_id].tuning == "base":  # a base model continues text: completions
        return f"""Serving {model_id} (a base model: use completions) at {base_url}
API key: {api_key}

    from openai import OpenAI
    client = OpenAI(base_url="{base_url}", api_key="{api_key}")
    reply = client.completions.create(
        model="{model_id}", prompt="Mary had a little", max_tokens=50,
    )
    print(reply.choices[0].text)

Ctrl-C stops it."""
    return f"""Serving {model_id} at {base_url}
API key: {api_key}

    from openai import OpenAI
    client = OpenAI(base_url="{base_url}", api_key="{api_key}")
    reply = client.chat.completions.create(
        model="{model_id}",
        messages=[{{"role": "user", "content": "What should I do in Paris?"}}],
    )
    print(reply.choices[0].message.content)

Ctrl-C stops it."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lib.serve", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--model", default=SMOLLM2.id, choices=sorted(SHIPPED_MODELS))
    parser.add_argument("--api-key", default=os.environ.get(KEY_ENV),
                        help=f"the key clients must send (default: ${KEY_ENV}, else a random "
                             "one; prefer the variable: a command line is visible to others)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads (default: every CPU this process may use)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    api_key = args.api_key or secrets.token_urlsafe(24)
    try:
        settings = EngineSettings.from_environ()
        # Alone on the machine, it may use every CPU (the app keeps one for Streamlit).
        settings = EngineSettings(**{**settings.model_dump(),
                                     "threads": args.threads or cpu_quota()})
        _server, info = start_server(SHIPPED_MODELS[args.model], settings, api_key,
                                     host=args.host, port=args.port)
    except (ModelNotInstalled, EngineSettingsError) as exc:
        sys.exit(f"error: {exc}")
    except ValidationError as exc:
        sys.exit(f"error: --threads {args.threads}: {exc.errors()[0]['msg'].lower()}")
    except Exception as exc:  # most often: the port is taken
        sys.exit(f"error: could not serve on {args.host}:{args.port} (is the port in use?): {exc}")
    print(usage_text(args.model, info["base_url"], api_key), flush=True)
    if args.host not in ("127.0.0.1", "localhost"):
        print(f"\nListening on {args.host}: other machines reach it at this machine's address, "
              "with the key above.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    # Not a normal exit: destroying the server while a request runs can hang (see engine_host).
    os._exit(0)


if __name__ == "__main__":
    main()
