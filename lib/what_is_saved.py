"""What of a student's session is saved for their browser, and what a shared setup carries.

One list for the whole app, page by page (lib/persistence/keys.py says what the fields
mean). Never here: typed API keys and base URLs (``lab_key_input_*``, ``lab_url_input_*``),
the wire panel (raw requests), running streams, buttons and file uploads.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lib.base_vs_instruct.knobs import Knobs
from lib.base_vs_instruct.saved import SAVED_TYPES as BASE_VS_INSTRUCT_TYPES
from lib.base_vs_instruct.saved import restored_run, saved_run
from lib.chat.anatomy import Specimens
from lib.chat.errors import ProviderError
from lib.chat.history import restored_history
from lib.chat.tools import ToolCallRun, ToolExchange
from lib.chat.sampling import SamplingOptions, field_bounds
from lib.cost.pricing import CustomPrice
from lib.deployment import SessionUsage
from lib.persistence.codec import Codec
from lib.persistence.keys import SavedKey, SavedKeys, choice, choices, flag, number, text
from lib.persistence.saved_session import MAX_VALUE_BYTES
from lib.structured.builder import restored_rows as builder_rows
from lib.structured.experiment import Trial
from lib.structured.modes import Mode, ModeResult
from lib.structured.runs import AskRun, ExperimentRun
from lib.structured.schemas import Check
from lib.templates.conversation import restored_rows


def _bounds(model, name: str, whole: bool = False, optional: bool = False):
    return number(*field_bounds(model, name), whole=whole, optional=optional)


def _of_type(kind: type):
    def check(value: Any) -> Any:
        if not isinstance(value, kind):
            raise ValueError(f"not a {kind.__name__}")
        return value
    return check


def _list_of(kind: type):
    def check(value: Any) -> list:
        if not (isinstance(value, list) and all(isinstance(item, kind) for item in value)):
            raise ValueError(f"not a list of {kind.__name__}")
        return value
    return check


def _usage(value: Any) -> SessionUsage:
    usage = SessionUsage(number(0, 10**9, whole=True)(value["requests"]), value["spent_usd"])
    if not isinstance(usage.spent_usd, Decimal) or usage.spent_usd < 0:
        raise ValueError("not a spend")
    return usage


def _custom_prices(value: Any) -> dict[str, CustomPrice]:
    if not isinstance(value, dict):
        raise ValueError("not prices")
    return {name: CustomPrice.model_validate(price) for name, price in value.items()}


def _setting(name: str, check, page: str | None, prefix: bool = False, label: str = "") -> SavedKey:
    """A widget's value, shared by "Share this setup"."""
    return SavedKey(name, check, prefix=prefix, shared=True, page=page, label=label)


def _work(name: str, check, page: str | None, label: str, shared: bool = False,
          save=lambda value: value) -> SavedKey:
    return SavedKey(name, check, save=save, setting=False, shared=shared, page=page, label=label)


def _result(name: str, check, page: str, label: str, version, save=lambda value: value) -> SavedKey:
    """A click's results: a new object per click, growing only while its run goes on."""
    return SavedKey(name, check, save=save, setting=False, page=page, label=label,
                    version=version)


def _run_version(run) -> tuple:
    """How far both panes of a base vs instruct run got (a live Run or a SavedRun)."""
    return tuple((len(pane.text), len(pane.steps), str(pane.error), pane.metrics is None)
                 for pane in (run.base, run.instruct))


PROMPT = text(MAX_VALUE_BYTES)  # what is too big to keep is said when it is saved
CHAT, BVI, TEMPLATES, STRUCTURED, COST, TIMELINE = (
    "streaming_chat", "base_vs_instruct", "chat_templates", "structured_outputs",
    "cost_simulator", "timeline")
WHOLE = number(-10**15, 10**15, whole=True)  # the cost page's own checks word the rest
AMOUNT = number(-10**15, 10**15)

SAVED_KEYS = SavedKeys([
    # Every page with a provider sidebar (chat, structured outputs).
    _setting("lab_provider", choice, None),
    _setting("lab_model_", text(500), None, prefix=True),  # and lab_model_text_<endpoint>
    _setting("lab_max_tokens_", _bounds(SamplingOptions, "max_tokens", whole=True), None, prefix=True),
    _setting("lab_temperature", _bounds(SamplingOptions, "temperature"), None),
    _setting("lab_top_p", _bounds(SamplingOptions, "top_p"), None),
    _setting("lab_seed", _bounds(SamplingOptions, "seed", whole=True, optional=True), None),
    _setting("lab_stop", text(2000), None),
    _setting("lab_presence_penalty", _bounds(SamplingOptions, "presence_penalty"), None),
    _setting("lab_frequency_penalty", _bounds(SamplingOptions, "frequency_penalty"), None),
    SavedKey("lab_projector", flag),  # the room's, not the setup's: not shared
    _work("lab_usage", _usage, None, "what this browser used of the shared key",
          save=lambda usage: {"requests": usage.requests, "spent_usd": usage.spent_usd}),
    # Streaming chat
    _setting("chat_system_preset", choice, CHAT),
    _setting("chat_system", PROMPT, CHAT, label="the system prompt"),
    _setting("chat_streaming", flag, CHAT),
    _setting("chat_view", choice, CHAT),
    _setting("chat_context_strategy", choice, CHAT),
    _setting("chat_context_last", number(1, 200, whole=True), CHAT),
    _setting("chat_context_budget", number(64, 1_000_000, whole=True), CHAT),
    _setting("compare_prompt", PROMPT, CHAT, label="the comparison's prompt"),
    _setting("compare_panes", choice, CHAT),
    _setting("compare_provider_", choice, CHAT, prefix=True),
    _setting("compare_model_", text(500), CHAT, prefix=True),
    _setting("anatomy_prompt", PROMPT, CHAT, label="the anatomy question"),
    _setting("tools_picked", choices, CHAT),
    _setting("tools_way_", choice, CHAT, prefix=True),
    _setting("tools_choice", choice, CHAT),
    _setting("tools_question", PROMPT, CHAT, label="the tools question"),
    _work("chat_history", restored_history, CHAT, "the conversation"),
    _work("chat_summaries", _of_type(dict), CHAT, "the conversation's summary"),
    _result("compare_results", _list_of(dict), CHAT, "the comparison's answers", len),
    _result("anatomy_specimens", _of_type(tuple), CHAT, "the response taken apart", len),
    _result("tools_exchange", _of_type(ToolExchange), CHAT, "the last tool call",
            lambda exchange: (len(exchange.calls), exchange.answer is None, exchange.error)),
    # Base vs instruct
    _setting("bvi_provider", choice, BVI),
    _setting("bvi_base_model_", text(500), BVI, prefix=True),
    _setting("bvi_instruct_model_", text(500), BVI, prefix=True),
    _setting("bvi_max_new_tokens", _bounds(Knobs, "max_new_tokens", whole=True), BVI),
    _setting("bvi_do_sample", flag, BVI),
    _setting("bvi_temperature", _bounds(Knobs, "temperature"), BVI),
    _setting("bvi_top_k", _bounds(Knobs, "top_k", whole=True), BVI),
    _setting("bvi_top_p", _bounds(Knobs, "top_p"), BVI),
    _setting("bvi_seed", _bounds(Knobs, "seed", whole=True, optional=True), BVI),
    _setting("bvi_prompt", PROMPT, BVI, label="the prompt"),
    _setting("bvi_system", PROMPT, BVI, label="the instruct model's system prompt"),
    _setting("bvi_format", choice, BVI),
    _result("bvi_run", restored_run, BVI, "the last run of both models", _run_version,
            save=saved_run),
    # Chat templates and the token viewer
    _setting("tpl_sources", choices, TEMPLATES),
    _setting("tpl_generation_prompt", flag, TEMPLATES),
    _setting("tpl_highlight", flag, TEMPLATES),
    _setting("tpl_ids", flag, TEMPLATES),
    _work("tpl_rows", restored_rows, TEMPLATES, "the conversation being templated", shared=True),
    _setting("tv_text", PROMPT, TEMPLATES, label="the text to tokenize"),
    _setting("tv_picked", choices, TEMPLATES),
    _setting("tv_ids", flag, TEMPLATES),
    # Structured outputs
    _setting("so_schema_choice", choice, STRUCTURED),
    _setting("so_pasted", PROMPT, STRUCTURED, label="the pasted JSON Schema"),
    _setting("so_builder_title", text(500), STRUCTURED),
    _work("so_builder_table", builder_rows, STRUCTURED, "the schema builder's fields", shared=True),
    _setting("so_question_", PROMPT, STRUCTURED, prefix=True, label="the question"),
    _setting("so_runs", number(1, 50, whole=True), STRUCTURED),
    _setting("so_modes", _list_of(Mode), STRUCTURED),
    _result("so_ask_run", _of_type(AskRun), STRUCTURED, "the three answers",
            lambda run: len(run.results)),
    _result("so_experiment", _of_type(ExperimentRun), STRUCTURED, "the experiment's results",
            lambda run: (len(run.trials), run.stopped)),
    # Cost simulator
    *(_setting(name, choice, COST) for name in ("input_mode", "encoding", "per", "period")),
    _setting("input_text", PROMPT, COST, label="the prompt to count"),
    *(_setting(name, WHOLE, COST) for name in (
        "input_words", "output_tokens", "users", "system_tokens", "user_tokens",
        "reply_tokens", "window", "summary_tokens")),
    _setting("turns", number(1, 200, whole=True), COST),  # sliders: the widget's own bounds
    _setting("cached_share", number(0, 100, whole=True), COST),
    _setting("requests", AMOUNT, COST),
    _setting("models", choices, COST),
    *(_setting(name, text(200), COST) for name in (
        "custom_name", "custom_input", "custom_output", "custom_cached")),
    _work("custom_prices", _custom_prices, COST, "your prices", shared=True,
          save=lambda prices: {name: p.model_dump(mode="json") for name, p in prices.items()}),
    # Model timeline
    *(_setting(name, choices, TIMELINE) for name in (
        "timeline_organisations", "timeline_licence_classes", "timeline_tunings")),
])

CODEC = Codec([*BASE_VS_INSTRUCT_TYPES, Specimens, ProviderError, Mode, ModeResult, Check,
               Trial, AskRun, ExperimentRun, ToolExchange, ToolCallRun])
