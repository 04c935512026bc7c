"""GRPO rewards: accept/refuse tables for every reward (1.0, partial, 0.0 and None), value
comparison, the registry and the doctests."""

import doctest

import pytest

import bslm.train.rl.rewards as rewards
from bslm.models.parser import ModelOutput, ParseError
from bslm.models.tools import ToolCall
from bslm.train.rl.rewards import (
    REWARDS,
    argument_reward,
    exact_argument_reward,
    first,
    format_reward,
    irrelevance_reward,
    outcome_reward,
    rule_reward,
    same_value,
    schema_reward,
    step_reward,
    step_scores,
    tool_name_reward,
    turns,
    weighted,
)

BAD = ModelOutput(parts=[], error=ParseError(0, "bad"), ended=False)


def out(*parts, ended=True) -> ModelOutput:
    return ModelOutput(parts=list(parts), ended=ended)


def call(name, **arguments) -> ToolCall:
    return ToolCall(name, arguments)


def ref(name, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def tool(name, properties, **extra) -> dict:
    params = {"type": "object", "properties": properties, **extra}
    return {"type": "function", "function": {"name": name, "description": "", "parameters": params}}


WEATHER = tool(
    "get_weather", {"city": {"type": "string"}, "unit": {"type": "string"}}, required=["city"]
)
TAGS = tool(
    "tag",
    {
        "ids": {"type": "array", "items": {"type": "integer"}},
        "labels": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "filter": {
            "type": "object",
            "properties": {"kinds": {"type": "array", "uniqueItems": True}},
        },
    },
)
TOOLS = [WEATHER, TAGS, tool("now", {})]


def test_turns_and_first():
    a, b = out("a"), out("b")
    assert turns(a) == [a] and turns([a, b]) == [a, b]
    assert first([a, b]) is a and first(a) is a
    assert first([]).calls == []


@pytest.mark.parametrize(
    "completion,expected",
    [
        (out("Sunny."), 1.0),
        (out(call("get_weather", city="Paris")), 1.0),
        ([out(call("now")), out("It is noon.")], 1.0),
        (out("Sunny", ended=False), 0.0),
        (BAD, 0.0),
        ([out(call("now")), BAD], 0.0),
        ([out(call("now")), out("cut", ended=False)], 0.0),
        ([], 0.0),
    ],
)
def test_format_reward(completion, expected):
    assert format_reward([completion]) == [expected]


@pytest.mark.parametrize(
    "parts,calls,expected",
    [
        ([call("get_weather", city="Paris")], [ref("get_weather", city="Lyon")], 1.0),
        (["No tool fits."], [], 1.0),
        ([call("a"), call("b")], [ref("b"), ref("a")], 1.0),
        ([call("a"), call("a")], [ref("a"), ref("a")], 1.0),
        ([call("a"), call("b")], [ref("a")], 2 / 3),
        ([call("a")], [ref("a"), ref("a")], 2 / 3),
        ([call("a"), call("b")], [ref("a"), ref("c")], 0.5),
        ([call("b")], [ref("a")], 0.0),
        (["text"], [ref("a")], 0.0),
        ([call("a")], [], 0.0),
    ],
)
def test_tool_name_reward(parts, calls, expected):
    assert tool_name_reward([out(*parts)], calls=[calls]) == [pytest.approx(expected)]


def test_tool_name_reward_scores_first_turn_of_an_episode():
    episode = [out(call("a")), out(call("b")), out("done")]
    assert tool_name_reward([episode], calls=[[ref("a")]]) == [1.0]


@pytest.mark.parametrize(
    "a,b,schema,same",
    [
        (3, 3.0, None, True),
        (3, 3.0000001, None, True),
        (0, 1e-10, None, True),
        (3, 3.1, None, False),
        (1e6, 1e6 + 10, None, False),
        (True, 1, None, False),
        (True, True, None, True),
        (None, None, None, True),
        (None, "", None, False),
        ("3", 3, None, False),
        ("New York", " new  york.", None, True),
        ("ＮＥＷ YORK", "new york", None, True),  # NFKC: fullwidth letters
        ("Straße", "STRASSE", None, True),  # casefold
        ("New York", "New Jersey", None, False),
        ([1, 2], [1, 2.0], None, True),
        ([1, 2], [2, 1], None, False),
        ([1, 2], [2, 1], {"type": "array", "uniqueItems": True}, True),
        ([1, 1, 2], [1, 2, 2], {"uniqueItems": True}, False),
        ([1, 2], [1, 2, 3], {"uniqueItems": True}, False),
        (["Paris", "rome"], ["ROME ", "paris."], {"uniqueItems": True}, True),
        ({"a": 1, "b": "X"}, {"b": "x", "a": 1.0}, None, True),
        ({"a": 1}, {"a": 1, "b": 2}, None, False),
        ({"k": [1, 2]}, {"k": [2, 1]}, None, False),
        ({"k": [1, 2]}, {"k": [2, 1]}, {"properties": {"k": {"uniqueItems": True}}}, True),
        ([[1, 2]], [[2, 1]], {"items": {"uniqueItems": True}}, True),
    ],
)
def test_same_value(a, b, schema, same):
    assert same_value(a, b, schema) is same
    assert same_value(b, a, schema) is same


@pytest.mark.parametrize(
    "parts,calls,expected",
    [
        ([call("get_weather", city="Paris")], [ref("get_weather", city="Paris")], 1.0),
        ([call("get_weather", city=" paris.")], [ref("get_weather", city="Paris")], 1.0),
        ([call("tag", ids=[3.0])], [ref("tag", ids=[3])], 1.0),
        ([call("tag", ids=[3.1])], [ref("tag", ids=[3])], 0.0),
        ([call("tag", ids=[1, 2])], [ref("tag", ids=[2, 1])], 0.0),
        ([call("tag", labels=["a", "b"])], [ref("tag", labels=["B", "a"])], 1.0),
        ([call("tag", filter={"kinds": [1, 2]})], [ref("tag", filter={"kinds": [2, 1]})], 1.0),
        ([call("now")], [ref("now")], 1.0),
        # parallel calls, any order
        (
            [call("get_weather", city="Rome"), call("get_weather", city="Paris")],
            [ref("get_weather", city="Paris"), ref("get_weather", city="Rome")],
            1.0,
        ),
        (
            [call("now"), call("get_weather", city="Paris")],
            [ref("get_weather", city="Paris"), ref("now")],
            1.0,
        ),
        # an extra argument lowers the score
        ([call("get_weather", city="Paris", unit="C")], [ref("get_weather", city="Paris")], 0.5),
        (
            [call("get_weather", city="Paris")],
            [ref("get_weather", city="Paris", unit="C")],
            0.5,
        ),
        # an extra call, a missing call
        ([call("get_weather", city="Paris"), call("now")], [ref("get_weather", city="Paris")], 0.5),
        (
            [call("get_weather", city="Paris")],
            [ref("get_weather", city="Paris"), ref("get_weather", city="Rome")],
            0.5,
        ),
        ([call("get_weather", city="Lyon")], [ref("get_weather", city="Paris")], 0.0),
        ([call("now")], [ref("get_weather", city="Paris")], 0.0),
        (["Sunny."], [ref("get_weather", city="Paris")], 0.0),
        ([call("get_weather", city="Paris")], [], None),
        (["Sunny."], [], None),
    ],
)
def test_argument_reward(parts, calls, expected):
    got = argument_reward([out(*parts)], calls=[calls], tools=[TOOLS])
    assert got == [expected if expected is None else pytest.approx(expected)]


def test_argument_reward_without_tools_keeps_lists_ordered():
    pred, gold = [out(call("tag", labels=["a", "b"]))], [[ref("tag", labels=["b", "a"])]]
    assert argument_reward(pred, calls=gold) == [0.0]
    assert argument_reward(pred, calls=gold, tools=[TOOLS]) == [1.0]


def test_argument_reward_pairs_best_first():
    # The first prediction matches the second reference better than the first one.
    pred = out(call("get_weather", city="Rome", unit="C"), call("get_weather", city="Paris"))
    gold = [ref("get_weather", city="Paris", unit="C"), ref("get_weather", city="Rome", unit="C")]
    assert argument_reward([pred], calls=[gold], tools=[TOOLS]) == [pytest.approx(3 / 4)]


@pytest.mark.parametrize(
    "parts,calls,expected",
    [
        ([call("get_weather", city="Paris")], [ref("get_weather", city="Paris")], 1.0),
        ([call("get_weather", city="paris")], [ref("get_weather", city="Paris")], 0.0),
        ([call("tag", ids=[3.0])], [ref("tag", ids=[3])], 0.0),
        ([call("tag", filter={"b": 1, "a": 2})], [ref("tag", filter={"a": 2, "b": 1})], 1.0),
        ([call("tag", labels=["a", "b"])], [ref("tag", labels=["b", "a"])], 0.0),
        (
            [call("get_weather", city="Rome"), call("get_weather", city="Paris")],
            [ref("get_weather", city="Paris"), ref("get_weather", city="Rome")],
            1.0,
        ),
        ([call("get_weather", city="Paris", unit="C")], [ref("get_weather", city="Paris")], 0.5),
        (["Sunny."], [], None),
    ],
)
def test_exact_argument_reward(parts, calls, expected):
    got = exact_argument_reward([out(*parts)], calls=[calls], tools=[TOOLS])
    assert got == [expected if expected is None else pytest.approx(expected)]


@pytest.mark.parametrize(
    "completion,expected",
    [
        (out(call("get_weather", city="Paris")), 1.0),
        (out(call("get_weather", city="Paris", unit="C"), call("now")), 1.0),
        ([out(call("now")), out(call("tag", ids=[1]))], 1.0),
        (out(call("get_weather", city="Paris"), call("search", q="x")), 0.5),  # unknown tool
        (out(call("get_weather", city="Paris", country="FR")), 0.0),  # unknown argument
        (out(call("get_weather", unit="C")), 0.0),  # required missing
        (out(call("get_weather", city=3)), 0.0),  # wrong type
        ([out(call("now")), out(call("tag", ids="1"))], 0.5),
        (out("Sunny."), None),
        ([out("Hi."), out("Bye.")], None),
    ],
)
def test_schema_reward(completion, expected):
    assert schema_reward([completion], tools=[TOOLS]) == [expected]


def test_schema_reward_no_tools_offered():
    assert schema_reward([out(call("now"))], tools=[[]]) == [0.0]
    assert schema_reward([out(call("now"))], tools=None) == [0.0]


@pytest.mark.parametrize(
    "completion,calls,expected",
    [
        (out("I cannot check the weather."), [], 1.0),
        ([out("No."), out(call("now"))], [], 1.0),  # only the first turn counts
        (out(call("now")), [], 0.0),
        (out("Thinking", call("now")), [], 0.0),
        (out(call("now")), [ref("now")], None),
        (out("Sunny."), [ref("now")], None),
    ],
)
def test_irrelevance_reward(completion, calls, expected):
    assert irrelevance_reward([completion], calls=[calls]) == [expected]


MAX3 = {"kind": "max_words", "params": {"n": 3}}
NO_NOW = {"kind": "must_not_use", "params": {"tool": "now"}}
USE_WEATHER = {"kind": "must_use", "params": {"tool": "get_weather"}}


@pytest.mark.parametrize(
    "completion,rules,expected",
    [
        (out("Sunny in Paris."), [MAX3], 1.0),
        (out("It is sunny in Paris today."), [MAX3], 0.0),
        (out(""), [MAX3], 0.0),
        (out("It is sunny in Paris today."), [MAX3, NO_NOW], 0.5),
        ([out(call("get_weather", city="Paris")), out("Sunny.")], [MAX3, USE_WEATHER], 1.0),
        ([out(call("now")), out("Noon.")], [MAX3, NO_NOW], 0.5),  # calls of earlier turns count
        ([out("A long first answer here."), out("Short.")], [MAX3], 1.0),  # final text only
        (out("Sunny in Paris."), [], None),
        (out("Sunny in Paris."), None, None),
    ],
)
def test_rule_reward(completion, rules, expected):
    assert rule_reward([completion], rules=[rules]) == [expected]


def test_rule_reward_without_column_and_bad_rule():
    assert rule_reward([out("Hi.")]) == [None]
    with pytest.raises(ValueError, match="unknown rule kind"):
        rule_reward([out("Hi.")], rules=[[{"kind": "shout"}]])


WEATHER_PARIS = call("get_weather", city="Paris")


@pytest.mark.parametrize(
    "episode,errors,expected",
    [
        ([out(WEATHER_PARIS), out("Sunny.")], None, [1.0, 1.0]),
        ([out(WEATHER_PARIS), out("Sunny.")], [[False], []], [1.0, 1.0]),
        ([out(WEATHER_PARIS), out(WEATHER_PARIS), out("Sunny.")], None, [1.0, 0.5, 1.0]),
        (  # the same tool with other arguments is no repeat
            [out(WEATHER_PARIS), out(call("get_weather", city="Rome")), out("Sunny.")],
            None,
            [1.0, 1.0, 1.0],
        ),
        ([out(WEATHER_PARIS), out("Sorry.")], [[True], []], [0.5, 1.0]),
        ([out(WEATHER_PARIS, call("now")), out("Ok.")], [[False, True], []], [0.5, 1.0]),
        ([out(WEATHER_PARIS), BAD], None, [1.0, 0.0]),
        ([out(WEATHER_PARIS), out("Sunny", ended=False)], None, [1.0, 0.5]),
        ([BAD], [[True]], [0.0]),
        ([out("Sunny.")], None, [1.0]),
        ([], None, []),
    ],
)
def test_step_scores(episode, errors, expected):
    assert step_scores(episode, errors) == expected


@pytest.mark.parametrize(
    "completion,errors,expected",
    [
        ([out(WEATHER_PARIS), out("Sunny.")], None, 1.0),
        ([out(WEATHER_PARIS), out(WEATHER_PARIS), out("Sunny."), out("Sunny.")], None, 0.875),
        ([out(WEATHER_PARIS), out("Sorry.")], [[True], []], 0.75),
        ([BAD], None, 0.0),
        (out("Sunny."), None, 1.0),
        ([], None, 0.0),
    ],
)
def test_step_reward(completion, errors, expected):
    assert step_reward([completion], errors=[errors]) == [expected]


def test_step_reward_without_errors_column():
    assert step_reward([[out(WEATHER_PARIS), out("Sunny.")]]) == [1.0]


def test_outcome_reward():
    assert outcome_reward([out("a"), out("b"), out("c")], score=[0, 0.5, None]) == [0.0, 0.5, None]


def test_rewards_take_extra_columns_and_batches():
    batch = [out(WEATHER_PARIS), out("I can't."), BAD]
    columns = dict(
        calls=[[ref("get_weather", city="Paris")], [], [ref("now")]],
        tools=[TOOLS] * 3,
        rules=[[MAX3], [], None],
        errors=[[[False]], [[]], None],
        score=[1.0, 0.0, 0.0],
        prompts=["p"] * 3,
        trainer_state=None,
    )
    results = {name: f(batch, **columns) for name, f in REWARDS.items()}
    assert all(len(r) == 3 for r in results.values())
    assert results["format"] == [1.0, 1.0, 0.0]
    assert results["arguments"] == [1.0, None, 0.0]
    assert results["irrelevance"] == [None, 1.0, None]
    assert results["schema"] == [1.0, None, None]
    assert results["rules"] == [0.0, None, None]  # a call-only turn has no text


def test_registry_names():
    assert set(REWARDS) == {
        "format",
        "tool_name",
        "arguments",
        "exact_arguments",
        "schema",
        "irrelevance",
        "rules",
        "steps",
        "outcome",
    }


def test_weighted():
    funcs, weights = weighted({"format": 0.2, "tool_name": 1, "steps": 0.5})
    assert funcs == [format_reward, tool_name_reward, step_reward]
    assert weights == [0.2, 1.0, 0.5]
    assert weighted({}) == ([], [])


def test_weighted_names_the_unknown_reward():
    with pytest.raises(ValueError, match="'argument'"):
        weighted({"format": 1.0, "argument": 1.0})


def test_doctests():
    result = doctest.testmod(rewards)
    assert result.attempted > 10
    assert result.failed == 0
