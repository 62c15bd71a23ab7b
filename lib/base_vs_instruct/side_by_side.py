"""Two streams read at once, their deltas handed to the caller in arrival order.

Each stream is read by a thread of its own (the requests go out together, and the engine
answers them in parallel slots); the caller's thread only takes deltas off a queue, so the
page's drawing stays in the script's thread where Streamlit wants it.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence

from lib.chat.streaming import ChatStream

_DONE = object()


def interleave(streams: Sequence[ChatStream]) -> Iterator[tuple[int, str]]:
    """Yield (pane index, text delta) as they arrive from any stream, until all are done.

    Closing the generator early (the page was rerun, Stop) closes every stream, which ends
    their HTTP exchanges, so the engine stops generating for a page nobody watches."""
    arrivals: queue.Queue = queue.Queue()

    def read(index: int, stream: ChatStream) -> None:
        try:
            for delta in stream:  # ChatStream never raises: errors land in stream.error
                arrivals.put((index, delta))
        finally:
            arrivals.put((index, _DONE))

    readers = [threading.Thread(target=read, args=(i, s), daemon=True, name=f"pane-{i}")
               for i, s in enumerate(streams)]
    for reader in readers:
        reader.start()
    running = len(readers)
    try:
        while running:
            index, delta = arrivals.get()
            if delta is _DONE:
                running -= 1
            else:
                yield index, delta
    finally:
        for stream in streams:
            stream.close()  # a no-op for a stream that finished


def pane_texts(streams: Sequence[ChatStream], interval_s: float = 0.05
               ) -> Iterator[tuple[int, str]]:
    """(pane index, that pane's whole text so far), at most every ``interval_s`` per pane,
    and once more at the end for each pane: a browser redraws a whole pane on every update,
    and 20 a second look the same as 60 while leaving the CPU to the models."""
    texts = ["" for _ in streams]
    drawn = [0.0 for _ in streams]
    shown = ["" for _ in streams]
    for index, delta in interleave(streams):
        texts[index] += delta
        now = time.perf_counter()
        if now - drawn[index] >= interval_s:
            drawn[index] = now
            shown[index] = texts[index]
            yield index, texts[index]
    for index, text in enumerate(texts):
        if text != shown[index]:
            yield index, text
