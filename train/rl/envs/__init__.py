"""Tool environments for GRPO rollouts and ``bslm eval --suite env:NAME`` (``base.py``; the
environments by name in ``registry.py``)."""

from bslm.train.rl.envs.base import Environment, Episode, Task, run_episode
from bslm.train.rl.envs.registry import (
    ENVIRONMENTS,
    interleaved_tasks,
    make_env,
    run_suite,
    train_tasks,
)

__all__ = [
    "ENVIRONMENTS",
    "Environment",
    "Episode",
    "Task",
    "interleaved_tasks",
    "make_env",
    "run_episode",
    "run_suite",
    "train_tasks",
]
