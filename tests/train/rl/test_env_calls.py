"""The function-calling environment: generated conversations played as tasks."""

import pytest

from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall
from bslm.train.rl.envs import make_env, run_episode


@pytest.fixture(scope="module")
def env():
    return make_env("calls")


@pytest.fixture(scope="module")
def tasks(env):
    return {split: env.tasks(split, 30) for split in ("train", "test")}


def scripted(turns):
    """An act that plays ``turns`` (lists of calls, or a final text) in order."""
    it = iter(turns)

    def act(messages, tools):
        turn = next(it, "Done.")
        return ModelOutput(parts=[turn] if isinstance(turn, str) else list(turn), ended=True)

    return act


def reference(task):
    return [*task.solution_calls(), task.answer or "Done."]


def test_reference_plays_score_one_on_both_splits(env, tasks):
    kinds = set()
    for split_tasks in tasks.values():
        for task in split_tasks:
            ep = run_episode(env, task, scripted(reference(task)))
            assert ep.score == 1.0, task.id
            assert not any(any(e) for e in ep.errors)
            kinds.add(task.data["kind"])
    assert kinds == {"single", "parallel", "chain", "irrelevant"}


def test_splits_use_disjoint_tools_and_are_deterministic(env, tasks):
    names = {s: {t["function"]["name"] for task in tasks[s] for t in task.tools} for s in tasks}
    assert not names["train"] & names["test"]
    assert [t.id for t in env.tasks("test", 5)] == [t.id for t in tasks["test"][:5]]
    assert env.tasks("train", 3, seed=1)[0].id != tasks["train"][0].id


def _task(tasks, kind):
    return next(t for t in tasks["train"] if t.data["kind"] == kind)


@pytest.mark.parametrize(
    "play, score",
    [
        (lambda t: [], 0.0),  # answered without the needed call
        (lambda t: reference(t), 1.0),
        (lambda t: [t.solution_calls()[0] * 2, t.answer], 0.5),  # the call twice: one extra
        (lambda t: [t.solution_calls()[0]], 1.0),  # the calls, then the default answer
    ],
)
def test_single_call_scores(env, tasks, play, score):
    task = _task(tasks, "single")
    assert run_episode(env, task, scripted(play(task))).score == pytest.approx(score)


def test_wrong_arguments_get_an_error_result_and_no_credit(env, tasks):
    task = _task(tasks, "single")
    gold = task.solution_calls()[0][0]
    spec = next(t["function"] for t in task.tools if t["function"]["name"] == gold.name)
    key = next(k for k, v in gold.arguments.items() if isinstance(v, str))
    wrong = ToolCall(gold.name, dict(gold.arguments, **{key: "something else entirely"}))
    ep = run_episode(env, task, scripted([[wrong], "Done."]))
    assert ep.errors[0] == [True] and ep.score == 0.0
    assert spec["parameters"]["type"] == "object"
    unknown = run_episode(env, task, scripted([[ToolCall("no_such_tool", {})], "Done."]))
    assert unknown.errors[0] == [True] and "unknown tool" in unknown.messages[-2]["content"]


def test_irrelevant_requests_are_solved_by_not_calling(env, tasks):
    task = _task(tasks, "irrelevant")
    assert run_episode(env, task, scripted(["No tool can do that."])).score == 1.0
    some = task.tools[0]["function"]["name"]
    assert run_episode(env, task, scripted([[ToolCall(some, {})], "Done."])).score == 0.0


def test_chains_need_every_step(env, tasks):
    task = _task(tasks, "chain")
    first_only = [task.solution_calls()[0], task.answer]
    ep = run_episode(env, task, scripted(first_only))
    total = sum(len(t) for t in task.solution)
    assert ep.score == pytest.approx(len(task.solution[0]) / total) and ep.score < 1.0
