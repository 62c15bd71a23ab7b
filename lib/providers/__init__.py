"""One interface, two kinds: any OpenAI-compatible endpoint, and the built-in model.

Both offer ``stream_chat(messages, model, options) -> ChatStream``,
``request_body(...)`` (the JSON they send) and ``list_models()``.
"""

from __future__ import annotations

from lib.config import Endpoint
from lib.inspector import Inspector
from lib.providers.builtin import BuiltinProvider
from lib.providers.openai_compatible import OpenAICompatibleProvider
from lib.sampling import SamplingOptions

ChatProvider = OpenAICompatibleProvider | BuiltinProvider

__all__ = ["ChatProvider", "SamplingOptions", "make_provider"]


def make_provider(endpoint: Endpoint, inspector: Inspector) -> ChatProvider:
    if endpoint.kind == "builtin":
        return BuiltinProvider(endpoint, inspector)
    return OpenAICompatibleProvider(endpoint, inspector)
