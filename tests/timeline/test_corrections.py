"""Corrections from the source check of data/models.yaml (issue 13), and the rules that guard them.

Where a general rule exists it is checked over every row, and shown to reject the row as it was before the
fix. Facts no rule can derive (a model card's active-parameter count, which variants Google shipped) are
pinned row by row.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from lib.timeline.data import LICENCE_CLASSES, ModelRelease, format_billions, load_timeline

TIMELINE = load_timeline()


def release(name: str) -> ModelRelease:
    return TIMELINE.release(name)


def before_the_fix(name: str, **fields) -> ModelRelease:
    """The row as it was in the dataset before issue 13 (only the fields that changed)."""
    return release(name).model_copy(update=fields)


# --- rule: where sizes differ in licence, each size's licence is named ----------------------------

SIZE = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[MB](?:-A\d+(?:\.\d+)?B)?")  # 72B, 0.5B, 270M, 57B-A14B
CLAUSE = re.compile(r"(?P<licence>[^()]+?) \((?P<sizes>[^()]+)\)")
REST = {"other sizes", "smaller sizes"}


def licence_by_size(model: ModelRelease) -> dict[str, str]:
    """'A (72B); B (3B); C (other sizes)' -> {'72B': 'A', '3B': 'B', 'other sizes': 'C'}."""
    by_size = {}
    for clause in model.licence.split(";"):
        match = CLAUSE.fullmatch(clause.strip())
        assert match, f"{model.name}: licence clause {clause!r} does not name its sizes"
        for size in match["sizes"].split(","):
            by_size[size.strip()] = match["licence"]
    return by_size


def split_licence_problems(model: ModelRelease) -> list[str]:
    """A licence field with several licences ('A (72B); B (3B); C (other sizes)') names, in each clause,
    one licence and the sizes it covers: sizes the row lists, none twice, the flagship among them."""
    if ";" not in model.licence:
        return []
    clauses = [CLAUSE.fullmatch(clause.strip()) for clause in model.licence.split(";")]
    if not all(clauses):
        return [f"{model.name}: a licence clause does not name its sizes: {model.licence!r}"]
    problems = []
    licences = [clause["licence"] for clause in clauses]
    if len(set(licences)) != len(licences):
        problems.append(f"{model.name}: a licence is named in two clauses")
    sizes = [size.strip() for clause in clauses for size in clause["sizes"].split(",")]
    if len(set(sizes)) != len(sizes):
        problems.append(f"{model.name}: a size is given two licences")
    flagship = format_billions(model.parameters_b)
    listed = set(SIZE.findall(model.notes)) | {flagship}
    for size in sizes:
        if size not in REST and size not in listed:
            problems.append(f"{model.name}: the licence names {size}, which the row does not list as a size")
    if flagship not in sizes and not REST.intersection(sizes):
        problems.append(f"{model.name}: no licence clause covers the flagship {flagship}")
    return problems


def test_split_licences_name_each_sizes_licence():
    split = [model for model in TIMELINE.releases if ";" in model.licence]
    assert {model.name for model in split} >= {"Qwen2", "Qwen2.5"}
    assert [problem for model in split for problem in split_licence_problems(model)] == []


def test_split_licence_rule_rejects_the_old_qwen2_5_row():
    old = before_the_fix(
        "Qwen2.5",
        licence="Qwen licence (3B, 72B); Apache-2.0 (other sizes)",
        notes="0.5B to 72B, each as base and -Instruct.",
    )
    assert split_licence_problems(old)


def test_qwen2_5_names_each_sizes_licence():
    assert licence_by_size(release("Qwen2.5")) == {
        "72B": "Qwen License",  # commercial use below 100M monthly active users
        "3B": "Qwen Research License",  # non-commercial
        "other sizes": "Apache-2.0",
    }
    assert "non-commercial" in release("Qwen2.5").notes


# --- rule: context_window is the generally available window; a beta window goes in the notes ------

BETA_WINDOW = re.compile(r"(\d+(?:\.\d+)?)([KM])(?:-token| tokens?)(?: context)? in (?:private )?(?:beta|preview)")
IN_BETA = re.compile(r"\bin (?:private )?(?:beta|preview)\b")
UNIT = {"K": 1_000, "M": 1_000_000}


def beta_window_problems(model: ModelRelease) -> list[str]:
    """A note saying '<size>-token context in beta' (or 'in preview') means that window was not generally
    available at release, so context_window must be smaller than it."""
    problems = []
    if IN_BETA.search(model.notes) and not BETA_WINDOW.search(model.notes):
        problems.append(f"{model.name}: notes mention a beta without '<size>-token context in beta'")
    for number, unit in BETA_WINDOW.findall(model.notes):
        if model.context_window >= float(number) * UNIT[unit]:
            problems.append(f"{model.name}: context_window counts the {number}{unit} beta window")
    return problems


def test_beta_context_windows_are_not_counted():
    in_beta = {model.name for model in TIMELINE.releases if BETA_WINDOW.search(model.notes)}
    assert in_beta >= {"Gemini 1.5 Pro", "Claude Sonnet 4.5", "Claude Opus 4.6"}
    assert [problem for model in TIMELINE.releases for problem in beta_window_problems(model)] == []


@pytest.mark.parametrize(
    "old",
    [
        pytest.param(
            before_the_fix("Gemini 1.5 Pro", context_window=1_000_000,
                           notes="128K standard context, 1M tokens in preview — the first million-token window."),
            id="Gemini 1.5 Pro",
        ),
        pytest.param(
            before_the_fix("Claude Opus 4.6", context_window=1_000_000,
                           notes="1M-token context in beta. Date and context window from models.dev."),
            id="Claude Opus 4.6 with the beta noted",
        ),
    ],
)  # fmt: skip
def test_beta_context_rule_rejects_counting_the_beta_window(old):
    assert beta_window_problems(old)


@pytest.mark.parametrize(
    ("name", "context_window"),
    [("Claude Opus 4.6", 200_000), ("Claude Sonnet 4.5", 200_000), ("Gemini 1.5 Pro", 128_000)],
)
def test_rows_whose_longer_window_was_in_beta_use_the_generally_available_one(name, context_window):
    model = release(name)
    assert model.context_window == context_window
    assert BETA_WINDOW.search(model.notes), model.notes


# --- rule: a mixture of experts gives its active parameters, or says there is no figure -----------

MIXTURE = re.compile(r"mixtures? of experts|mixture-of-experts", re.IGNORECASE)
MIXTURE_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)B-A\d+(?:\.\d+)?B")  # 57B-A14B: total-active
NO_ACTIVE_FIGURE = "no published active-parameter figure"


def mixture_problems(model: ModelRelease) -> list[str]:
    """A row whose notes call it a mixture of experts has active_parameters_b, unless the notes say no
    figure was published, or the mixtures are smaller sizes named with their active count (Qwen2's
    57B-A14B beside its dense 72B flagship)."""
    if model.active_parameters_b is not None or not MIXTURE.search(model.notes):
        return []
    if NO_ACTIVE_FIGURE in model.notes:
        return []
    totals = [float(total) for total in MIXTURE_SIZE.findall(model.notes)]
    if totals and model.parameters_b not in totals:
        return []
    return [f"{model.name}: a mixture of experts without active parameters or '{NO_ACTIVE_FIGURE}'"]


def test_mixtures_of_experts_give_active_parameters_or_say_there_is_none():
    assert [problem for model in TIMELINE.releases for problem in mixture_problems(model)] == []
    assert release("Grok-1").active_parameters_b is None
    assert NO_ACTIVE_FIGURE in release("Grok-1").notes and "2 used per token" in release("Grok-1").notes


def test_mixture_rule_rejects_the_old_grok_1_row():
    old = before_the_fix(
        "Grok-1",
        notes="Raw pre-training checkpoint of a mixture-of-experts model (about 25% of weights active per token).",
    )
    assert mixture_problems(old)


def test_nemotron_3_nano_is_3_5b_active_of_30b_per_its_card():
    model = release("NVIDIA Nemotron 3 Nano")
    assert (model.parameters_b, model.active_parameters_b) == (30, 3.5)
    assert model.size_label == "30B (3.5B active)"


# --- rule: `released` is the first public announcement; no note dates anything earlier ------------

ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
MONTH_YEAR = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? (\d{4})\b")  # May 2023
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def earlier_date_problems(model: ModelRelease) -> list[str]:
    """Announcement, weights and paper dates in the notes are never before `released`, which is the first."""
    problems = []
    for year, month, day in ISO_DATE.findall(model.notes):
        if date(int(year), int(month), int(day)) < model.released:
            problems.append(f"{model.name}: notes date {year}-{month}-{day}, before {model.released}")
    for month, year in MONTH_YEAR.findall(model.notes):
        if (int(year), MONTHS.index(month) + 1) < (model.released.year, model.released.month):
            problems.append(f"{model.name}: notes mention {month} {year}, before {model.released}")
    return problems


def test_no_note_dates_the_release_earlier_than_released():
    dated = [model for model in TIMELINE.releases if ISO_DATE.search(model.notes)]
    assert len(dated) >= 8
    assert [problem for model in TIMELINE.releases for problem in earlier_date_problems(model)] == []


@pytest.mark.parametrize(
    ("name", "old_date"),
    [
        ("PaLM", date(2022, 4, 5)),  # the arXiv date; Google's blog came a day earlier
        ("Qwen2", date(2024, 6, 7)),  # the blog date; the README announced it a day earlier
        ("Phi-3", date(2024, 4, 23)),  # the blog date; the arXiv report came a day earlier
        ("OPT-175B", date(2022, 5, 3)),  # the blog date; the arXiv paper came a day earlier
        ("Mixtral 8x7B", date(2023, 12, 11)),  # the blog date; the weights came three days earlier
    ],
)
def test_date_rule_rejects_a_later_date_than_the_first_announcement(name, old_date):
    assert earlier_date_problems(before_the_fix(name, released=old_date))


@pytest.mark.parametrize(
    ("name", "released"),
    [
        ("GPT-NeoX-20B", date(2022, 2, 2)),  # announcement; weights 2022-02-09
        ("PaLM", date(2022, 4, 4)),
        ("OPT-175B", date(2022, 5, 2)),
        ("Mixtral 8x7B", date(2023, 12, 8)),
        ("Phi-3", date(2024, 4, 22)),
        ("Qwen2", date(2024, 6, 6)),
    ],
)
def test_release_dates_are_the_first_public_announcement(name, released):
    assert release(name).released == released


# --- facts pinned row by row ----------------------------------------------------------------------


def test_gemma_4_ships_base_and_instruct():
    assert release("Gemma 4").tuning == ("base", "instruct")
    assert release("Gemma 4") in TIMELINE.select(["Google"], LICENCE_CLASSES, ["base"])


@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("Qwen3", "the 235B-A22B flagship shipped without a base model"),
        ("NVIDIA Nemotron Nano 2", "also released a 12B base model"),
    ],
)
def test_notes_record_checkpoints_the_flagship_row_does_not_show(name, phrase):
    assert phrase in release(name).notes
