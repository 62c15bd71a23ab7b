"""The model-history dataset (data/models.yaml), its schema, its queries, the chart and the tables."""

from __future__ import annotations

import copy
import math
from datetime import date, timedelta

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lib.timeline.data import (
    DATASET_PATH,
    LICENCE_CLASSES,
    TUNINGS,
    UNDISCLOSED,
    ModelTimeline,
    format_billions,
    load_timeline,
)
from lib.timeline.chart import UNDISCLOSED_Y, timeline_figure
from lib.timeline.tables import licence_comparison_frame, open_models_frame, releases_frame

TIMELINE = load_timeline()
RAW = yaml.safe_load(DATASET_PATH.read_text(encoding="utf-8"))
OPEN_WITHOUT_HUGGING_FACE = {"LLaMA (Llama 1)"}  # weights were only ever given out on request


def release(name: str):
    return TIMELINE.release(name)


def validate_changed(change) -> ModelTimeline:
    """Validate a copy of the real dataset after `change(raw)` mutates it."""
    raw = copy.deepcopy(RAW)
    change(raw)
    return ModelTimeline.model_validate(raw)


# --- the dataset ------------------------------------------------------------------------------


def test_dataset_has_at_least_forty_releases():
    assert len(TIMELINE.releases) >= 40


def test_every_licence_class_and_tuning_is_represented():
    assert {r.licence_class for r in TIMELINE.releases} == set(LICENCE_CLASSES)
    assert {t for r in TIMELINE.releases for t in r.tuning} == set(TUNINGS)


@pytest.mark.parametrize(
    "name",
    [
        "GPT-2", "GPT-3", "InstructGPT", "ChatGPT (GPT-3.5)", "LLaMA (Llama 1)", "Llama 2", "GPT-5",
        "GPT-5.2", "Claude Sonnet 4.5", "Gemini 2.5 Pro", "Gemma", "Qwen2.5", "gpt-oss-120b", "OLMo",
        "NVIDIA Nemotron Nano 2",
    ],
)  # fmt: skip
def test_every_model_the_lecture_names_is_in_the_dataset(name):
    assert release(name)


@pytest.mark.parametrize(
    ("name", "year_month", "parameters_b"),
    [
        ("GPT-2", (2019, 2), 1.5),
        ("GPT-3", (2020, 5), 175),
        ("ChatGPT (GPT-3.5)", (2022, 11), UNDISCLOSED),
        ("LLaMA (Llama 1)", (2023, 2), 65),
        ("Llama 2", (2023, 7), 70),
    ],
)
def test_lecture_figures_match(name, year_month, parameters_b):
    model = release(name)
    assert (model.released.year, model.released.month) == year_month
    assert model.parameters_b == parameters_b


@pytest.mark.parametrize(
    ("names", "licence_class"),
    [
        (["GPT-5", "Claude Sonnet 4.5", "Gemini 2.5 Pro", "ChatGPT (GPT-3.5)"], "closed"),
        (["Llama 2", "Gemma", "Qwen2.5", "gpt-oss-120b"], "open-weight"),
        (["OLMo", "Olmo 3", "NVIDIA Nemotron Nano 2"], "open-source"),
    ],
)
def test_lecture_examples_have_the_lectures_licence_class(names, licence_class):
    assert {release(name).licence_class for name in names} == {licence_class}


def test_llama_2_ships_base_and_chat():
    assert release("Llama 2").tuning == ("base", "instruct")


def test_names_are_unique_and_rows_are_not_repeated():
    names = [r.name for r in TIMELINE.releases]
    assert len(names) == len(set(names))
    keys = [(r.organisation, r.released, r.parameters_b, r.licence) for r in TIMELINE.releases]
    assert len(keys) == len(set(keys))


def test_rows_are_in_chronological_order_in_the_file():
    dates = [r.released for r in TIMELINE.releases]
    assert dates == sorted(dates)


def test_every_row_has_an_https_source():
    assert all(r.source.scheme == "https" and r.source.host for r in TIMELINE.releases)


def test_open_models_link_hugging_face_and_closed_ones_do_not():
    for model in TIMELINE.releases:
        if model.licence_class == "closed":
            assert model.hugging_face is None, model.name
        elif model.name not in OPEN_WITHOUT_HUGGING_FACE:
            assert model.hugging_face is not None and model.hugging_face.host == "huggingface.co", model.name


def test_sizes_and_context_windows_are_plausible():
    for model in TIMELINE.releases:
        assert 512 <= model.context_window <= 10_000_000, model.name
        if model.parameters_b != UNDISCLOSED:
            assert 0.1 <= model.parameters_b <= 2000, model.name


def test_milestones_point_at_releases_near_their_dates():
    assert len(TIMELINE.milestones) == 5
    for milestone in TIMELINE.milestones:
        assert abs(milestone.date - release(milestone.model).released) <= timedelta(days=60)


# --- the schema rejects bad rows --------------------------------------------------------------


def _set(field, value, row=0):
    return lambda raw: raw["releases"][row].__setitem__(field, value)


def _drop(field, row=0):
    return lambda raw: raw["releases"][row].pop(field)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_set("licence_class", "open"), id="unknown licence class"),
        pytest.param(_set("released", "Feb 2019"), id="unparseable date"),
        pytest.param(_set("released", date.today() + timedelta(days=1)), id="future date"),
        pytest.param(_set("released", date(2017, 6, 12)), id="before GPT-2"),
        pytest.param(_drop("source"), id="missing source"),
        pytest.param(_set("source", "not a url"), id="bad source"),
        pytest.param(_set("parameters_b", -1), id="negative size"),
        pytest.param(_set("parameters_b", "big"), id="size neither number nor undisclosed"),
        pytest.param(_set("parameters_b", UNDISCLOSED), id="open model of undisclosed size"),
        pytest.param(_set("context_window", 0), id="zero context"),
        pytest.param(_set("tuning", []), id="no variants"),
        pytest.param(_set("tuning", ["base", "base"]), id="variant twice"),
        pytest.param(_set("tuning", ["chat"]), id="unknown variant"),
        pytest.param(_set("hugging_face", "https://github.com/openai/gpt-2"), id="not hugging face"),
        pytest.param(_set("hugging_face", "https://huggingface.co/x/y", row=1), id="closed model on HF"),
        pytest.param(_set("active_parameters_b", 2), id="more active than total"),
        pytest.param(_set("colour", "red"), id="unknown column"),
        pytest.param(lambda raw: raw["releases"].append(raw["releases"][0]), id="duplicate release"),
        pytest.param(lambda raw: raw["milestones"][0].__setitem__("model", "GPT-1"), id="milestone unknown"),
    ],
)
def test_schema_rejects(change):
    with pytest.raises(ValidationError):
        validate_changed(change)


def test_schema_accepts_the_real_dataset_unchanged():
    assert validate_changed(lambda raw: None) == TIMELINE


# --- queries ----------------------------------------------------------------------------------


def test_select_everything_returns_every_release_oldest_first():
    chosen = TIMELINE.select(TIMELINE.organisations, LICENCE_CLASSES, TUNINGS)
    assert len(chosen) == len(TIMELINE.releases)
    assert [r.released for r in chosen] == sorted(r.released for r in chosen)


@pytest.mark.parametrize("empty", ["organisations", "licence_classes", "tunings"])
def test_select_with_an_empty_filter_returns_nothing(empty):
    filters = {"organisations": TIMELINE.organisations, "licence_classes": LICENCE_CLASSES, "tunings": TUNINGS}
    filters[empty] = []
    assert TIMELINE.select(**filters) == []


def test_a_release_with_base_and_instruct_matches_either():
    only_base = TIMELINE.select(["Meta"], LICENCE_CLASSES, ["base"])
    only_instruct = TIMELINE.select(["Meta"], LICENCE_CLASSES, ["instruct"])
    assert release("Llama 2") in only_base and release("Llama 2") in only_instruct
    assert release("Llama 3.3") in only_instruct and release("Llama 3.3") not in only_base


@given(
    organisations=st.sets(st.sampled_from(TIMELINE.organisations)),
    licence_classes=st.sets(st.sampled_from(LICENCE_CLASSES)),
    tunings=st.sets(st.sampled_from(TUNINGS)),
)
def test_select_returns_exactly_the_matching_releases(organisations, licence_classes, tunings):
    chosen = TIMELINE.select(organisations, licence_classes, tunings)
    expected = {
        r.name
        for r in TIMELINE.releases
        if r.organisation in organisations and r.licence_class in licence_classes and set(r.tuning) & tunings
    }
    assert {r.name for r in chosen} == expected


def test_milestones_follow_the_filter():
    openai_only = TIMELINE.select(["OpenAI"], LICENCE_CLASSES, TUNINGS)
    assert [m.model for m in TIMELINE.milestones_for(openai_only)] == [
        "GPT-2", "GPT-3", "InstructGPT", "ChatGPT (GPT-3.5)",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("billions", "label"), [(0.27, "270M"), (1.5, "1.5B"), (7.3, "7.3B"), (175, "175B"), (1000, "1T")]
)
def test_format_billions(billions, label):
    assert format_billions(billions) == label


def test_size_label_shows_active_parameters_for_mixtures_of_experts():
    assert release("DeepSeek-R1").size_label == "671B (37B active)"
    assert release("GPT-5").size_label == UNDISCLOSED


# --- the chart --------------------------------------------------------------------------------


def test_chart_has_one_legend_entry_per_licence_class():
    figure = timeline_figure(TIMELINE.releases, TIMELINE.milestones)
    assert [trace.name for trace in figure.data] == ["Closed", "Open-weight", "Open-source"]
    assert sum(len(trace.x) for trace in figure.data) == len(TIMELINE.releases)


def test_chart_y_axis_is_log_scale_with_an_undisclosed_band():
    figure = timeline_figure(TIMELINE.releases, TIMELINE.milestones)
    assert figure.layout.yaxis.type == "log"
    assert "undisclosed" in figure.layout.yaxis.ticktext
    closed = next(trace for trace in figure.data if trace.name == "Closed")
    gpt5 = [row[0] for row in closed.customdata].index("GPT-5")
    assert closed.y[gpt5] == UNDISCLOSED_Y


def test_chart_annotates_the_lectures_milestones_at_their_markers():
    figure = timeline_figure(TIMELINE.releases, TIMELINE.milestones)
    annotations = {a.text: a for a in figure.layout.annotations}
    assert len(annotations) == len(TIMELINE.milestones)
    gpt3_api = annotations["GPT-3<br>opens as an API"]
    assert gpt3_api.x == "2020-06-11"
    assert math.isclose(gpt3_api.y, math.log10(175))  # log axes take log10 coordinates


def test_chart_hover_carries_details_and_source():
    figure = timeline_figure([release("Llama 2")])
    (row,) = figure.data[0].customdata
    assert "Llama 2" in row and "Llama 2 Community License" in row and "base + instruct" in row
    assert "https://arxiv.org/abs/2307.09288" in row


def test_filtered_chart_only_shows_classes_present():
    figure = timeline_figure(TIMELINE.select(["Ai2"], LICENCE_CLASSES, TUNINGS), TIMELINE.milestones)
    assert [trace.name for trace in figure.data] == ["Open-source"]
    assert not figure.layout.annotations


# --- the tables -------------------------------------------------------------------------------


def test_licence_comparison_has_three_classes_and_dataset_examples():
    frame = licence_comparison_frame(TIMELINE)
    assert list(frame.columns) == ["Closed", "Open-weight", "Open-source"]
    for question in ["Download the weights", "See the training data", "Reproduce it from scratch"]:
        assert question in frame.index
    assert frame.loc["See the training data"].tolist() == ["✗ no", "✗ no", "✓ yes"]
    examples = frame.loc["Examples in this dataset"]
    assert all(examples) and "Olmo 3" in examples["Open-source"]


def test_open_models_frame_lists_every_open_release_with_its_hugging_face_page():
    frame = open_models_frame(TIMELINE)
    assert len(frame) == sum(r.is_open for r in TIMELINE.releases)
    linked = frame.dropna(subset=["Hugging Face"])
    assert set(frame["Model"]) - set(linked["Model"]) == OPEN_WITHOUT_HUGGING_FACE
    assert linked["Hugging Face"].str.startswith("https://huggingface.co/").all()


def test_releases_frame_has_a_row_and_a_source_per_release():
    frame = releases_frame(TIMELINE.releases)
    assert len(frame) == len(TIMELINE.releases)
    assert frame["Source"].str.startswith("https://").all()
    assert releases_frame([]).empty
