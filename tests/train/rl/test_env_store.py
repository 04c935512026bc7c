"""The record-store environment: reference plays score 1, doing nothing or too much scores
less, bad calls come back as error results, tasks are deterministic and the splits disjoint."""

import json
import random

import pytest

from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall
from bslm.train.rl.envs.base import Task, reference_act, run_episode
from bslm.train.rl.envs.store import TEMPLATES, TOOLS, StoreEnv, make_task


def silent(messages, tools):
    return ModelOutput(parts=["Done."], ended=True)


@pytest.fixture(scope="module")
def sample() -> list[Task]:
    env = StoreEnv()
    return env.tasks("train", 40) + env.tasks("test", 40)


def test_reference_plays_score_one(sample):
    env = StoreEnv()
    for task in sample:
        episode = run_episode(env, task, reference_act(task))
        assert episode.score == 1.0, task.messages[1]
        assert episode.answered and not any(any(e) for e in episode.errors)
        assert 1 <= sum(len(turn) for turn in task.solution) <= 4


def test_every_template_is_drawn_and_changes_something(sample):
    assert len(TEMPLATES) >= 6
    assert {t.data["template"] for t in sample} == set(TEMPLATES)
    for task in sample:
        assert task.data["records"] != task.data["target"]


def test_doing_nothing_scores_zero(sample):
    env = StoreEnv()
    for task in sample[:10]:
        assert run_episode(env, task, silent).score == 0.0


def test_unintended_change_costs(sample):
    env = StoreEnv()
    task = next(t for t in sample if t.data["template"] == "cheapest")
    env.start(task)
    for call in (c for turn in task.solution_calls() for c in turn):
        env.call(call)
    assert env.score("") == 1.0
    untouched = next(i for i in env.records if env.records[i]["kind"] == "contact")
    change = {"id": untouched, "field": "city", "value": "Rome"}
    assert not env.call(ToolCall("update_field", change)).is_error
    assert env.score("") == 0.5
    item = {"name": "x", "price": 1, "stock": 1}
    env.call(ToolCall("add_record", {"kind": "item", "fields": item}))
    assert env.score("") == pytest.approx(1 / 3)


def test_new_records_match_by_content_whatever_their_id():
    env = StoreEnv()
    task = make_task(random.Random(3), "add_contact")
    fields = task.solution[0][0]["arguments"]["fields"]
    wrong = {**fields, "city": "Nowhere"}
    env.start(task)
    env.call(ToolCall("add_record", {"kind": "contact", "fields": wrong}))
    assert env.score("") == 0.0  # not the record asked for, and one nobody asked for
    first = next(iter(set(env.records) - set(task.data["records"])))
    env.call(ToolCall("add_record", {"kind": "contact", "fields": fields}))
    env.call(ToolCall("delete_record", {"id": first}))
    assert env.score("") == 1.0  # the right record, on a later id than the target's


def test_partial_credit():
    env = StoreEnv()
    tasks = (make_task(random.Random(i), "reassign") for i in range(50))
    task = next(t for t in tasks if len(t.solution[1]) >= 2)
    env.start(task)
    env.call(task.solution_calls()[1][0])
    assert 0.0 < env.score("") < 1.0


@pytest.mark.parametrize(
    "name,arguments,ok",
    [
        ("list_records", {}, True),
        ("list_records", {"kind": "item"}, True),
        ("list_records", {"kind": "car"}, False),
        ("get_record", {"id": "c1"}, True),
        ("get_record", {"id": "c99"}, False),
        ("get_record", {"id": 1}, False),
        ("get_record", {}, False),
        ("search", {"field": "kind", "value": "item"}, False),
        ("search", {"field": "price", "value": 3}, True),
        ("search", {"field": "name", "value": "nobody"}, True),  # an empty search is no error
        ("search", {"field": "colour", "value": "red"}, False),
        ("search", {"field": "name", "value": ["a"]}, False),
        ("update_field", {"id": "i1", "field": "price", "value": 7.5}, True),
        ("update_field", {"id": "i1", "field": "price", "value": "cheap"}, False),
        ("update_field", {"id": "i1", "field": "stock", "value": 2.5}, False),
        ("update_field", {"id": "i1", "field": "email", "value": "a@b"}, False),
        ("update_field", {"id": "i1", "field": "kind", "value": "task"}, False),
        ("update_field", {"id": "t1", "field": "status", "value": "finished"}, False),
        ("update_field", {"id": "t1", "field": "status", "value": "done"}, True),
        ("update_field", {"id": "x9", "field": "name", "value": "a"}, False),
        ("update_field", {"id": "i1", "field": "price"}, False),
        (
            "add_record",
            {"kind": "contact", "fields": {"name": "Zed", "email": "z@x", "city": "Rome"}},
            True,
        ),
        ("add_record", {"kind": "contact", "fields": {"name": "Zed"}}, False),
        (
            "add_record",
            {
                "kind": "contact",
                "fields": {"name": "Zed", "email": "z@x", "city": "Rome", "age": 3},
            },
            False,
        ),
        ("add_record", {"kind": "item", "fields": {"name": "x", "price": "1", "stock": 1}}, False),
        ("delete_record", {"id": "t1"}, True),
        ("delete_record", {"id": "t99"}, False),
        ("delete_record", {"id": "t1", "force": True}, False),
        ("drop_table", {}, False),
    ],
)
def test_calls_accept_refuse(sample, name, arguments, ok):
    env = StoreEnv()
    env.start(sample[0])
    before = json.dumps(env.records, sort_keys=True)
    result = env.call(ToolCall(name, arguments))
    assert result.is_error is not ok, result.text()
    assert result.text()
    if not ok:
        assert json.dumps(env.records, sort_keys=True) == before  # a refused call changes nothing


def test_search_ignores_case_and_finds_ids(sample):
    env = StoreEnv()
    env.start(sample[0])
    name = env.records["c1"]["name"]
    hits = json.loads(env.call(ToolCall("search", {"field": "name", "value": name.upper()})).text())
    assert [h["id"] for h in hits] == ["c1"]


def test_tasks_are_deterministic_and_splits_disjoint():
    env = StoreEnv()
    a, b = env.tasks("train", 30, seed=1), env.tasks("train", 30, seed=1)
    assert [t.to_json() for t in a] == [t.to_json() for t in b]
    assert [t.id for t in env.tasks("train", 30, seed=2)] != [t.id for t in a]
    train = {t.id for s in (0, 1) for t in env.tasks("train", 100, seed=s)}
    test = {t.id for s in (0, 1) for t in env.tasks("test", 100, seed=s)}
    assert len(train) >= 150 and len(test) >= 150 and not train & test

    def contents(tasks):
        return {json.dumps([t.messages, t.data["records"]]) for t in tasks}

    assert not contents(env.tasks("train", 100)) & contents(env.tasks("test", 100))


def test_task_json_round_trip_and_schemas(sample):
    task = sample[0]
    assert Task.from_json(task.to_json()) == task
    for tool in TOOLS:
        params = tool["function"]["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert tool["function"]["description"]
        for prop in params["properties"].values():
            assert prop["description"]
    with pytest.raises(ValueError, match="unknown split"):
        StoreEnv().tasks("dev", 1)
