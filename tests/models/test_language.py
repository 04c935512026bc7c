"""The tool language: serializer and parser, round-trips and accept/refuse tables."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bslm.models.language import (
    Name,
    Num,
    Sym,
    Text,
    call_items,
    format_number,
    parse_number,
    result_items,
    schema_items,
    tool_items,
    value_items,
)
from bslm.models.parser import (
    LanguageError,
    Thought,
    parse_call,
    parse_output,
    parse_result,
    parse_schema,
    parse_tool,
    parse_value,
)
from bslm.models.tools import ToolCall, ToolResult, ToolSpec

from ..strategies import calls_args, json_values, parameters, schemas, text, tool_descriptions

S = Sym


def same_json(a, b) -> bool:
    """Equal as JSON: same types (1 is not 1.0 and not True), same structure."""
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and (a == b or (math.isnan(a) and math.isnan(b)))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    return a == b


@given(json_values)
def test_value_round_trip(v):
    assert same_json(parse_value(value_items(v)), v)


@given(schemas())
def test_schema_round_trip(s):
    assert same_json(parse_schema(schema_items(s)), s)


@given(st.text(min_size=1, max_size=20), tool_descriptions, parameters)
def test_tool_round_trip(name, desc, params):
    spec = ToolSpec(name, desc, params)
    back = parse_tool(tool_items(spec))
    assert (back.name, back.description) == (name, desc)
    assert same_json(back.parameters, params)


@given(st.text(min_size=1, max_size=20), calls_args)
def test_call_round_trip(name, args):
    back = parse_call(call_items(ToolCall(name, args)))
    assert back.name == name and same_json(back.arguments, args)


@given(
    st.lists(
        st.fixed_dictionaries({"type": st.just("text"), "text": text})
        | st.fixed_dictionaries(
            {"type": st.just("image"), "data": text, "mime_type": st.just("image/png")}
        ),
        max_size=3,
    ),
    st.none() | st.dictionaries(text, json_values, max_size=3),
    st.booleans(),
)
def test_result_round_trip(content, structured, is_error):
    res = ToolResult(content, structured, is_error, "get_weather")
    back = parse_result(result_items(res))
    assert back.content == content and same_json(back.structured, structured)
    assert back.is_error == is_error and back.name == "get_weather"


def test_schema_is_compact_and_readable():
    spec = ToolSpec(
        "get_weather",
        "Get the weather",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
            },
            "required": ["city"],
        },
    )
    assert tool_items(spec) == [
        S("tool"),
        Name("get_weather"),
        Text("Get the weather"),
        S("req_string"),
        Name("city"),
        Text("City name"),
        S("opt_string"),
        Name("unit"),
        S("enum"),
        S("s"),
        Text("c"),
        S("s"),
        Text("f"),
        S("default"),
        S("s"),
        Text("c"),
    ]


def test_prompt_form_drops_noise_keywords_only():
    params = {
        "type": "object",
        "title": "Args",
        "additionalProperties": False,
        "properties": {"n": {"type": "integer", "title": "N", "minimum": 1}},
    }
    prompt = tool_items(ToolSpec("f", None, params), full=False)
    assert parse_tool(prompt).parameters == {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1}},
    }


@pytest.mark.parametrize(
    "v,text",
    [(0, "0"), (-12, "-12"), (1.0, "1.0"), (1e-05, "1e-05"), (1e16, "1e+16"), (-0.5, "-0.5")],
)
def test_number_spelling(v, text):
    assert format_number(v) == text
    assert same_json(parse_number(text), v)


@pytest.mark.parametrize(
    "bad", ["", "-", "1e", "1.", ".5", "+1", "1..2", "--1", "1e+", "abc", "1e999"]
)
def test_number_refused(bad):
    with pytest.raises(ValueError):
        parse_number(bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), {1: 2}])
def test_non_json_values_refused(bad):
    with pytest.raises(ValueError):
        value_items(bad)


CALL_ACCEPT = [
    ([S("call"), Name("f"), S("end")], ToolCall("f", {})),
    (
        [S("call"), Name("f"), S("arg"), Name("x"), S("n"), Num("3"), S("end")],
        ToolCall("f", {"x": 3}),
    ),
    ([S("call"), Name("f"), S("arg"), Name("x"), S("s"), S("end")], ToolCall("f", {"x": ""})),
    (
        [
            S("call"),
            Name("f"),
            S("arg"),
            Name("a"),
            S("arr"),
            S("true"),
            S("null"),
            S("end"),
            S("end"),
        ],
        ToolCall("f", {"a": [True, None]}),
    ),
]
CALL_REFUSE = [
    ([S("call"), S("end")], 1),  # no name
    ([S("call"), Name("f")], 2),  # not closed
    ([S("call"), Name("f"), S("arg"), Name("x"), S("end")], 4),  # no value
    (
        [
            S("call"),
            Name("f"),
            S("arg"),
            Name("x"),
            S("n"),
            Num("1"),
            S("arg"),
            Name("x"),
            S("n"),
            Num("2"),
            S("end"),
        ],
        7,
    ),
    ([S("call"), Name("f"), S("arg"), Name("x"), S("n"), Num("1.2.3"), S("end")], 5),
    ([S("call"), Name("f"), Text("hi"), S("end")], 2),
    ([S("call"), Name("f"), S("arg"), Name("x"), S("obj"), Name("k"), S("end"), S("end")], 6),
]


@pytest.mark.parametrize("items,call", CALL_ACCEPT)
def test_call_accepted(items, call):
    assert parse_call(items) == call


@pytest.mark.parametrize("items,position", CALL_REFUSE)
def test_call_refused_with_position(items, position):
    with pytest.raises(LanguageError) as e:
        parse_call(items)
    assert e.value.position == position


def test_output_with_thought_text_and_calls():
    items = [
        S("think"),
        Text("need weather"),
        S("end"),
        S("call"),
        Name("get_weather"),
        S("arg"),
        Name("city"),
        S("s"),
        Text("Paris"),
        S("end"),
        S("call"),
        Name("get_time"),
        S("end"),
        Text("Checking."),
        S("eot"),
    ]
    out = parse_output(items)
    assert out.error is None and out.ended
    assert out.thinking == "need weather" and out.text == "Checking."
    assert [c.name for c in out.calls] == ["get_weather", "get_time"]
    assert out.calls[0].arguments == {"city": "Paris"}
    assert isinstance(out.parts[0], Thought)


def test_output_keeps_calls_before_the_break():
    items = call_items(ToolCall("a", {"x": 1})) + [S("call"), Name("b"), S("arg"), S("tool")]
    out = parse_output(items)
    assert [c.name for c in out.calls] == ["a"]
    assert out.error is not None and out.error.position == len(items) - 1
    assert "⟨tool⟩" in out.error.message


def test_output_truncated_says_so():
    out = parse_output([S("call"), Name("f"), S("arg"), Name("x")])
    assert out.error.position == 4 and "ended early" in out.error.message
    assert not out.ended


def test_output_tells_a_broken_call_from_text_cut_short():
    broken = parse_output(call_items(ToolCall("a", {"x": 1})) + [S("call"), Name("b"), S("tool")])
    assert broken.error is not None and broken.broken_call
    assert [c.name for c in broken.calls] == ["a"]
    cut = parse_output([Text("It is sunny and")])  # the budget ran out before ⟨eot⟩
    assert cut.error is None and not cut.ended and not cut.broken_call
    whole = parse_output(call_items(ToolCall("a", {"x": 1})) + [S("eot")])
    assert whole.error is None and not whole.broken_call


item_strategy = st.one_of(
    st.sampled_from(
        ["call", "arg", "end", "s", "n", "obj", "arr", "eot", "think", "tool", "true"]
    ).map(Sym),
    st.text(max_size=5).map(Name),
    st.text("0123456789.-+e", max_size=5).map(Num),
    text.map(Text),
)


@given(st.lists(item_strategy, max_size=30))
def test_parse_output_never_raises(items):
    out = parse_output(items)
    assert out.error is None or 0 <= out.error.position <= len(items)
