"""Function-calling tasks from the curriculum generator, played as an environment.

Each task is a stage-3 conversation of the data generator (one call, parallel calls, a chain
where a later call needs an earlier result, or a request no tool fits). The tools answer the
way the generated conversation recorded: a call that matches a reference call (same tool, same
arguments, compared as ``rewards.same_value`` does) gets the recorded result, any other valid
call gets an error result saying nothing matched. The score is the share of reference calls
made, less for extra calls; a request no tool fits is solved by answering without a call.

``train`` tasks come from the training tools and phrasings; ``test`` tasks from the held-out
tools (``test_unseen``), so no test task's tools appear in training.
"""

from __future__ import annotations

from functools import cache

from bslm.models.chat import tool_message_result
from bslm.models.tools import ToolCall, ToolResult
from bslm.train.rl.envs.base import Environment, Task, check_split, error
from bslm.train.rl.rewards import same_value

KINDS = ("single", "parallel", "chain", "irrelevant")
_SPLIT = {"train": "train", "test": "test_unseen"}


@cache
def _sources(seed: int):
    from bslm.train.data.phrasings import Phrasebook
    from bslm.train.data.synthesis import DataConfig, pools

    cfg = DataConfig(seed=seed)
    by_split = pools(cfg)
    books = {
        "train": Phrasebook(False, cfg.typo_rate),
        "test_unseen": Phrasebook(False, cfg.typo_rate),
    }
    return cfg, by_split, books


def task_from_record(record: dict, task_id: str) -> Task:
    """A task from a generated conversation: the messages up to its last user turn, and the
    model turns after it as the reference play (calls, recorded results, final answer)."""
    messages = record["messages"]
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    solution, results, answer = [], [], ""
    for i, msg in enumerate(messages[last_user + 1 :], start=last_user + 1):
        if msg["role"] != "assistant":
            continue
        calls = [c.get("function", c) for c in msg.get("tool_calls") or []]
        if not calls:
            answer = msg.get("content") or ""
            continue
        solution.append([{"name": c["name"], "arguments": dict(c["arguments"])} for c in calls])
        following = messages[i + 1 : i + 1 + len(calls)]
        results.append([{k: v for k, v in m.items() if k != "tool_call_id"} for m in following])
    return Task(
        env="calls",
        id=task_id,
        messages=messages[: last_user + 1],
        tools=record["tools"],
        solution=solution,
        answer=answer,
        data={
            "kind": record["kind"],
            "results": results,
            "system_rules": record.get("rules") or [],
        },
    )


class CallsEnv(Environment):
    name = "calls"
    max_turns = 4

    def tasks(self, split: str, n: int, seed: int = 0) -> list[Task]:
        from bslm.train.data.synthesis import make_example

        check_split(split)
        cfg, by_split, books = _sources(0)
        source = _SPLIT[split]
        out: list[Task] = []
        index = 0
        while len(out) < n:
            # an index range of its own, away from the SFT data's (same generator, other keys)
            key = 1_000_000 + seed * 100_000 + index
            index += 1
            record = make_example(cfg, source, 3, key, by_split[source], books[source])
            if record["kind"] in KINDS:
                out.append(task_from_record(record, f"calls-{split}-{seed}-{key:07d}"))
            if index > 50 * n + 100:
                raise RuntimeError(f"the generator made too few tasks of kinds {KINDS}")
        return out

    def reset(self, task: Task) -> None:
        self.gold = [
            (c, res)
            for turn, results in zip(task.solution_calls(), task.data["results"], strict=True)
            for c, res in zip(turn, results, strict=True)
        ]
        self.used: set[int] = set()
        self.made = 0

    def call(self, call: ToolCall) -> ToolResult:
        self.made += 1  # refused calls count too: the score charges every call not needed
        return super().call(call)

    def _matches(self, call: ToolCall, gold: ToolCall) -> bool:
        if call.name != gold.name or set(call.arguments) != set(gold.arguments):
            return False
        props = self._schemas.get(call.name, {}).get("properties") or {}
        return all(
            same_value(call.arguments[k], v, props.get(k)) for k, v in gold.arguments.items()
        )

    def step(self, call: ToolCall) -> ToolResult:
        for i, (gold, result) in enumerate(self.gold):
            if i not in self.used and self._matches(call, gold):
                self.used.add(i)
                return tool_message_result(result)
        return error(f"{call.name}: nothing matches these arguments", call.name)

    def score(self, answer: str) -> float:
        extra = self.made - len(self.used)
        if not self.gold:
            return 1.0 if not self.made and answer else 0.0
        share = len(self.used) / (len(self.gold) + extra)
        return share if answer else share / 2
