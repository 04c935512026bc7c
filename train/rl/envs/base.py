"""Tool environments: stateful tools a model acts on over several turns, with a final check.

An environment is a plain Python class. ``tasks(split, n, seed)`` generates tasks (``train``
and ``test`` splits never share a task); ``reset(task)`` starts one; ``call(call)`` runs one
tool call (validated against the tool's schema first; the model's mistakes come back as error
results, never as exceptions); ``score(answer)`` is the final, verifiable check in [0, 1].

``run_episode`` plays one task with any ``act(messages, tools) -> ModelOutput`` (greedy
decoding in ``bslm eval --suite env:NAME``, sampled rollouts in GRPO): each model turn's calls
are executed and their results appended to the conversation, until the model answers in text
or the turn budget runs out.

    env = make_env("math")
    task = env.tasks("test", 1)[0]
    episode = run_episode(env, task, act)
    episode.score, episode.turns
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import jsonschema

from bslm.models.chat import as_spec, assistant_message, result_message
from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall, ToolResult

SPLITS = ("train", "test")


@dataclass(frozen=True)
class Task:
    """One task. ``messages`` open the conversation (system, user); ``tools`` are OpenAI-style
    tool dicts; ``solution`` is a reference play, the calls of each model turn in order
    (``{"name", "arguments"}`` dicts), ending with the final answer ``answer``; ``data`` is
    whatever the environment needs to set the task up (JSON)."""

    env: str
    id: str
    messages: list[dict]
    tools: list[dict]
    solution: list[list[dict]] = field(default_factory=list)
    answer: str = ""
    data: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Task:
        return cls(**json.loads(text))

    def solution_calls(self) -> list[list[ToolCall]]:
        return [[ToolCall(c["name"], dict(c["arguments"])) for c in turn] for turn in self.solution]


class Environment(ABC):
    """Base class: subclasses set ``name`` and implement ``tasks``, ``reset``, ``step``
    and ``score``."""

    name: ClassVar[str] = ""
    max_turns: ClassVar[int] = 6

    def __init__(self) -> None:
        self.task: Task | None = None
        self._schemas: dict[str, dict] = {}

    @abstractmethod
    def tasks(self, split: str, n: int, seed: int = 0) -> list[Task]:
        """``n`` tasks of ``split`` (``train`` or ``test``), the same for the same seed; the
        two splits never share a task. Raises ValueError for an unknown split."""

    def start(self, task: Task) -> None:
        """Reset the state for ``task`` (what ``run_episode`` calls)."""
        self.task = task
        self._schemas = {s.name: s.parameters or {} for s in map(as_spec, task.tools)}
        self.reset(task)

    @abstractmethod
    def reset(self, task: Task) -> None:
        """Set up the state ``task`` starts from."""

    @abstractmethod
    def step(self, call: ToolCall) -> ToolResult:
        """Run one call whose tool exists and whose arguments fit its schema."""

    @abstractmethod
    def score(self, answer: str) -> float:
        """The final check, after the episode: 1.0 solved, 0.0 not (partial credit allowed).
        ``answer`` is the model's final text (empty when it never answered)."""

    def call(self, call: ToolCall) -> ToolResult:
        """Run a call the model wrote: an unknown tool or arguments that break the schema come
        back as an error result saying why."""
        schema = self._schemas.get(call.name)
        if schema is None:
            known = ", ".join(sorted(self._schemas)) or "none"
            return error(f"unknown tool {call.name!r} (tools: {known})", call.name)
        try:
            jsonschema.validate(call.arguments, schema)
        except jsonschema.ValidationError as e:
            return error(f"invalid arguments for {call.name}: {e.message}", call.name)
        try:
            result = self.step(call)
        except (ValueError, KeyError, TypeError, ArithmeticError, RecursionError, MemoryError) as e:
            return error(f"{call.name} failed: {e}", call.name)
        if result.name is None:
            result.name = call.name
        return result


def text(value: Any, name: str | None = None) -> ToolResult:
    """A plain result (non-strings as JSON)."""
    body = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return ToolResult.from_text(body, name=name)


def error(message: str, name: str | None = None) -> ToolResult:
    return ToolResult.from_text(message, is_error=True, name=name)


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (choose from {', '.join(SPLITS)})")


@dataclass
class Episode:
    """A played task: the whole conversation, each model turn's output, which calls of each
    turn returned errors (``errors[i]`` lines up with ``outputs[i].calls``), the final answer
    and the environment's score."""

    task: Task
    messages: list[dict]
    outputs: list[ModelOutput] = field(default_factory=list)
    errors: list[list[bool]] = field(default_factory=list)
    answer: str = ""
    answered: bool = False
    score: float = 0.0

    @property
    def calls(self) -> list[list[ToolCall]]:
        return [o.calls for o in self.outputs]


Act = Callable[[list[dict], list], ModelOutput]


def reference_act(task: Task, answer: str | None = None) -> Act:
    """An ``act`` that plays ``task``'s reference turns, then answers ``answer`` (by default
    the reference answer): shows a task can be solved, and scripts episodes in tests."""
    turns = iter(task.solution_calls())

    def act(messages: list[dict], tools: list) -> ModelOutput:
        calls = next(turns, None)
        if calls:
            return ModelOutput(parts=list(calls), ended=True)
        return ModelOutput(parts=[task.answer if answer is None else answer], ended=True)

    return act


def run_episode(
    env: Environment, task: Task, act: Act, max_turns: int | None = None, prefix: int = 0
) -> Episode:
    """Play ``task`` with ``act``. ``prefix`` reference turns (``task.solution``) are played
    first, as if the model had written them (a partial solution to start from); they are part
    of the conversation but not of ``outputs``."""
    env.start(task)
    messages = [dict(m) for m in task.messages]
    for calls in task.solution_calls()[:prefix]:
        messages.append(assistant_message(ModelOutput(parts=list(calls), ended=True)))
        messages += [result_message(env.call(c)) for c in calls]
    ep = Episode(task, messages)
    for _ in range(max_turns or env.max_turns):
        out = act(messages, task.tools)
        ep.outputs.append(out)
        messages.append(assistant_message(out))
        if not out.calls:
            ep.errors.append([])
            ep.answer, ep.answered = out.text.strip(), True
            break
        results = [env.call(c) for c in out.calls]
        ep.errors.append([r.is_error for r in results])
        messages += [result_message(r) for r in results]
    ep.score = float(env.score(ep.answer))
    return ep
