"""GRPO rollouts per minute: the policy sampled token by token in PyTorch, against its llama.cpp
mirror (``train/rl/mirror.py``), on the same tasks, side by side in one run. Pause other work
while it measures.

    python bench/rollouts.py                       # the default model, 2 steps of 2 tasks x 4
    python bench/rollouts.py --steps 1 --quants q8_0,f16
    python bench/rollouts.py --omp default         # OpenMP's spinning threads, as before
    python bench/rollouts.py --batches 1,4,8       # episodes decoded together or not
    python bench/rollouts.py --steps 4 --per-generation 4 --batches 1,32   # one sync per 4 steps

A step is what ``configs/grpo_gemma_cpu.yaml`` does before each update: ``tasks`` training
tasks of the environments, ``group`` rollouts each, under the hard mask at temperature 1. The
mirror is exported again before every generation of rollouts (``sync_every: 1``, the default;
a generation is ``--per-generation`` steps, GRPO's ``steps_per_generation``), and that time is
counted in its episodes per minute. Its episodes are decoded one after another, or ``--batches``
of them together (``train/rl/batched.py``, GRPO's ``rollout_batch``). The last columns compare the rollouts' log-probabilities
with the policy's own, recomputed in one forward pass per episode (what TRL does before its
importance-sampling correction): the mean and largest absolute difference per model token.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tables import table  # bench/tables.py, beside this script

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

ENVS = ("calls", "math", "logic", "store", "code")


def play_steps(policy_for, model, tok, steps, args, check: bool) -> dict:
    """Play every step's groups; ``policy_for(step)`` is what samples them (it may sync): an
    engine backend or torch model, one episode after another, or a ``BatchedLlama``, the
    step's episodes decoded together (``train/rl/batched.py``)."""
    from bslm.train.rl.batched import BatchedLlama, equip, play_together
    from bslm.train.rl.envs import make_env
    from bslm.train.rl.rollout import play, policy_logprobs

    envs = {name: make_env(name) for name in ENVS}
    episodes = tokens = solved = 0
    diffs: list[np.ndarray] = []
    t0 = time.perf_counter()
    checking = 0.0
    kw = {
        "mode": "hard",
        "temperature": 1.0,
        "max_turn_tokens": args.turn_tokens,
        "max_tokens": args.max_tokens,
    }
    per = args.per_generation
    generations = [sum(steps[i : i + per], []) for i in range(0, len(steps), per)]
    for step, tasks in enumerate(generations):
        policy = policy_for(step)
        rng = np.random.default_rng(step)
        if isinstance(policy, BatchedLlama):
            jobs = equip([{"task": t} for t in tasks for _ in range(args.group)], rng)
            played = play_together(policy, tok, jobs, **kw)
        else:
            played = [
                play(policy, tok, envs[t.env], t, rng=rng, **kw)
                for t in tasks
                for _ in range(args.group)
            ]
        for ep, s in played:
            episodes += 1
            solved += ep.score >= 1.0
            mask = np.array(s.env_mask, dtype=bool)
            tokens += int(mask.sum())
            if check and mask.any():
                c0 = time.perf_counter()
                want = policy_logprobs(model, s.prompt_ids, s.completion_ids, 1.0)
                diffs.append(np.abs(np.array(s.logprobs)[mask] - want[mask]))
                checking += time.perf_counter() - c0
    seconds = time.perf_counter() - t0 - checking
    d = np.concatenate(diffs) if diffs else np.zeros(0)
    return {
        "episodes": episodes,
        "tokens": tokens,
        "solved": solved,
        "seconds": seconds,
        "mean_diff": float(d.mean()) if len(d) else None,
        "max_diff": float(d.max()) if len(d) else None,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default", help="starting model, as GRPO's `model`")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--tasks", type=int, default=2, help="tasks per step")
    ap.add_argument("--group", type=int, default=4, help="rollouts per task")
    ap.add_argument("--turn-tokens", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--quants", default="q8_0", help="mirror GGUF types, comma-separated")
    ap.add_argument(
        "--per-generation",
        type=int,
        default=1,
        help="steps whose rollouts are one generation: one sync, decoded together "
        "(GRPO's steps_per_generation)",
    )
    ap.add_argument(
        "--batches",
        default="1,8",
        help="episodes the mirror decodes together, comma-separated (1: one after another)",
    )
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch sampler")
    ap.add_argument(
        "--omp",
        choices=("passive", "default"),
        default="passive",
        help="OpenMP's wait policy: passive (idle threads sleep, as `bslm train` sets it) or "
        "OpenMP's default (they spin a while)",
    )
    args = ap.parse_args()
    # torch and llama.cpp share one OpenMP runtime here; it reads the policy when it loads
    if args.omp == "passive":
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    else:
        os.environ.pop("OMP_WAIT_POLICY", None)

    import torch

    from bslm.train.rl.envs import interleaved_tasks
    from bslm.train.rl.mirror import LlamaMirror
    from bslm.train.rl.policy import load_policy

    torch.set_num_threads(os.cpu_count() or 1)
    model, tok = load_policy(args.model, seed=0)
    model.eval()
    picked = interleaved_tasks(ENVS, args.steps * args.tasks, seed=0)
    steps = [picked[i * args.tasks : (i + 1) * args.tasks] for i in range(args.steps)]
    print(
        f"{os.cpu_count()} CPU cores, OpenMP wait policy {args.omp}; {args.model} model; {args.steps} steps of {args.tasks} "
        f"tasks x {args.group} rollouts, {args.per_generation} step(s) per generation (hard mask, "
        f"temperature 1, <= {args.max_tokens} tokens)"
    )
    rows, base = [], None
    if not args.no_torch:
        r = play_steps(lambda step: model, model, tok, steps, args, check=False)
        base = r["episodes"] / r["seconds"] * 60
        rows.append(["PyTorch, token by token", *_cells(r, 0.0, base), "–", "–"])
    for quant in args.quants.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                mirror = LlamaMirror(tok, Path(tmp), quant=quant, every=1, batch=batch)

                def policy_for(step: int, mirror=mirror):
                    mirror.sync(model, step)  # the same weights: what a sync costs is measured
                    return mirror.batched or mirror.backend

                try:
                    r = play_steps(policy_for, model, tok, steps, args, check=True)
                finally:
                    mirror.close()
            per_sync = mirror.seconds / max(mirror.syncs, 1)
            rate = r["episodes"] / r["seconds"] * 60
            how = "one after another" if batch == 1 else f"{batch} decoded together"
            rows.append(
                [
                    f"llama.cpp mirror, {quant}, {how}",
                    *_cells(r, per_sync, base or rate),
                    f"{r['mean_diff']:.4f}",
                    f"{r['max_diff']:.3f}",
                ]
            )
    table(
        "GRPO rollouts",
        [
            "sampler",
            "episodes",
            "model tokens",
            "solved",
            "seconds",
            "s per sync",
            "episodes/min",
            "model tok/s",
            "× PyTorch",
            "mean |Δ logprob|",
            "max |Δ logprob|",
        ],
        rows,
    )
    return 0


def _cells(r: dict, per_sync: float, base: float) -> list:
    rate = r["episodes"] / r["seconds"] * 60
    return [
        r["episodes"],
        r["tokens"],
        r["solved"],
        f"{r['seconds']:.1f}",
        f"{per_sync:.1f}",
        f"{rate:.2f}",
        f"{r['tokens'] / r['seconds']:.1f}",
        f"{rate / base:.2f}",
    ]


if __name__ == "__main__":
    sys.exit(main())
