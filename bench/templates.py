"""What the chat-templates page costs: transformers' import, each family's tokenizer (first
load from the xz files, load from the unpacked cache, resident memory), one render, and all
four families in one process (what a class's shared process holds after the page's default).

Each measurement runs in a fresh Python process, so imports and caches don't leak between
them. RSS is VmRSS (current) from /proc. Usage: python bench/templates.py
Last line JSON: {"import_s", "import_rss_mb", "families": {id: {"first_load_s", "cached_load_s",
"rss_mb", "rss_delta_mb", "render_ms"}}, "all_four_rss_mb", "loadavg"}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib.templates.families import FAMILIES  # noqa: E402

PROBE = r"""
import json, os, statistics, sys, time
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
import lib.templates.vendored_tokenizers as v
from pathlib import Path
os.environ["LAB_CACHE_DIR"] = sys.argv[1]  # where the tokenizers are unpacked
base = rss_mb()
t = time.perf_counter(); import transformers; from transformers import AutoTokenizer
out = {"import_s": time.perf_counter() - t, "import_rss_mb": rss_mb(), "start_rss_mb": base}
from lib.templates.rendering import render_with_family
from lib.templates.conversation import LECTURE_MESSAGES
for family in sys.argv[2].split(","):
    before = rss_mb()
    t = time.perf_counter()
    with v.tokenizer_in_use(family):
        pass
    load = time.perf_counter() - t
    times = []
    for _ in range(20):
        t = time.perf_counter()
        render_with_family(family, list(LECTURE_MESSAGES))
        times.append(time.perf_counter() - t)
    out[family] = {"load_s": load, "rss_mb": rss_mb(), "rss_delta_mb": rss_mb() - before,
                   "render_ms": 1000 * statistics.median(times)}
out["rss_mb"] = rss_mb()
print(json.dumps(out))
"""


def probe(cache: Path, families: list[str]) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, str(cache), ",".join(families)],
                            cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    figures: dict = {"families": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for family in FAMILIES:
            first = probe(Path(tmp) / family, [family])  # unpacks from xz, then loads
            cached = probe(Path(tmp) / family, [family])  # files already unpacked
            figures.setdefault("import_s", first["import_s"])
            figures.setdefault("import_rss_mb", first["import_rss_mb"])
            row = {"first_load_s": first[family]["load_s"], "cached_load_s": cached[family]["load_s"],
                   "rss_mb": cached[family]["rss_mb"], "rss_delta_mb": cached[family]["rss_delta_mb"],
                   "render_ms": cached[family]["render_ms"]}
            figures["families"][family] = row
            print(f"{family:8s} first load {row['first_load_s']:.2f} s, cached {row['cached_load_s']:.2f} s, "
                  f"+{row['rss_delta_mb']:.0f} MB (process {row['rss_mb']:.0f} MB), "
                  f"render {row['render_ms']:.1f} ms")
        together = probe(Path(tmp) / "all", list(FAMILIES))
    figures["all_four_rss_mb"] = together["rss_mb"]
    figures["loadavg"] = os.getloadavg()
    print(f"transformers import {figures['import_s']:.2f} s, process {figures['import_rss_mb']:.0f} MB")
    print(f"all four families in one process: {figures['all_four_rss_mb']:.0f} MB "
          f"(load average {figures['loadavg'][0]:.1f})")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
