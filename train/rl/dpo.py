"""DPO from the model's own chains: sample several episodes per environment task with the
starting model, score them with the environment's check, and prefer every chain over every
chain of the same task that scores at least ``min_gap`` lower (with pass/fail scores: every
correct chain over every incorrect one; with partial credit, as the calls environment gives, a
chain that got more of the task right over one that got less); then TRL's DPOTrainer trains a
LoRA adapter over the starting model (the reference). When a task's chains give no pair and
none is correct, they are sampled again after its first reference turn(s), as GRPO's guidance
does, so hard tasks still give pairs (of the model's own chains from that point).

A chain is the whole multi-turn completion; only the model's own tokens count in the
log-probabilities (results turns, written by the environment, are masked out).

    bslm train dpo --config configs/dpo_gemma.yaml [key=value ...]

Sampled pairs go to ``OUT/pairs.jsonl`` task by task, so a rerun goes on where sampling stopped
and then resumes training from the last checkpoint. ``OUT/final`` is the adapter.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path

import numpy as np

from bslm.train.config import ConfigError
from bslm.train.rl.config import RLConfig
from bslm.train.rl.envs import make_env, train_tasks

FINAL = "final"
PAIRS = "pairs.jsonl"


@dataclass(frozen=True)
class DPOConfig(RLConfig):
    tasks: int = field(default=32, metadata={"help": "training tasks per environment"})
    out: str = field(default="runs/dpo", metadata={"help": "output directory"})
    samples: int = field(default=4, metadata={"help": "chains sampled per task"})
    max_pairs: int = field(
        default=4, metadata={"help": "pairs kept per task at most (-1: all combinations)"}
    )
    min_gap: float = field(
        default=0.1, metadata={"help": "score by which a chosen chain beats its rejected one"}
    )
    beta: float = field(default=0.1, metadata={"help": "DPO beta"})
    epochs: float = field(default=1.0, metadata={"help": "epochs over the pairs"})
    max_steps: int = field(default=-1, metadata={"help": "optimizer steps (-1: by epochs)"})
    batch_size: int = field(default=2, metadata={"help": "pairs per device step"})
    grad_accum: int = field(default=2, metadata={"help": "gradient accumulation steps"})
    save_steps: int = field(default=20, metadata={"help": "checkpoint every N steps"})


def pairs_for(chains: list[dict], max_pairs: int = -1, min_gap: float = 0.1) -> list[dict]:
    """Every (better, worse) combination of one task's chains (each chain a dict with ``ids``,
    ``mask``, ``score``) whose scores differ by ``min_gap`` or more, at most ``max_pairs``
    (-1: all), widest score gap first."""
    combos = [(g, b) for g, b in product(chains, chains) if g["score"] - b["score"] >= min_gap]
    combos.sort(key=lambda gb: gb[1]["score"] - gb[0]["score"])
    if max_pairs >= 0:
        combos = combos[:max_pairs]
    return [
        {
            "chosen_ids": g["ids"],
            "chosen_mask": g["mask"],
            "rejected_ids": b["ids"],
            "rejected_mask": b["mask"],
        }
        for g, b in combos
    ]


def collect_pairs(cfg: DPOConfig, model, tok, path: Path) -> list[dict]:
    """Sample ``cfg.samples`` chains per task and write the task's pairs to ``path`` (one line
    per task, pairs possibly empty); tasks already in the file are not sampled again."""
    done: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            done[row["task"]] = row
    tasks = [t for t in train_tasks(cfg.envs, cfg.tasks, cfg.seed) if t.id not in done]
    envs = {n: make_env(n) for n in cfg.envs}
    rng = np.random.default_rng(cfg.seed)
    if not tasks:
        return _pairs(done)
    mirror, policy = None, model
    if cfg.rollouts == "llama":  # the chains come from the starting model: one export
        from bslm.train.rl.mirror import LlamaMirror

        # a task's chains decoded together (train/rl/batched.py)
        mirror = LlamaMirror(tok, path.parent / "mirror", cfg.mirror_quant, batch=cfg.samples)
        mirror.sync(model)
        policy = mirror.batched or mirror.backend
    try:
        _sample_chains(cfg, policy, tok, tasks, envs, rng, path, done)
    finally:
        if mirror is not None:
            mirror.close()
            mirror.clear()
    return _pairs(done)


def _pairs(done: dict[str, dict]) -> list[dict]:
    return [dict(p, prompt_ids=row["prompt_ids"]) for row in done.values() for p in row["pairs"]]


def _sample_chains(cfg, policy, tok, tasks, envs, rng, path: Path, done: dict) -> None:
    from tqdm import tqdm

    from bslm.train.rl.batched import BatchedLlama, equip, play_together
    from bslm.train.rl.rollout import play

    with path.open("a") as f:
        for task in tqdm(tasks, desc="sampling chains"):
            levels = range(len(task.solution)) if cfg.guidance else range(1)
            for prefix in levels:
                kw = {
                    "mode": cfg.mask,
                    "temperature": cfg.temperature,
                    "max_turn_tokens": cfg.max_turn_tokens,
                    "max_tokens": cfg.max_tokens,
                }
                if isinstance(policy, BatchedLlama):
                    jobs = equip([{"task": task, "prefix": prefix}] * cfg.samples, rng)
                    played = play_together(policy, tok, jobs, **kw)
                else:
                    played = [
                        play(policy, tok, envs[task.env], task, prefix=prefix, rng=rng, **kw)
                        for _ in range(cfg.samples)
                    ]
                chains = [
                    {
                        "ids": s.completion_ids,
                        "mask": s.env_mask,
                        "score": ep.score,
                        "prompt": s.prompt_ids,
                    }
                    for ep, s in played
                ]
                pairs = pairs_for(chains, cfg.max_pairs, cfg.min_gap)
                if pairs or any(c["score"] >= 1.0 for c in chains):
                    break  # chains of this prompt can be compared, or need no more help
            # the chains of one level share their prompt (the task, then ``prefix`` turns)
            row = {
                "task": task.id,
                "prefix": prefix,
                "prompt_ids": chains[0]["prompt"],
                "scores": [c["score"] for c in chains],
                "pairs": pairs,
            }
            f.write(json.dumps(row) + "\n")
            f.flush()
            done[task.id] = row


def _collator_class():
    import torch
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    class ChainCollator(DataCollatorForPreference):
        """TRL's preference collator, with the environment's tokens out of the completion."""

        def torch_call(self, examples):
            batch = super().torch_call(examples)
            masks = [
                [0] * len(e["prompt_ids"]) + e[f"{side}_mask"]
                for side in ("chosen", "rejected")
                for e in examples
            ]
            cm = batch["completion_mask"]
            for i, m in enumerate(masks):
                m = m[: cm.shape[1]]
                cm[i, : len(m)] *= torch.tensor(m, dtype=cm.dtype)
            return batch

    return ChainCollator


def train(cfg: DPOConfig) -> Path:
    """Sample the pairs (or reuse them), run DPO; returns the final adapter's directory.
    Raises ValueError when sampling gave no pair to learn from."""
    from datasets import Dataset
    from trl import DPOConfig as TRLConfig
    from trl import DPOTrainer

    from bslm.train.config import trainer_args
    from bslm.train.plots import plot_training
    from bslm.train.rl.mirror import check_sampler
    from bslm.train.rl.policy import checkpoint_callback, load_policy, train_and_save

    check_sampler(cfg.rollouts, cfg.mirror_quant)
    out = Path(cfg.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    model, tok = load_policy(cfg.model, cfg.seed, cfg.lora_r, cfg.lora_alpha)
    pairs = collect_pairs(cfg, model, tok, out / PAIRS)
    if not pairs:
        raise ConfigError(
            "no preference pairs: every task's chains were all correct or all incorrect "
            "(sample more per task, raise the temperature, or use other environments)"
        )
    print(f"{len(pairs)} preference pairs")

    class ChainDPOTrainer(DPOTrainer):
        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            return dataset  # already token ids, with the environment's tokens marked

    args = TRLConfig(
        **trainer_args(cfg, out),
        beta=cfg.beta,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        gradient_checkpointing=not cfg.use_cpu,
        max_length=None,
    )
    pad = tok.base.pad_token_id if tok.base.pad_token_id is not None else tok.eot_id
    trainer = ChainDPOTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(pairs),
        processing_class=tok.base,
        data_collator=_collator_class()(pad_token_id=pad),
        callbacks=[checkpoint_callback(tok, cfg.model, cfg.seed)],
    )
    final, rows = train_and_save(trainer, tok, out / FINAL, cfg.model, cfg.seed, "loss")
    plot_training(rows, out / "loss.png")
    print(f"final adapter: {final}")
    return final


def main(argv: list[str] | None = None) -> int:
    from bslm.train.config import config_main

    return config_main(DPOConfig, train, "DPO from sampled correct/incorrect chains.", argv)


if __name__ == "__main__":
    sys.exit(main())
