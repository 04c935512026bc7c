"""The environments by name, and their evaluation suite (``bslm eval --suite env:NAME``).

env = make_env("math")
metrics = run_suite("math", predict, limit=50)   # held-out tasks, greedy decisions
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from bslm.train.config import ConfigError
from bslm.train.rl.envs.base import Environment, Episode, Task, run_episode

ENVIRONMENTS = {
    "calls": "bslm.train.rl.envs.calls:CallsEnv",
    "math": "bslm.train.rl.envs.math:MathEnv",
    "logic": "bslm.train.rl.envs.logic:LogicEnv",
    "store": "bslm.train.rl.envs.store:StoreEnv",
    "code": "bslm.train.rl.envs.code:CodeEnv",
}
DEFAULT_SUITE_SIZE = 50


def make_env(name: str) -> Environment:
    """A new environment. Raises ValueError for an unknown name."""
    if name not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {name!r} (choose from {', '.join(ENVIRONMENTS)})")
    module, cls = ENVIRONMENTS[name].split(":")
    return getattr(importlib.import_module(module), cls)()


def train_tasks(envs: tuple[str, ...], n: int, seed: int = 0) -> list[Task]:
    """``n`` training tasks of each environment in ``envs``, in that order."""
    return [t for name in envs for t in make_env(name).tasks("train", n, seed)]


def interleaved_tasks(envs: tuple[str, ...], n: int, seed: int = 0) -> list[Task]:
    """``n`` training tasks taking the environments of ``envs`` in turn (a step's few tasks
    then come from different environments)."""
    pool = train_tasks(envs, n // len(envs) + 1, seed)
    order = sorted(range(len(pool)), key=lambda i: (i % len(envs), i))
    return [pool[i] for i in order][:n]


def episode_metrics(episodes: list[Episode]) -> dict:
    """Solved share (score 1), mean score, mean step reward, and how the turns went."""
    from bslm.train.rl.rewards import format_reward, step_reward

    n = len(episodes)
    outputs = [e.outputs for e in episodes]
    steps = step_reward(outputs, errors=[e.errors for e in episodes])
    calls = sum(len(c) for e in episodes for c in e.calls)
    errors = sum(sum(t) for e in episodes for t in e.errors)
    pct = lambda a, b: round(100.0 * a / b, 2) if b else None  # noqa: E731
    return {
        "n": n,
        "accuracy": pct(sum(e.score >= 1.0 for e in episodes), n),
        "mean_score": round(sum(e.score for e in episodes) / n, 4) if n else None,
        "step_reward": round(sum(steps) / n, 4) if n else None,
        "format": pct(sum(format_reward(outputs)), n),
        "answered": pct(sum(e.answered for e in episodes), n),
        "turns": round(sum(len(e.outputs) for e in episodes) / n, 2) if n else None,
        "calls": calls,
        "call_errors": pct(errors, calls),
    }


def run_suite(name: str, predict: Callable, limit: int = 0, seed: int = 0) -> dict:
    """Play ``limit`` held-out tasks (``DEFAULT_SUITE_SIZE`` when 0) of environment ``name``
    with ``predict(messages, tools) -> ModelOutput``."""
    env = make_env(name)
    tasks = env.tasks("test", limit or DEFAULT_SUITE_SIZE, seed)
    return episode_metrics([run_episode(env, task, predict) for task in tasks])
