"""The transformers code the lecture teaches, written for what this page just ran.

Shown, not executed: running it needs torch, an optional extra the lab never installs
(several GB). The page's own requests do the same through the llama.cpp engine's
OpenAI-compatible endpoints.
"""

from __future__ import annotations

from lib.base_vs_instruct.knobs import Knobs

# Where each shipped model lives on the Hugging Face hub (the weights the GGUFs came from).
HUB_IDS = {
    "gemma-3-270m": "google/gemma-3-270m",
    "SmolLM2-135M-Instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
}


def hub_id(model: str) -> str:
    return HUB_IDS.get(model, model)


def _generate_args(knobs: Knobs, tokenizer: str) -> str:
    args = [f"max_new_tokens={knobs.max_new_tokens}"]
    if knobs.do_sample and knobs.temperature > 0:
        args += ["do_sample=True", f"temperature={knobs.temperature:g}",
                 f"top_k={knobs.top_k}", f"top_p={knobs.top_p:g}"]
    else:
        args += ["do_sample=False,  # greedy: the likeliest token every time"]
    args.append(f"pad_token_id={tokenizer}.eos_token_id")
    return "".join(f"    {a}\n" if a.endswith("time") else f"    {a},\n" for a in args)


def transformers_code(base_model: str, instruct_model: str, prompt: str, knobs: Knobs,
                      messages: list[dict[str, str]], formatted: str | None = None) -> str:
    """The lecture's two snippets (base: tokenize + generate; instruct: apply_chat_template
    + generate) with this run's models, prompt and knobs. ``formatted``: the text sent
    instead of the model's own template (no template, or another family's)."""
    if formatted is None:
        instruct_text = """instruct_text = instruct_tokenizer.apply_chat_template(
    messages, tokenize=False, add_generation_prompt=True  # adds the assistant prompt
)"""
    else:
        instruct_text = ("# not its own template: the text this page sent instead\n"
                         f"instruct_text = {formatted!r}")
    seed = f"torch.manual_seed({knobs.seed})  # the page's seed\n" if knobs.seed is not None else ""
    message_lines = "".join(f"    {m!r},\n" for m in messages)
    return f'''# pip install transformers torch   (torch: an optional extra, several GB)
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

{seed}
# The base model: it continues the text (this page: POST /v1/completions)
base_tokenizer = AutoTokenizer.from_pretrained({hub_id(base_model)!r})
base_model = AutoModelForCausalLM.from_pretrained({hub_id(base_model)!r})
base_inputs = base_tokenizer({prompt!r}, return_tensors="pt")
base_outputs = base_model.generate(
    **base_inputs,
{_generate_args(knobs, "base_tokenizer")})
print(base_tokenizer.decode(base_outputs[0], skip_special_tokens=True))

# The instruct model: messages -> its chat template -> generate
# (this page: POST /v1/chat/completions; the server applies the template)
instruct_tokenizer = AutoTokenizer.from_pretrained({hub_id(instruct_model)!r})
instruct_model = AutoModelForCausalLM.from_pretrained({hub_id(instruct_model)!r})
messages = [
{message_lines}]
{instruct_text}
instruct_inputs = instruct_tokenizer(instruct_text, return_tensors="pt")
instruct_outputs = instruct_model.generate(
    **instruct_inputs,
{_generate_args(knobs, "instruct_tokenizer")})
print(instruct_tokenizer.decode(instruct_outputs[0], skip_special_tokens=True))
'''
