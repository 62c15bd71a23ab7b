"""The lessons of the app: one entry per page, shared by Home and each page's header."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    icon: str
    path: str  # relative to the app root, as st.Page and st.page_link want it
    summary: str


HOME_PAGE = "app_pages/0_Home.py"  # the landing page (Home.py is the app around the pages)

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "timeline", "Model timeline", "🗓️", "app_pages/1_Model_Timeline.py",
        "From GPT-2 (2019) to today's frontier and open models: when each appeared, how big it "
        "is, and what its licence lets you do — closed, open-weight or open-source.",
    ),
    Lesson(
        "base_vs_instruct", "Base vs instruction-tuned", "🧪", "app_pages/2_Base_vs_Instruct.py",
        "The same prompt sent to a base (completion) model and to an instruction-tuned one, "
        "side by side, with the sampling knobs — temperature, top-k, top-p, max tokens.",
    ),
    Lesson(
        "chat_templates", "Chat templates", "🧩", "app_pages/3_Chat_Templates.py",
        "How system / user / assistant messages become the one string a model reads (ChatML, "
        "Llama 3, Mistral, Gemma), what `apply_chat_template` produces, and why the wrong one "
        "fails — plus a token viewer: text in, tokens out.",
    ),
    Lesson(
        "streaming_chat", "Streaming chat", "💬", "app_pages/4_Streaming_Chat.py",
        "A chatbot over the OpenAI Chat Completions API — OpenAI, OpenRouter, any compatible "
        "server or the built-in model — with the raw request and streamed response in view.",
    ),
    Lesson(
        "structured_outputs", "Structured outputs", "🧱", "app_pages/5_Structured_Outputs.py",
        "Getting JSON you can trust: asking in the prompt, JSON mode, JSON schema, pydantic "
        "`parse`, and the constrained decoding that makes invalid output impossible.",
    ),
    Lesson(
        "cost_simulator", "Cost simulator", "💰", "app_pages/6_Cost_Simulator.py",
        "What tokens cost: price per million input and output tokens, one request, then users × "
        "requests at scale — and why long conversations get expensive.",
    ),
)

BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}
