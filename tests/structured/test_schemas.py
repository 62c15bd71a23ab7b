"""Schemas: the lecture's Location, the nested trip, the builder's rows, pasted JSON Schema."""

import json

import pytest

from lib.structured.builder import LOCATION_ROWS, build_schema
from lib.structured.schemas import LOCATION, TRIP, SchemaError, from_json_text

PARIS = '{"name":"Paris","country":"France","latitude":48.8566,"longitude":2.3522}'


def test_location_is_strict_and_judges_replies():
    schema = LOCATION.json_schema
    assert schema["required"] == ["name", "country", "latitude", "longitude"]
    assert schema["additionalProperties"] is False
    assert LOCATION.check(PARIS).schema_valid
    assert LOCATION.check(PARIS).parsed["latitude"] == 48.8566
    fenced = LOCATION.check(f"```json\n{PARIS}\n```")
    assert not fenced.valid_json and fenced.errors[0].startswith("Not JSON")
    wrong_shape = LOCATION.check('{"location": "Paris"}')
    assert wrong_shape.valid_json and not wrong_shape.schema_valid
    assert any(e.startswith("name:") for e in wrong_shape.errors)


def test_trip_nests_lists_of_objects_and_enforces_its_enum():
    good = {"destination": "Paris", "days": [{"day": 1, "activities": [
        {"time": "09:00", "description": "Louvre", "category": "museum"}]}]}
    assert TRIP.check(json.dumps(good)).schema_valid
    good["days"][0]["activities"][0]["category"] = "shopping"
    check = TRIP.check(json.dumps(good))
    assert not check.schema_valid
    assert check.errors[0].startswith("days.0.activities.0.category")
    assert TRIP.json_schema["$defs"]["Activity"]["properties"]["category"]["enum"][0] == "sight"


def test_the_builder_starts_as_the_lectures_location():
    built = build_schema(LOCATION_ROWS, "Location")
    assert built.json_schema == LOCATION.json_schema
    assert built.check(PARIS).schema_valid


def test_the_builder_nests_objects_lists_enums_descriptions_and_nullable_fields():
    rows = [
        {"name": "city", "type": "string", "description": "Where"},
        {"name": "tags", "type": "enum", "list": True, "enum_values": "old, new"},
        {"name": "stops", "type": "object", "list": True},
        {"name": "street", "type": "string", "parent": "stops", "required": False},
        {"name": "minutes", "type": "integer", "parent": "stops"},
        {"name": "", "type": None},  # the blank row a table editor leaves
    ]
    built = build_schema(rows, "Walk")
    schema = built.json_schema
    assert schema["properties"]["city"]["description"] == "Where"
    assert schema["properties"]["tags"]["items"]["enum"] == ["old", "new"]
    stop = schema["$defs"]["Stops"]
    assert stop["required"] == ["street", "minutes"]  # strict: every field listed …
    assert {"type": "null"} in stop["properties"]["street"]["anyOf"]  # … optional = nullable
    ok = {"city": "Paris", "tags": ["old"], "stops": [{"street": None, "minutes": 5}]}
    assert built.check(json.dumps(ok)).schema_valid
    ok["stops"][0]["minutes"] = "five"
    assert not built.check(json.dumps(ok)).schema_valid
    ok["stops"][0]["minutes"] = 5
    ok["tags"] = ["blue"]
    assert not built.check(json.dumps(ok)).schema_valid
    assert built.model.__name__ == "Walk"


@pytest.mark.parametrize("rows, says", [
    ([], "has no fields"),
    ([{"name": "1st", "type": "string"}], "must start with a letter"),
    ([{"name": "a", "type": "date"}], "unknown type"),
    ([{"name": "a", "type": "enum"}], "needs its allowed values"),
    ([{"name": "a", "type": "enum", "enum_values": "x,x"}], "listed twice"),
    ([{"name": "a", "type": "string"}, {"name": "a", "type": "number"}], "Two fields are called"),
    ([{"name": "a", "type": "string", "parent": "nowhere"}], "not a field of type object"),
    ([{"name": "box", "type": "object"}], "box has no fields"),
    ([{"name": "a", "type": "object", "parent": "b"}, {"name": "b", "type": "object", "parent": "a"},
      {"name": "top", "type": "string"}], "never reach the top level"),
])
def test_the_builder_says_what_is_wrong(rows, says):
    with pytest.raises(SchemaError, match=says):
        build_schema(rows, "Answer")


def test_a_pasted_schema_is_checked_and_then_judges_replies():
    pasted = from_json_text(json.dumps({
        "title": "Weather report", "type": "object",
        "properties": {"sky": {"type": "string", "enum": ["sunny", "rain"]}},
        "required": ["sky"], "additionalProperties": False}))
    assert pasted.name == "Weather_report" and pasted.model is None
    assert pasted.check('{"sky": "rain"}').schema_valid
    check = pasted.check('{"sky": "hail"}')
    assert check.valid_json and not check.schema_valid and "sky" in check.errors[0]


@pytest.mark.parametrize("text, says", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "is a JSON object"),
    ('{"type": "objekt"}', "Not a valid JSON Schema"),
    ('{"type": "string"}', "needs an object at the top"),
])
def test_a_bad_pasted_schema_says_why(text, says):
    with pytest.raises(SchemaError, match=says):
        from_json_text(text)


@pytest.mark.parametrize("schema", [LOCATION, TRIP, build_schema(LOCATION_ROWS, "Built")],
                         ids=["location", "trip", "builder"])
def test_the_schema_shown_is_the_one_parse_sends(schema, fault_server):
    """strict_json_schema uses the SDK's private helper behind parse(): if a new openai
    release changes what parse() sends, the page would show a schema that is not sent."""
    import openai

    client = openai.OpenAI(base_url=fault_server.base_url, api_key="sk-test", max_retries=0)
    try:
        client.chat.completions.parse(model="json", response_format=schema.model,
                                      messages=[{"role": "user", "content": "Paris?"}])
    except Exception:
        pass  # the loopback answers a Location: other schemas fail to parse, after sending
    sent = fault_server.requests[-1].body["response_format"]["json_schema"]
    assert sent["schema"] == schema.json_schema
    assert sent["name"] == schema.name and sent["strict"] is True
