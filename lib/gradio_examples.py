"""The lecture's three Gradio examples, runnable: ``python -m lib.gradio_chat --example NAME``.

Each is the lecture's code with one change: ``client`` and ``model`` come from the lab's
configuration (the built-in model when there is no key), instead of being typed in.
"""

from __future__ import annotations

import gradio as gr


def lab_client(lab, provider_id: str | None = None, model: str | None = None):
    """An openai client for the configured provider, and a model it serves."""
    provider = lab.provider(provider_id or lab.default.id)
    return provider.client, model or lab.models(provider.endpoint.id)[0]


def basic(lab, provider_id=None, model=None):
    # Example 1: Basic Interface (no model behind it: the lecture's stand-in answer)
    def image_classifier(inp):
        return {"cat": 0.3, "dog": 0.7}

    return gr.Interface(fn=image_classifier, inputs="image", outputs="label")


def history(lab, provider_id=None, model=None):
    # Example 2: Basic Chat Interface
    client, model = lab_client(lab, provider_id, model)

    def chat_with_history(message, history):
        # Gradio's history entries carry display fields too: send role and content only
        history = [{"role": m["role"], "content": m["content"]} for m in history]
        messages = history + [{"role": "user", "content": message}]
        response = client.chat.completions.create(model=model, messages=messages)
        return response.choices[0].message.content

    return gr.ChatInterface(fn=chat_with_history, type="messages",
                            title="Basic Chat with Conversation History")


def streaming(lab, provider_id=None, model=None):
    # Example 3: Streaming Chat Interface
    client, model = lab_client(lab, provider_id, model)

    def chat_with_streaming(message, history):
        history = [{"role": m["role"], "content": m["content"]} for m in history]
        messages = history + [{"role": "user", "content": message}]
        stream = client.chat.completions.create(model=model, messages=messages, stream=True)
        response_text = ""
        for chunk in stream:
            # `if chunk.choices`: a last chunk may carry only usage, with no choices
            if chunk.choices and chunk.choices[0].delta.content is not None:
                response_text += chunk.choices[0].delta.content
                yield response_text

    return gr.ChatInterface(fn=chat_with_streaming, type="messages", title="AI Chat with Streaming")
