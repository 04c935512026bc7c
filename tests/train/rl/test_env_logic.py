"""The logic environment: scoring tables, reference solutions that solve, tool answers and
errors, deterministic and disjoint splits, and questions that really need the rules."""

import json

import jsonschema
import pytest

from bslm.models.tools import ToolCall
from bslm.train.rl.envs.base import Task, reference_act, run_episode
from bslm.train.rl.envs.logic import TOOLS, LogicEnv, closure, reference

WORLD = {
    "people": ["Anne", "Bob", "Erin"],
    "properties": ["big", "blue", "kind", "nice", "red", "round", "smart", "young"],
    "facts": {"Anne": ["big", "round"], "Bob": ["red"], "Erin": []},
    "rules": [
        [["big", "round"], "kind"],
        [["kind"], "nice"],
        [["nice"], "smart"],
        [["blue"], "smart"],
        [["red"], "young"],
    ],
    "entity": "Anne",
    "predicate": "smart",
    "truth": True,
}


def started(truth: bool = True, looked_up: bool = True) -> LogicEnv:
    """The world's episode, the question's rules looked up (as every derivation starts)."""
    env = LogicEnv()
    env.start(Task("logic", "logic-x", [], TOOLS, data={**WORLD, "truth": truth}))
    if looked_up:
        assert not env.call(ToolCall("rules", {"predicate": "smart"})).is_error
    return env


def test_an_answer_without_the_questions_rules_is_a_guess():
    """Half of the questions are yes: an answer that looked nothing up (or only elsewhere)
    scores nothing, however it falls."""
    assert started(True, looked_up=False).score("Yes, Anne is smart.") == 0.0
    env = started(False, looked_up=False)
    assert not env.call(ToolCall("facts", {"entity": "Anne"})).is_error
    assert not env.call(ToolCall("rules", {"predicate": "kind"})).is_error
    assert env.score("No, Anne is not smart.") == 0.0
    assert not env.call(ToolCall("rules", {"predicate": "Smart"})).is_error
    assert env.score("No, Anne is not smart.") == 1.0


@pytest.mark.parametrize(
    "answer,truth",
    [
        ("Yes, Anne is smart.", True),
        ("yes", True),
        ("YES.", True),
        ("Yes, and no rule says no.", True),
        ("No, Anne is not smart.", False),
        ("no", False),
        ("Not at all: no.", False),
        ("Anne is smart, so the answer is yes.", True),
    ],
)
def test_score_accepts(answer, truth):
    assert started(truth).score(answer) == 1.0


@pytest.mark.parametrize(
    "answer,truth",
    [
        ("", True),
        ("Anne is smart.", True),
        ("No, Anne is not smart.", True),
        ("Yes.", False),
        ("Nobody knows; yesterday it was", True),
        ("No... well, yes", True),
        ("I cannot tell", False),
    ],
)
def test_score_refuses(answer, truth):
    assert started(truth).score(answer) == 0.0


@pytest.mark.parametrize(
    "call,expected",
    [
        (ToolCall("facts", {"entity": "Anne"}), "Anne is big. Anne is round."),
        (ToolCall("facts", {"entity": "erin"}), "Nothing is stated about Erin."),
        (
            ToolCall("rules", {"predicate": "smart"}),
            "Everyone who is nice is smart.\nEveryone who is blue is smart.",
        ),
        (ToolCall("rules", {"predicate": "Kind"}), "Everyone who is big and round is kind."),
        (ToolCall("rules", {"predicate": "big"}), "No rule concludes big."),
        (ToolCall("check", {"entity": "Anne", "predicate": "big"}), "true: Anne is big"),
        (ToolCall("check", {"entity": "Anne", "predicate": "kind"}), "unknown: 'Anne is kind'"),
    ],
)
def test_tools(call, expected):
    result = started().call(call)
    assert not result.is_error and result.text().startswith(expected)


@pytest.mark.parametrize(
    "call,message",
    [
        (ToolCall("prove", {"entity": "Anne"}), "unknown tool"),
        (ToolCall("facts", {"entity": 3}), "invalid arguments"),
        (ToolCall("facts", {}), "invalid arguments"),
        (ToolCall("rules", {"predicate": "kind", "entity": "Anne"}), "invalid arguments"),
        (ToolCall("check", {"entity": "Anne"}), "invalid arguments"),
        (ToolCall("facts", {"entity": "Zed"}), "unknown person 'Zed' (people: Anne, Bob, Erin)"),
        (ToolCall("rules", {"predicate": "purple"}), "unknown property 'purple'"),
        (ToolCall("check", {"entity": "Bob", "predicate": ""}), "unknown property"),
    ],
)
def test_bad_calls_are_error_results(call, message):
    result = started().call(call)
    assert result.is_error and message in result.text()


def test_reference_chains_backwards():
    facts, rules = set(WORLD["facts"]["Anne"]), [tuple(r) for r in WORLD["rules"]]
    assert closure(facts, rules) == {"big", "round", "kind", "nice", "smart"}
    lookups = [[c["arguments"] for c in turn] for turn in reference("Anne", facts, rules, "smart")]
    assert lookups == [
        [{"entity": "Anne"}, {"predicate": "smart"}],
        [{"predicate": "blue"}, {"predicate": "nice"}],
        [{"predicate": "kind"}],
    ]
    # Bob is not smart: every rule that could lead there is looked up.
    lookups = reference("Bob", {"red"}, rules, "smart")
    assert [len(turn) for turn in lookups] == [2, 2, 1, 2]


@pytest.mark.parametrize("split", ["train", "test"])
def test_reference_solutions_solve(split):
    env = LogicEnv()
    tasks = env.tasks(split, 50)
    assert {t.data["truth"] for t in tasks} == {True, False}
    for task in tasks:
        assert task.id.startswith(f"logic-{split}-")
        assert 1 <= len(task.solution) <= 4 and len(task.solution) < env.max_turns
        data = task.data
        entity, goal = data["entity"], data["predicate"]
        assert goal not in data["facts"][entity]  # never a stated fact: rules are needed
        assert any(r[1] == goal for r in data["rules"])
        episode = run_episode(env, task, reference_act(task))
        assert episode.score == 1.0, task.id
        assert not any(e for turn in episode.errors for e in turn)
        flipped = "No, it is not." if data["truth"] else "Yes, it is."
        assert run_episode(env, task, reference_act(task, flipped)).score == 0.0


def test_chains_of_every_length():
    tasks = LogicEnv().tasks("train", 60)
    assert {len(t.solution) for t in tasks if t.data["truth"]} == {1, 2, 3}
    assert {len(t.solution) for t in tasks if not t.data["truth"]} == {2, 3, 4}


def test_tool_schemas_are_strict():
    for tool in TOOLS:
        schema = tool["function"]["parameters"]
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
        assert tool["function"]["description"]


def test_tasks_are_deterministic_and_splits_disjoint():
    env = LogicEnv()
    assert env.tasks("test", 20, seed=5) == LogicEnv().tasks("test", 20, seed=5)
    assert env.tasks("test", 20, seed=5) != env.tasks("test", 20, seed=6)
    key = lambda t: json.dumps({**t.data, "truth": None}, sort_keys=True)  # noqa: E731
    train = {key(t) for s in range(3) for t in env.tasks("train", 100, seed=s)}
    test = {key(t) for s in range(3) for t in env.tasks("test", 100, seed=s)}
    assert len(test) > 250 and not train & test
    with pytest.raises(ValueError, match="unknown split"):
        env.tasks("validation", 1)


def test_task_round_trips_through_json():
    task = LogicEnv().tasks("train", 1)[0]
    assert Task.from_json(task.to_json()) == task
