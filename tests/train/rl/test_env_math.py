"""The math environment: scoring tables, reference solutions that solve, tool errors as
results, deterministic and disjoint splits, a calculator that refuses code."""

import pytest

from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall
from bslm.train.rl.envs.base import Task, reference_act, run_episode
from bslm.train.rl.envs.math import TEMPLATES, MathEnv, last_number


def started(result: int = 42) -> MathEnv:
    env = MathEnv()
    env.start(MathEnv().tasks("test", 1)[0])
    env.result = result
    return env


@pytest.mark.parametrize(
    "answer",
    [
        "The answer is 42.",
        "42",
        "42.0",
        "So the total is $42.00",
        "Step 1: 6 * 7 = 42",
        "The answer is 42 dollars.",
        "It is 10, no wait, 42",
    ],
)
def test_score_accepts(answer):
    assert started().score(answer) == 1.0


@pytest.mark.parametrize(
    "answer",
    ["", "The answer is 41.", "42.5", "42 is wrong, it is 43", "forty-two", "-42", "4,200"],
)
def test_score_refuses(answer):
    assert started().score(answer) == 0.0


@pytest.mark.parametrize(
    "text,value",
    [("1,234", 1234), ("$1,234.50 total", 1234.5), ("2 and 3.", 3), ("x", None), ("-7", -7)],
)
def test_last_number(text, value):
    assert last_number(text) == value


@pytest.mark.parametrize("split", ["train", "test"])
def test_reference_solutions_solve(split):
    env = MathEnv()
    tasks = env.tasks(split, 50)
    assert {t.data["template"] for t in tasks} == set(TEMPLATES)  # every story shows up
    for task in tasks:
        assert task.id.startswith(f"math-{split}-")
        assert 2 <= len(task.solution) <= 4
        episode = run_episode(env, task, reference_act(task))
        assert episode.score == 1.0, task.id
        assert episode.answered and len(episode.outputs) == len(task.solution) + 1
        assert not any(e for turn in episode.errors for e in turn)
        results = [m for m in episode.messages if m.get("role") == "tool"]
        assert len(results) == len(task.solution)


def test_wrong_answer_scores_zero():
    env = MathEnv()
    task = env.tasks("test", 1)[0]
    wrong = f"The answer is {task.data['result'] + 1}."
    assert run_episode(env, task, reference_act(task, wrong)).score == 0.0
    assert run_episode(env, task, lambda m, t: ModelOutput(parts=[], ended=True)).score == 0.0


def test_at_least_eight_templates():
    assert len(TEMPLATES) >= 8


@pytest.mark.parametrize(
    "call,message",
    [
        (ToolCall("solve", {"expression": "1 + 1"}), "unknown tool"),
        (ToolCall("calculate", {"expression": 12}), "invalid arguments"),
        (ToolCall("calculate", {}), "invalid arguments"),
        (ToolCall("calculate", {"expression": "1", "x": 1}), "invalid arguments"),
        (ToolCall("calculate", {"expression": "2 +"}), "not an arithmetic expression"),
        (ToolCall("calculate", {"expression": "1 / 0"}), "division by zero"),
        (ToolCall("calculate", {"expression": "__import__('os').system('id')"}), "unsupported"),
        (ToolCall("calculate", {"expression": "().__class__"}), "unsupported"),
        (ToolCall("calculate", {"expression": "9 ** 9 ** 9"}), "too large"),
        (ToolCall("calculate", {"expression": "-" * 5000 + "1"}), "longer than"),
    ],
)
def test_bad_calls_are_error_results(call, message):
    result = started().call(call)
    assert result.is_error and message in result.text()
    assert result.name == call.name


@pytest.mark.parametrize(
    "expression,value",
    [("3 * 4 + 1", "13"), ("45 / 3", "15"), ("7 / 2", "3.5"), ("-" * 199 + "1", "-1")],
)
def test_calculate(expression, value):
    result = started().call(ToolCall("calculate", {"expression": expression}))
    assert not result.is_error and result.text() == value


def test_tasks_are_deterministic_and_splits_disjoint():
    env = MathEnv()
    assert env.tasks("train", 30, seed=3) == MathEnv().tasks("train", 30, seed=3)
    assert env.tasks("train", 30, seed=3) != env.tasks("train", 30, seed=4)
    question = lambda t: t.messages[-1]["content"]  # noqa: E731
    train = {question(t) for s in range(3) for t in env.tasks("train", 200, seed=s)}
    test = {question(t) for s in range(3) for t in env.tasks("test", 200, seed=s)}
    assert len(test) > 500 and not train & test
    with pytest.raises(ValueError, match="unknown split"):
        env.tasks("dev", 1)


def test_task_round_trips_through_json():
    task = MathEnv().tasks("train", 1)[0]
    assert Task.from_json(task.to_json()) == task
