"""GRPO with verifiable rewards: the model plays tool-environment tasks over several turns,
each group of rollouts of a task is scored by the rewards, and TRL's GRPOTrainer updates a LoRA
adapter over the starting model (``train/rl/policy.py``).

Rollouts are ours (TRL's ``rollout_func``): each model turn is sampled from the policy, under
the tools' grammar (``mask: hard``/``soft``) or not (``off``); the calls run in the
environment and their results are appended to the context as a results turn, whose tokens are
not trained on (``env_mask``). By default the sampler is llama.cpp, on a GGUF mirror of the
policy exported again every ``sync_every`` steps (``train/rl/mirror.py``), the engine the runtime
decodes with; TRL recomputes the policy's log-probabilities in one forward pass and corrects
for the mirror's staleness and quantization with its truncated importance sampling
(``is_mode``, ``is_cap``). ``rollouts: torch`` samples from the policy itself. The rewards (``train/rl/rewards.py``) see each episode's parsed
model turns, the environment's score and the task's reference; their weights come from the
config. When every rollout of a task scores zero, the task's next rollouts start from a
partial solution (its first reference turns, one more each time it stalls, one fewer once a
group solves it), so learning gets a signal where it had none.

    bslm train grpo --config configs/grpo_gemma.yaml [key=value ...]

A rerun resumes from the last checkpoint. ``OUT/log.jsonl`` holds the logged rewards and
``OUT/rewards.png`` plots them; ``OUT/final`` is the adapter (``bslm eval --model OUT/final``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bslm.models.files import write_text
from bslm.train.config import ConfigError
from bslm.train.rl.config import RLConfig
from bslm.train.rl.envs import Task, make_env, train_tasks
from bslm.train.rl.rewards import weighted

FINAL = "final"
GUIDANCE = "guidance.json"
IS_MODES = ("token_truncate", "token_mask", "sequence_truncate", "sequence_mask", "none")
DEFAULT_REWARDS = {
    "outcome": 1.0,
    "steps": 0.2,
    "format": 0.1,
    "schema": 0.1,
    "tool_name": 0.2,
    "arguments": 0.2,
    "irrelevance": 0.2,
}


@dataclass(frozen=True)
class GRPOConfig(RLConfig):
    out: str = field(
        default="runs/grpo",
        metadata={"help": "output directory (checkpoints, logs, final adapter)"},
    )
    group_size: int = field(default=4, metadata={"help": "rollouts per task in a group (GRPO's G)"})
    prompts_per_step: int = field(default=2, metadata={"help": "tasks per optimizer step"})
    max_steps: int = field(default=40, metadata={"help": "optimizer steps"})
    beta: float = field(
        default=0.0, metadata={"help": "KL coefficient against the starting model (0: none)"}
    )
    sync_every: int = field(
        default=1, metadata={"help": "llama rollouts: export the policy again every N steps"}
    )
    steps_per_generation: int = field(
        default=1,
        metadata={
            "help": "optimizer steps trained on one generation of rollouts: one sync and one "
            "batch of rollouts for all of them, the "
            "later steps' rollouts a few steps stale (importance sampling corrects for it)"
        },
    )
    micro_batch: int = field(
        default=1,
        metadata={
            "help": "episodes per forward and backward pass: a step's episodes "
            "(prompts_per_step × group_size) are accumulated in batches this size, each cut to "
            "its own length (1: no padding; larger: wider matrix products, more padding and "
            "memory)"
        },
    )
    rollout_batch: int = field(
        default=32,
        metadata={
            "help": "llama rollouts: episodes decoded together, one token each per llama_decode "
            "(train/rl/batched.py; at most a generation's episodes; 1: one after another)"
        },
    )
    is_mode: str = field(
        default="token_truncate",
        metadata={
            "help": "llama rollouts: TRL's importance-sampling correction for the mirror's "
            "staleness and quantization (token_truncate, token_mask, sequence_truncate, "
            "sequence_mask; none: off)"
        },
    )
    is_cap: float = field(
        default=2.0, metadata={"help": "llama rollouts: the importance ratio's upper bound"}
    )
    rewards: dict = field(
        default_factory=lambda: dict(DEFAULT_REWARDS),
        metadata={"help": "reward name -> weight (train/rl/rewards.py REWARDS)"},
    )


class Guidance:
    """How many reference turns each task's rollouts start from (0 for most)."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.levels: dict[str, int] = {}
        if path is not None and path.is_file():
            self.levels = json.loads(path.read_text())

    def prefix(self, task: Task) -> int:
        return min(self.levels.get(task.id, 0), max(len(task.solution) - 1, 0))

    def update(self, task: Task, scores: list[float]) -> None:
        level = self.levels.get(task.id, 0)
        if all(s <= 0 for s in scores) and level < len(task.solution) - 1:
            self.levels[task.id] = level + 1
        elif level and all(s >= 1 for s in scores):
            self.levels[task.id] = level - 1

    def save(self) -> None:
        if self.path is not None:
            write_text(self.path, json.dumps(self.levels))


def reward_columns(task: Task, prefix: int = 0) -> dict:
    """What the rewards know of a task beside the episode: the reference calls of the first
    turn the model plays (``calls`` tasks only: elsewhere many plays are right; after a
    ``prefix`` of reference turns, the next one), the tools, the system prompt's rules (an
    environment's own data may hold other rules: the logic worlds' inference rules)."""
    calls = None
    if task.env == "calls":
        calls = task.solution[prefix] if prefix < len(task.solution) else []
    return {"calls": calls, "tools": task.tools, "rules": task.data.get("system_rules") or None}


def episode_reward(fn, name: str):
    """``fn`` (a reward over parsed episodes) as a TRL reward: the episodes come from the
    rollout's ``episode`` column instead of TRL's text decoding."""

    def reward(prompts=None, completions=None, completion_ids=None, episode=None, **kwargs):
        return fn(episode, **kwargs)

    reward.__name__ = name
    return reward


def make_rollout(
    cfg: GRPOConfig, tok, tasks: dict[str, Task], guidance: Guidance | None, mirror=None
):
    """TRL's ``rollout_func``: one sampled episode per prompt (a task id; TRL repeats each
    ``group_size`` times), with the tokens, the environment mask and the reward columns.
    ``mirror``: a ``LlamaMirror`` samples them (synced by the trainer); else the policy."""
    from bslm.train.rl.rollout import play

    envs = {name: make_env(name) for name in {t.env for t in tasks.values()}}
    rng = np.random.default_rng(cfg.seed)

    def rollout(prompts: list[str], trainer) -> dict:
        if mirror is not None and not mirror.ready:  # before the first step's sync
            mirror.sync_weights()
        jobs = []
        for prompt in prompts:
            task = tasks[prompt]
            prefix = guidance.prefix(task) if guidance is not None else 0
            jobs.append({"task": task, "prefix": prefix})
        kwargs = {
            "mode": cfg.mask,
            "temperature": cfg.temperature,
            "max_turn_tokens": cfg.max_turn_tokens,
            "max_tokens": cfg.max_tokens,
        }
        if mirror is not None and mirror.batched is not None:
            from bslm.train.rl.batched import equip, play_together

            played = play_together(mirror.batched, tok, equip(jobs, rng), **kwargs)
        else:
            policy = (
                mirror.backend
                if mirror is not None
                else trainer.accelerator.unwrap_model(trainer.model)
            )
            played = [
                play(
                    policy,
                    tok,
                    envs[j["task"].env],
                    j["task"],
                    prefix=j["prefix"],
                    rng=rng,
                    **kwargs,
                )
                for j in jobs
            ]
        out: dict[str, list] = {
            k: []
            for k in (
                "prompt_ids",
                "completion_ids",
                "logprobs",
                "env_mask",
                "episode",
                "errors",
                "score",
                "calls",
                "tools",
                "rules",
            )
        }
        scores: dict[str, list[float]] = {}
        for job, (ep, s) in zip(jobs, played, strict=True):
            task, prefix = job["task"], job["prefix"]
            if not s.completion_ids:  # the token budget was spent by the prefix alone
                s.completion_ids, s.env_mask, s.logprobs = [tok.eot_id], [1], [0.0]
            out["prompt_ids"].append(s.prompt_ids)
            out["completion_ids"].append(s.completion_ids)
            out["logprobs"].append(s.logprobs)
            out["env_mask"].append(s.env_mask)
            out["episode"].append(ep.outputs)
            out["errors"].append(ep.errors)
            out["score"].append(ep.score)
            for k, v in reward_columns(task, prefix).items():
                out[k].append(v)
            scores.setdefault(task.id, []).append(ep.score)
        if guidance is not None:
            for task_id, group in scores.items():
                guidance.update(tasks[task_id], group)
            guidance.save()
        return out

    return rollout


def unpadded_span(attention_mask, logits_to_keep: int) -> tuple[int, int]:
    """The columns ``[lo, hi)`` of a batch of prompt + completion rows (TRL's: prompts padded
    on the left, completions on the right, the last ``logits_to_keep`` columns the completion)
    that hold a token of some row; at least one completion column is kept."""
    used = attention_mask.any(dim=0)
    width = used.numel()
    prompt_end = width - logits_to_keep
    held = used.nonzero()
    lo = min(int(held[0]), prompt_end) if held.numel() else prompt_end
    hi = max(int(held[-1]) + 1, prompt_end + 1) if held.numel() else prompt_end + 1
    return lo, hi


def trainer_class(mirrored: bool):
    """TRL's GRPOTrainer, scoring each batch of episodes at its own length.

    TRL pads the episodes of a whole generation to its longest prompt and its longest
    completion, and a step's batch keeps that width: a short episode beside a long prompt is
    mostly padding, computed forward and backward. Each batch is cut to the columns its own
    rows use (with one episode per batch, ``micro_batch: 1``, no padding is left); positions
    stay relative (rotary), so the log-probabilities are the same.

    ``mirrored``: rollouts from a llama.cpp mirror of the policy. TRL keeps two things for an
    external generator that it calls vLLM: a weight-sync hook, called once per optimizer step
    before the rollouts (``vllm_generation.sync_weights()``), and a truncated
    importance-sampling correction of the loss by the ratio of the policy's log-probabilities
    (recomputed, one forward pass per batch) to the generator's (the rollouts' ``logprobs``).
    Both are switched on by ``use_vllm``; the generation itself stays our ``rollout_func``, so
    nothing of vLLM is imported or run. The mirror is the sync target.
    """
    import torch
    from trl import GRPOTrainer

    class BslmGRPOTrainer(GRPOTrainer):
        def _get_per_token_logps_and_entropies(
            self, model, input_ids, attention_mask, logits_to_keep, batch_size=None, **kwargs
        ):
            batch_size = batch_size or input_ids.size(0)
            width = input_ids.size(1)
            logps, entropies, aux = [], [], []
            for start in range(0, input_ids.size(0), batch_size):
                ids = input_ids[start : start + batch_size]
                mask = attention_mask[start : start + batch_size]
                lo, hi = unpadded_span(mask, logits_to_keep)
                cut = width - hi  # completion columns no row of this batch reaches
                lp, ent, ax = super()._get_per_token_logps_and_entropies(
                    model, ids[:, lo:hi], mask[:, lo:hi], logits_to_keep - cut, **kwargs
                )
                logps.append(torch.nn.functional.pad(lp, (0, cut)))
                if ent is not None:
                    entropies.append(torch.nn.functional.pad(ent, (0, cut)))
                if ax is not None:
                    aux.append(ax)
            return (
                torch.cat(logps, dim=0),
                torch.cat(entropies, dim=0) if entropies else None,
                torch.stack(aux).mean() if aux else None,
            )

    if not mirrored:
        return BslmGRPOTrainer

    class MirroredGRPOTrainer(BslmGRPOTrainer):
        def mirror_with(self, mirror) -> None:
            self.use_vllm = True  # TRL's sync hook and importance sampling, not its generation
            self.vllm_generation = mirror
            self._last_loaded_step = -1

    return MirroredGRPOTrainer


def episode_scorer():
    """A trainer of ours set up only to score episodes (``_get_per_token_logps_and_entropies``
    on a model passed in), without TRL's set-up of a run: for measuring and checking the
    scoring apart from training."""
    import contextlib
    from types import SimpleNamespace

    scorer = object.__new__(trainer_class(mirrored=False))
    scorer.accelerator = SimpleNamespace(autocast=contextlib.nullcontext, is_main_process=True)
    return scorer


def train(cfg: GRPOConfig) -> Path:
    """Run GRPO; returns the final adapter's directory. Raises ValueError for bad settings."""
    from datasets import Dataset
    from trl import GRPOConfig as TRLConfig

    from bslm.models.choice import MASKS
    from bslm.train.config import trainer_args
    from bslm.train.plots import plot_rewards
    from bslm.train.rl.mirror import LlamaMirror, check_sampler
    from bslm.train.rl.policy import checkpoint_callback, load_policy, train_and_save

    if cfg.mask not in MASKS:
        raise ConfigError(f"unknown mask {cfg.mask!r} (choose from {', '.join(MASKS)})")
    check_sampler(cfg.rollouts, cfg.mirror_quant)
    for name in ("rollout_batch", "steps_per_generation"):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"{name} must be at least 1, not {getattr(cfg, name)}")
    if cfg.is_mode not in IS_MODES:
        raise ConfigError(f"unknown is_mode {cfg.is_mode!r} (choose from {', '.join(IS_MODES)})")
    if cfg.sync_every < 1:
        raise ConfigError("sync_every must be at least 1")
    step_episodes = cfg.prompts_per_step * cfg.group_size
    if cfg.micro_batch < 1 or step_episodes % cfg.micro_batch:
        raise ConfigError(
            f"micro_batch ({cfg.micro_batch}) must divide a step's episodes "
            f"(prompts_per_step × group_size = {step_episodes})"
        )
    accumulate = step_episodes // cfg.micro_batch * cfg.grad_accum
    funcs, weights = weighted(cfg.rewards)
    out = Path(cfg.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    tasks = {t.id: t for t in train_tasks(cfg.envs, cfg.tasks, cfg.seed)}
    model, tok = load_policy(cfg.model, cfg.seed, cfg.lora_r, cfg.lora_alpha)
    guidance = Guidance(out / GUIDANCE) if cfg.guidance else None
    args = TRLConfig(
        **{**trainer_args(cfg, out), "gradient_accumulation_steps": accumulate},
        per_device_train_batch_size=cfg.micro_batch,
        num_generations=cfg.group_size,
        # TRL counts forward-backward passes; ours, optimizer steps
        steps_per_generation=cfg.steps_per_generation * accumulate,
        beta=cfg.beta,
        max_steps=cfg.max_steps,
        max_completion_length=cfg.max_tokens,
        temperature=cfg.temperature,
        reward_weights=weights,
        # TRL turns it on to save GPU memory; on a CPU memory is plenty and time is not
        gradient_checkpointing=not cfg.use_cpu,
        vllm_importance_sampling_correction=cfg.is_mode != "none",
        vllm_importance_sampling_mode=cfg.is_mode if cfg.is_mode != "none" else "token_truncate",
        vllm_importance_sampling_clip_max=cfg.is_cap,
    )
    mirror = None
    if cfg.rollouts == "llama":
        per_generation = step_episodes * cfg.grad_accum * cfg.steps_per_generation
        batch = min(cfg.rollout_batch, per_generation)
        mirror = LlamaMirror(tok, out / "mirror", cfg.mirror_quant, cfg.sync_every, batch=batch)
    trainer = trainer_class(mirrored=mirror is not None)(
        model=model,
        reward_funcs=[episode_reward(f, name) for f, name in zip(funcs, cfg.rewards, strict=True)],
        args=args,
        train_dataset=Dataset.from_list([{"prompt": task_id} for task_id in tasks]),
        processing_class=tok.base,
        rollout_func=make_rollout(cfg, tok, tasks, guidance, mirror),
        callbacks=[checkpoint_callback(tok, cfg.model, cfg.seed)],
    )
    if mirror is not None:
        trainer.mirror_with(mirror.bind(trainer))
    try:
        final, rows = train_and_save(trainer, tok, out / FINAL, cfg.model, cfg.seed, "reward")
    finally:
        if mirror is not None:
            mirror.close()
            mirror.clear()
    plot_rewards(rows, out / "rewards.png")
    print(f"final adapter: {final}\nreward curves: {out / 'rewards.png'}")
    return final


def main(argv: list[str] | None = None) -> int:
    from bslm.train.config import config_main

    return config_main(GRPOConfig, train, "GRPO on tool environments.", argv)


if __name__ == "__main__":
    sys.exit(main())
