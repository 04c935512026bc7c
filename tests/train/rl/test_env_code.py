"""The code-repair environment: every catalog bug fails a fixed test and its fix passes them all,
reference plays score 1, the line DSL refuses bad calls with error results, an endless loop
times out as a failed run, tasks are deterministic and the splits disjoint. Few subprocesses."""

import ast
import time

import pytest

from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall
from bslm.train.rl.envs.base import Task, reference_act, run_episode
from bslm.train.rl.envs.code import CATALOG, TOOLS, CodeEnv, bug_split, inject, reference, run_tests


@pytest.fixture(scope="module")
def sample() -> list[Task]:
    env = CodeEnv()
    return env.tasks("train", 6) + env.tasks("test", 6)


def passes_fixed_cases(fn, source: str) -> bool:
    """Whether ``source`` agrees with ``fn``'s reference on every fixed case (in-process: only
    for catalog code, which always ends)."""
    namespace: dict = {}
    exec(source, namespace)
    ref = reference(fn)
    for case in fn.cases:
        args = ast.literal_eval(f"({case},)")
        try:
            if namespace[fn.name](*args) != ref(*args):
                return False
        except Exception:
            return False
    return True


def test_catalog_bugs_fail_a_fixed_case():
    """Over the whole catalog: the fixed cases catch every bug, so every task's buggy version
    fails at least one test."""
    kinds = {bug[0] for fn in CATALOG for bug in fn.bugs}
    assert len(CATALOG) >= 8 and len(kinds) >= 6
    for fn in CATALOG:
        assert 5 <= len(fn.source.splitlines()) <= 15, fn.name
        assert passes_fixed_cases(fn, fn.source)
        for bug in fn.bugs:
            assert not passes_fixed_cases(fn, inject(fn, bug)), (fn.name, bug)


def test_both_splits_have_bugs_of_several_kinds():
    for split in ("train", "test"):
        bugs = [(fn.name, b[0]) for fn in CATALOG for b in fn.bugs if bug_split(fn, b) == split]
        assert len(bugs) >= 10 and len({kind for _, kind in bugs}) >= 5


def test_reference_plays_score_one_and_buggy_code_less(sample):
    env = CodeEnv()
    for task in sample:
        env.start(task)
        assert env.score("") < 1.0, task.data  # the buggy file fails a test
        episode = run_episode(env, task, reference_act(task))
        assert episode.score == 1.0, task.data
        assert episode.answered and not any(any(e) for e in episode.errors)
        assert "pass" in episode.messages[-2]["content"]


def test_doing_nothing_scores_below_one(sample):
    env = CodeEnv()
    episode = run_episode(env, sample[0], lambda m, t: ModelOutput(parts=["Fixed."], ended=True))
    assert episode.score < 1.0


def test_endless_loop_times_out_as_a_failed_run(sample):
    env = CodeEnv(timeout=1.0)
    env.start(sample[0])
    env.call(ToolCall("insert_line", {"line": 3, "text": "    while True: pass"}))
    start = time.monotonic()
    result = env.call(ToolCall("run_tests", {}))
    assert time.monotonic() - start < 5
    assert not result.is_error and "timed out" in result.text()
    assert env.score("") == 0.0


ALWAYS_EQUAL = "class A:\n    def __eq__(self, other):\n        return True\n"


@pytest.mark.parametrize(
    "source,test,expect",
    [
        ("def f(x):\n    return x", "assert f(1) == 1", "PASS"),
        ("def f(x):\n    return 1.0", "assert f(1) == 1", "PASS"),  # numbers compare as such
        ("def f(x):\n    print('noise' * 1000)\n    return x", "assert f(1) == 1", "PASS"),
        ("def f(x):\n    return [x, 2]", "assert f(1) == [1, 2]", "PASS"),
        ("def f(x):\n    return x + 1", "assert f(1) == 1", "got 2"),
        ("def f(x):\n    return True", "assert f(1) == 1", "got True (type bool, expected int)"),
        ("def f(x):\n    return (1, 2)", "assert f(1) == [1, 2]", "got (1, 2)"),
        ("def f(x):\n    raise KeyError(x)", "assert f(1) == 1", "KeyError: 1"),
        ("def f(:\n    pass", "assert f(1) == 1", "the code does not run: SyntaxError"),
        ("import sys\nsys.exit(3)", "assert f(1) == 1", "the code does not run: SystemExit"),
        ("def g(x):\n    return x", "assert f(1) == 1", "NameError"),
        (ALWAYS_EQUAL + "def f(x):\n    return A()", "assert f(1) == 1", "got <"),
        (ALWAYS_EQUAL + "def f(x):\n    return [A(), A()]", "assert f(1) == [1, 2]", "got ["),
    ],
)
def test_run_tests_reports(source, test, expect):
    """One subprocess per row: what a test run says about a few kinds of code."""
    [(passed, note)] = run_tests(source, [test])
    assert passed is (expect == "PASS")
    assert expect in (note or "PASS")


@pytest.mark.parametrize(
    "name,arguments,ok",
    [
        ("view", {}, True),
        ("view", {"start": 2, "end": 3}, True),
        ("view", {"start": 2, "end": 99}, True),  # the end is clipped
        ("view", {"start": 99}, False),
        ("view", {"start": 0}, False),
        ("view", {"start": "one"}, False),
        ("view", {"start": 3, "end": 2}, False),
        ("replace_line", {"line": 1, "text": "def f():"}, True),
        ("replace_line", {"line": 99, "text": "x = 1"}, False),
        ("replace_line", {"line": 1.5, "text": "x = 1"}, False),
        ("replace_line", {"line": 1, "text": 3}, False),
        ("replace_line", {"line": 1, "text": "a = 1\nb = 2"}, False),
        ("replace_line", {"line": 1}, False),
        ("insert_line", {"line": 1, "text": "import math"}, True),
        ("insert_line", {"line": 99, "text": "x = 1"}, False),
        ("delete_line", {"line": 2}, True),
        ("delete_line", {"line": -1}, False),
        ("delete_line", {"line": 2, "text": "x"}, False),
        ("run_tests", {"verbose": True}, False),
        ("rm_rf", {}, False),
    ],
)
def test_calls_accept_refuse(sample, name, arguments, ok):
    env = CodeEnv()
    env.start(sample[0])
    before = list(env.lines)
    result = env.call(ToolCall(name, arguments))
    assert result.is_error is not ok, result.text()
    assert result.text()
    if not ok:
        assert env.lines == before


def test_line_edits(sample):
    env = CodeEnv()
    env.start(sample[0])
    n = len(env.lines)
    env.call(ToolCall("insert_line", {"line": n + 1, "text": "# end"}))  # one past the end appends
    assert env.lines[-1] == "# end" and len(env.lines) == n + 1
    env.call(ToolCall("delete_line", {"line": n + 1}))
    env.call(ToolCall("replace_line", {"line": 2, "text": "    pass  # kept as given"}))
    assert env.lines[1] == "    pass  # kept as given" and len(env.lines) == n
    shown = env.call(ToolCall("view", {"start": 2, "end": 2})).text()
    assert shown == "  2|     pass  # kept as given"


def test_tasks_are_deterministic_and_splits_disjoint():
    env = CodeEnv()
    a, b = env.tasks("train", 40, seed=1), env.tasks("train", 40, seed=1)
    assert [t.to_json() for t in a] == [t.to_json() for t in b]
    assert len({t.id for t in a}) == 40

    def bug(task):
        return task.data["function"], task.data["line"], task.data["source"]

    train = {bug(t) for s in (0, 1) for t in env.tasks("train", 100, seed=s)}
    test = {bug(t) for s in (0, 1) for t in env.tasks("test", 100, seed=s)}
    assert train and test and not train & test  # not even the same bug with other tests


def test_task_shape(sample):
    task = sample[0]
    assert Task.from_json(task.to_json()) == task
    assert task.messages[0]["role"] == "system" and task.messages[1]["role"] == "user"
    assert all(t in task.messages[1]["content"] for t in task.data["tests"])
    assert task.data["source"] not in task.messages[1]["content"]  # the model must view it
    names = [c["name"] for turn in task.solution for c in turn]
    assert names == ["view", "replace_line", "run_tests"]
    for tool in TOOLS:
        params = tool["function"]["parameters"]
        assert params["type"] == "object" and params["additionalProperties"] is False
        assert all(p["description"] for p in params["properties"].values())
    with pytest.raises(ValueError, match="unknown split"):
        CodeEnv().tasks("validation", 1)
