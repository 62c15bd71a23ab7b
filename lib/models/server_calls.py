"""What the app asks of a model's server besides chat: llama.cpp's own endpoints.

Shared by the engine the app starts for itself (lib/models/engine.py) and a server fleet the
operator runs (lib/models/fleet.py): /apply-template, /tokenize, /props, /v1/models. A
fleet that lacks one (vLLM has no /apply-template) answers 404; ``post``/``get`` then raise
an ``httpx.HTTPStatusError`` whose message says so in words, which every caller already
catches and shows.
"""

from __future__ import annotations

import httpx

CONNECT_S = 2.0  # a server that does not take the connection by then is down: say so soon


def server_client(base_url: str, api_key: str | None) -> httpx.Client:
    """One keep-alive client for the server's own endpoints (base URL without /v1)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    return httpx.Client(base_url=base_url.removesuffix("/v1"), headers=headers)


class ServerCalls:
    """llama.cpp's own endpoints on ``self._client``; ``where`` names the server in messages."""

    _client: httpx.Client

    @property
    def where(self) -> str:
        return "the local llama.cpp server"

    def post(self, path: str, body: dict, timeout_s: float = 30.0) -> dict:
        """POST to one of llama.cpp's own endpoints (/tokenize, /apply-template …)."""
        return self._checked(self._client.post(
            path, json=body, timeout=httpx.Timeout(timeout_s, connect=CONNECT_S))).json()

    def get(self, path: str, timeout_s: float = 30.0) -> dict:
        """GET one of llama.cpp's own endpoints (/props, /v1/models …) as JSON."""
        return self._checked(self._client.get(
            path, timeout=httpx.Timeout(timeout_s, connect=CONNECT_S))).json()

    def count_chat_tokens(self, messages: list[dict[str, str]]) -> int:
        """Tokens of the prompt the model reads for these messages: rendered by the model's
        own chat template, then tokenized, both by the server."""
        prompt = self.post("/apply-template", {"messages": messages})["prompt"]
        return len(self.post("/tokenize", {"content": prompt, "add_special": False})["tokens"])

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.status_code in (404, 405, 501):
            path = response.request.url.path
            raise httpx.HTTPStatusError(
                f"{self.where} has no {path} (llama.cpp's server has it; vLLM and most "
                "hosted servers do not), so this part of the lesson is not shown",
                request=response.request, response=response)
        return response.raise_for_status()
