"""The words of the timeline page: what the chart shows and how to read a model card."""

from __future__ import annotations

HOW_TO_READ_THE_CHART = """\
Each marker is one **model release**, placed by its release date and its size in parameters on a
**log scale** (every gridline is ten times the one below). Colour and shape give the licence class.
Most closed models never publish their size: they sit on the **undisclosed** band at the top.
Hover a marker for its licence, context window, variants and source.
"""

ONE_ROW_PER_RELEASE = """\
**One row per release.** When a family ships several sizes at once (Llama 2: 7B, 13B, 70B) it is one
row with its largest size; the other sizes are in the row's notes. For mixtures of experts the
parameter count is the total, with the parameters active per token in brackets. The context window
is the longest offered at release. Every row links the source its date and size were checked against;
recent rows that cite a vendor's model list take their date and context window from
[models.dev](https://models.dev).
"""

NO_MATCH = "No release matches these filters — pick at least one organisation, licence class and variant."

CLASSES_INTRO = """\
"Open" means different things. **Closed** models are only hosted; **open-weight** models let you
download the trained weights but not the data they were trained on; **open-source** models publish the
training data too, so you could, in principle, train them again from scratch.
"""

MODEL_CARD_GUIDE = """\
[Hugging Face](https://huggingface.co) is to AI models what GitHub is to source code. Every model has a
**model card** (its README). Three things to read first:

1. **Licence** — the *License* tag at the top of the card (`apache-2.0`, `mit`, `llama3.1`, `gemma`,
   `other`…). Gated models (Llama, Gemma) ask you to accept their terms before the files download.
2. **Size** — the parameter count in the name (`0.5B`, `7B`, `70B`; `30B-A3B` = 30B total, 3B active)
   and in the card's *Model size*. Download size is roughly parameters × bytes per parameter:
   a 7B model in 16-bit weights is about 14 GB.
3. **Base or instruct** — a name ending in `-Instruct`, `-it` or `-chat` is instruction-tuned (it chats);
   no suffix or `-Base` is a base model that only continues text. The *model tree* shows which base
   model a fine-tune came from.

Open-source models also link their **training datasets** from the card — that is what makes them
reproducible.
"""

SEED_DEMO_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
SEED_DEMO = f"""\
**The lecture's demo:** [{SEED_DEMO_MODEL}](https://huggingface.co/{SEED_DEMO_MODEL}) — Apache-2.0,
0.5B parameters, instruction-tuned; its base model is
[Qwen/Qwen2.5-0.5B](https://huggingface.co/Qwen/Qwen2.5-0.5B). Compare the two cards.
"""
