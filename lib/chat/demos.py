"""Ready-made conversations for making a point in class."""

from __future__ import annotations

from lib.chat.history import Message

# The lecture: "small models often forget early details in long conversation histories".
# A name given in turn 1 and asked for in turn 8; with a sliding window of 4 messages the
# request for turn 8 no longer carries it. The answers are scripted, so the demo starts at
# once; turn 8 is answered live by the chosen model.
FORGETTING_DEMO_WINDOW = 4
FORGETTING_DEMO: tuple[Message, ...] = (
    {"role": "user", "content": "Hi! My name is Amelia and I'm planning my first trip to Paris in May."},
    {"role": "assistant", "content": "Nice to meet you, Amelia! May is a lovely time for Paris. How many days will you stay?"},
    {"role": "user", "content": "Five days. What should I see first?"},
    {"role": "assistant", "content": "Start with the Eiffel Tower and an evening walk along the Seine, then the islands: Notre-Dame and Sainte-Chapelle."},
    {"role": "user", "content": "Is the Louvre worth it?"},
    {"role": "assistant", "content": "Yes. Book a timed ticket and pick two or three wings rather than trying to see it all."},
    {"role": "user", "content": "Where should I eat near the Louvre?"},
    {"role": "assistant", "content": "Try a bistro around the Palais-Royal gardens, or a picnic in the Tuileries."},
    {"role": "user", "content": "How do I get around?"},
    {"role": "assistant", "content": "The Métro is fastest: tap in with a contactless bank card or a Navigo Easy pass."},
    {"role": "user", "content": "Any good day trips?"},
    {"role": "assistant", "content": "Versailles is an easy half day by RER C; Giverny, Monet's garden, opens from April."},
    {"role": "user", "content": "What should I pack for May?"},
    {"role": "assistant", "content": "Layers, comfortable walking shoes and a light rain jacket: May is mild but changeable."},
    {"role": "user", "content": "By the way, what's my name?"},
)
