"""The Model timeline page under AppTest: it renders with every filter combination."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.timeline.data import LICENCE_CLASSES, TUNINGS, load_timeline
from lib.timeline.text import NO_MATCH
from lib.ui.timeline_filters import LICENCE_CLASSES_KEY, ORGANISATIONS_KEY, TUNINGS_KEY

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "1_Model_Timeline.py")
TIMELINE = load_timeline()


def subsets(options):
    return [list(combo) for size in range(len(options) + 1) for combo in itertools.combinations(options, size)]


@pytest.fixture(scope="module")
def app() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def chart_specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def show(app: AppTest, organisations, licence_classes, tunings) -> AppTest:
    app.multiselect(key=ORGANISATIONS_KEY).set_value(list(organisations))
    app.pills(key=LICENCE_CLASSES_KEY).set_value(list(licence_classes))
    app.pills(key=TUNINGS_KEY).set_value(list(tunings))
    return app.run()


def assert_page_matches_filters(app: AppTest, organisations, licence_classes, tunings) -> None:
    assert not app.exception, app.exception
    expected = TIMELINE.select(organisations, licence_classes, tunings)
    specs = chart_specs(app)
    messages = [info.value for info in app.info]
    if not expected:
        assert not specs
        assert NO_MATCH in messages
        return
    assert len(specs) == 1 and NO_MATCH not in messages
    traces = specs[0]["data"]
    assert sum(len(trace["x"]) for trace in traces) == len(expected)
    assert {trace["name"] for trace in traces} <= {"Closed", "Open-weight", "Open-source"}
    assert f"{len(expected)} of {len(TIMELINE.releases)} releases shown." in [c.value for c in app.caption]


def test_page_renders_everything_by_default(app):
    assert not app.exception
    (spec,) = chart_specs(app)
    assert [trace["name"] for trace in spec["data"]] == ["Closed", "Open-weight", "Open-source"]
    assert spec["layout"]["yaxis"]["type"] == "log"
    assert len(spec["layout"]["annotations"]) == len(TIMELINE.milestones)
    assert [h.value for h in app.header] == [
        "From GPT-2 to today", "Closed, open-weight, open-source", "Discover open models",
    ]  # fmt: skip
    assert len(app.table) == 1  # the licence comparison
    assert len(app.dataframe) == 2  # the dataset and the open models with their Hugging Face pages


def test_filters_start_with_every_option_selected(app):
    assert app.multiselect(key=ORGANISATIONS_KEY).value == TIMELINE.organisations
    assert app.pills(key=LICENCE_CLASSES_KEY).value == list(LICENCE_CLASSES)
    assert app.pills(key=TUNINGS_KEY).value == list(TUNINGS)


@pytest.mark.parametrize(
    ("licence_classes", "tunings"), list(itertools.product(subsets(LICENCE_CLASSES), subsets(TUNINGS)))
)
def test_every_licence_class_and_variant_combination(app, licence_classes, tunings):
    show(app, TIMELINE.organisations, licence_classes, tunings)
    assert_page_matches_filters(app, TIMELINE.organisations, licence_classes, tunings)


@pytest.mark.parametrize("organisation", TIMELINE.organisations)
def test_each_organisation_alone(app, organisation):
    show(app, [organisation], LICENCE_CLASSES, TUNINGS)
    assert_page_matches_filters(app, [organisation], LICENCE_CLASSES, TUNINGS)


def test_no_organisation_shows_a_friendly_message(app):
    show(app, [], LICENCE_CLASSES, TUNINGS)
    assert_page_matches_filters(app, [], LICENCE_CLASSES, TUNINGS)


def test_every_filter_empty_shows_a_friendly_message(app):
    show(app, [], [], [])
    assert_page_matches_filters(app, [], [], [])
