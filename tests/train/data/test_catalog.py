"""The tool catalog and the values its calls hold: size, schema coverage, sampling, results,
the held-out split, and the surfaces values take in user text."""

import json
import re
from datetime import date
from random import Random

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bslm.models.language import tool_items
from bslm.models.parser import parse_tool
from bslm.train.data.catalog import catalog, domains, split_tools
from bslm.train.data.value_types import VALUE_TYPES, sample
from bslm.train.data.values import number_words, parse_number_words, say_date, say_list, say_time

TODAY = date(2026, 3, 3)  # a Tuesday


@pytest.fixture(scope="module")
def tools():
    return catalog(0)


def walk(schema):
    """Every (sub)schema of a parameter schema."""
    yield schema
    for sub in (schema.get("properties") or {}).values():
        yield from walk(sub)
    if isinstance(schema.get("items"), dict):
        yield from walk(schema["items"])


def test_size_and_domains(tools):
    assert len(tools) >= 400
    assert len(domains(tools)) >= 25
    assert len({t.name for t in tools}) == len(tools)


def test_naming_styles(tools):
    names = [t.name for t in tools]
    assert any("." in n for n in names), "dotted namespaces"
    assert any("-" in n for n in names), "kebab-case"
    assert any(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)+", n) for n in names), "camelCase"
    assert any(re.fullmatch(r"[a-z]+(?:_[a-z]+)+", n) for n in names), "snake_case"


def test_every_parameter_kind_appears(tools):
    seen = set()
    for t in tools:
        params = t.spec.parameters
        required = set(params.get("required", []))
        for name, prop in params["properties"].items():
            if name not in required and "default" in prop:
                seen.add("optional with default")
            for s in walk(prop):
                kind = s.get("type")
                if "enum" in s:
                    kind = "enum"
                elif kind == "array":
                    kind = f"array of {s['items']['type']}"
                elif kind == "object" and s.get("properties"):
                    kind = "nested object"
                seen.add(kind)
    expected = {
        "string",
        "number",
        "integer",
        "boolean",
        "enum",
        "array of string",
        "array of integer",
        "array of object",
        "nested object",
        "optional with default",
    }
    assert expected <= seen


def test_schemas_are_described_json_schema(tools):
    for t in tools:
        assert t.spec.description and t.spec.description[0].isupper()
        jsonschema.Draft202012Validator.check_schema(t.spec.parameters)
        for prop in t.spec.parameters["properties"].values():
            for s in walk(prop):
                for sub in (s.get("properties") or {}).values():
                    assert sub.get("description"), f"{t.name}: a nested field without a description"
            assert prop.get("description"), f"{t.name}: a parameter without a description"


def test_tools_round_trip_through_the_tool_language(tools):
    for t in tools:
        back = parse_tool(tool_items(t.spec, full=False))
        assert (back.name, back.description, back.parameters) == (
            t.name,
            t.spec.description,
            t.spec.parameters,
        )


def test_sampled_arguments_validate_and_results_are_json(tools):
    rng = Random(0)
    for t in tools:
        validator = jsonschema.Draft202012Validator(t.spec.parameters)
        for _ in range(5):
            args = t.sample_args(rng, TODAY, optional=0.5)
            plain = {k: v.value for k, v in args.items()}
            validator.validate(plain)
            assert set(plain) >= set(t.spec.parameters.get("required", []))
            json.dumps(t.fake_result(rng, plain, TODAY))


def test_sampling_is_deterministic(tools):
    t = next(t for t in tools if t.name.endswith("search_flights"))

    def draw(seed):
        rng = Random(seed)
        args = t.sample_args(rng, TODAY, optional=0.5)
        return args, t.fake_result(rng, {k: v.value for k, v in args.items()}, TODAY)

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)


def test_update_sets_at_least_one_field(tools):
    rng = Random(0)
    for t in (t for t in tools if t.op == "update"):
        args = t.sample_args(rng, TODAY, optional=0.0)
        assert len(args) >= 2


def test_held_out_split(tools):
    train, held = split_tools(tools, 0.15, seed=0)
    assert {t.name for t in train}.isdisjoint(t.name for t in held)
    assert len(train) + len(held) == len(tools)
    assert 0.10 <= len(held) / len(tools) <= 0.20
    assert [t.name for t in split_tools(tools, 0.15, seed=0)[1]] == [t.name for t in held]
    assert [t.name for t in split_tools(tools, 0.15, seed=1)[1]] != [t.name for t in held]


# --- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n,words",
    [
        (0, "zero"),
        (7, "seven"),
        (25, "twenty-five"),
        (40, "forty"),
        (105, "one hundred five"),
        (1300, "one thousand three hundred"),
        (2026, "two thousand twenty-six"),
    ],
)
def test_number_words(n, words):
    assert number_words(n) == words
    assert parse_number_words(words) == n


@given(st.integers(0, 10**8))
def test_number_words_parse_back(n):
    assert parse_number_words(number_words(n)) == n


@pytest.mark.parametrize(
    "day,phrases",
    [
        (date(2026, 3, 3), {"today"}),
        (date(2026, 3, 4), {"tomorrow"}),
        (date(2026, 3, 5), {"the day after tomorrow"}),
        (date(2026, 3, 6), {"this Friday", "on Friday", "in 3 days", "in three days"}),
    ],
)
def test_relative_dates(day, phrases):
    said = {say_date(Random(i), day, TODAY) for i in range(60)}
    assert said & phrases
    assert all(s in phrases or "2026" in s or "March" in s or "Mar" in s for s in said)


def test_dates_without_a_reference_carry_the_year():
    for i in range(50):
        assert "2026" in say_date(Random(i), date(2026, 7, 9), None)


@pytest.mark.parametrize(
    "h,m,ok",
    [
        (15, 30, {"15:30", "3:30 pm", "3:30pm", "3:30 PM", "half past three in the afternoon"}),
        (
            12,
            0,
            {
                "12:00",
                "12:00 pm",
                "12:00pm",
                "12:00 PM",
                "12pm",
                "12 pm",
                "noon",
                "twelve o'clock in the afternoon",
            },
        ),
    ],
)
def test_times(h, m, ok):
    said = {say_time(Random(i), h, m) for i in range(80)}
    assert said <= ok and len(said) > 2


def test_lists_in_prose():
    forms = {say_list(Random(i), ["apples", "pears", "milk"]) for i in range(40)}
    assert "apples, pears and milk" in forms
    for f in forms:
        assert [w for w in re.split(r",? and |, |; | & ", f)] == ["apples", "pears", "milk"]


@pytest.mark.parametrize("kind", sorted(VALUE_TYPES))
def test_kinds_sample_valid_values(kind):
    schema = VALUE_TYPES[kind].schema
    validator = jsonschema.Draft202012Validator(schema)
    for i in range(20):
        v = sample(kind, Random(i), TODAY)
        validator.validate(v.value)
        assert v.text.strip()
        if schema.get("type") == "integer" and kind not in ("minutes", "seconds", "grams", "ml"):
            # the user says the same number, in digits or in words
            text = v.text.replace("a dozen", "twelve")
            assert (int(text) if text.isdigit() else parse_number_words(text)) == v.value


@pytest.mark.parametrize(
    "kind,value,text",
    [
        ("minutes", 90, "an hour and a half"),
        ("minutes", 120, "two hours"),
        ("seconds", 300, "five minutes"),
        ("meters", 2500, "2.5 km"),
        ("celsius", 25, "77°F"),
        ("language", "fr", "French"),
        ("currency", "JPY", "yen"),
    ],
)
def test_kinds_that_convert(kind, value, text):
    seen = {(v.value, v.text) for v in (sample(kind, Random(i), TODAY) for i in range(400))}
    assert (value, text) in seen
