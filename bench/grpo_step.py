"""A GRPO step's forward and backward pass on the default model: TRL's layout (a step's
episodes padded to the longest prompt and completion of their generation) against episodes
cut to their own length, in batches of a step's episodes or one at a time
(``micro_batch``, ``train/rl/grpo.py``), side by side in one run. Pause other work while it
measures.

    python bench/grpo_step.py                     # 4 steps of 2 tasks x 4 rollouts a generation
    python bench/grpo_step.py --repeat 3

The episodes are one generation of ``configs/grpo_gemma_cpu.yaml`` (its tasks, under the hard
mask at temperature 1, sampled by the llama.cpp mirror of the starting model); each layout
then trains on the generation's first step (``--tasks`` × ``--group`` episodes): the
policy's per-token log-probabilities through TRL's fused head, a loss over the model's tokens,
and its backward pass through the LoRA, each in a fresh process (so that its peak memory is
its own). The log-probabilities of every layout are compared with TRL's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tables import table  # bench/tables.py, beside this script

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ENVS = ("calls", "math", "logic", "store", "code")
LAYOUTS = {
    "padded": "TRL: padded to the generation, the step's episodes together",
    "cut": "cut to the batch's own length, the step's episodes together",
    "one": "cut, one episode per pass (micro_batch 1)",
}


def sample(args, path: Path) -> None:
    """One generation of episodes by the mirror of the starting model, written to ``path``."""
    import numpy as np

    from bslm.train.rl.batched import equip, play_together
    from bslm.train.rl.envs import interleaved_tasks
    from bslm.train.rl.mirror import LlamaMirror
    from bslm.train.rl.policy import load_policy

    model, tok = load_policy(args.model, seed=0)
    tasks = interleaved_tasks(ENVS, args.tasks * args.steps, seed=0)
    jobs = [{"task": t, "prefix": 0} for t in tasks for _ in range(args.group)]
    with tempfile.TemporaryDirectory() as tmp:
        mirror = LlamaMirror(tok, Path(tmp), quant="q8_0", every=1, batch=len(jobs))
        try:
            mirror.sync(model, 0)
            played = play_together(
                mirror.batched,
                tok,
                equip(jobs, np.random.default_rng(0)),
                mode="hard",
                temperature=1.0,
                max_turn_tokens=64,
                max_tokens=256,
            )
        finally:
            mirror.close()
    episodes = [
        {"prompt": s.prompt_ids, "completion": s.completion_ids or [tok.eot_id],
         "mask": s.env_mask or [1]}
        for _, s in played
    ]  # fmt: skip
    path.write_text(json.dumps(episodes))


def measure(args, layout: str, path: Path) -> dict:
    """Train ``repeat`` times on the generation's first step in ``layout``; the last
    ``repeat - 1`` are timed (the first warms up)."""
    import torch
    from trl import GRPOTrainer
    from trl.trainer import add_fused_lm_head

    from bslm.train.rl.grpo import episode_scorer, unpadded_span
    from bslm.train.rl.policy import load_policy

    torch.set_num_threads(os.cpu_count() or 1)
    episodes = json.loads(path.read_text())
    model, _ = load_policy(args.model, seed=0)
    model.train()
    add_fused_lm_head(model.get_base_model(), temperature=1.0, outputs=("log_probs", "entropy"))
    trainer = episode_scorer()
    # TRL's layout of the generation: prompts padded on the left, completions on the right
    width_p = max(len(e["prompt"]) for e in episodes)
    width_c = max(len(e["completion"]) for e in episodes)
    ids = torch.zeros(len(episodes), width_p + width_c, dtype=torch.long)
    attention = torch.zeros_like(ids)
    scored = torch.zeros(len(episodes), width_c)
    for i, e in enumerate(episodes):
        p, c = e["prompt"], e["completion"]
        ids[i, width_p - len(p) : width_p] = torch.tensor(p)
        ids[i, width_p : width_p + len(c)] = torch.tensor(c)
        attention[i, width_p - len(p) : width_p + len(c)] = 1
        scored[i, : len(c)] = torch.tensor(e["mask"], dtype=torch.float)
    step = args.tasks * args.group
    ids, attention, scored = ids[:step], attention[:step], scored[:step]
    total = scored.sum()

    def logps(rows: slice, batch: int):
        if layout == "padded":
            return GRPOTrainer._get_per_token_logps_and_entropies(
                trainer, model, ids[rows], attention[rows], width_c, batch, compute_entropy=True
            )[0]
        return trainer._get_per_token_logps_and_entropies(
            model, ids[rows], attention[rows], width_c, batch, compute_entropy=True
        )[0]

    batches = [slice(i, i + 1) for i in range(step)] if layout == "one" else [slice(0, step)]
    computed = 0  # positions run through the model, padding included
    for rows in batches:
        lo, hi = unpadded_span(attention[rows], width_c)
        width = ids.size(1) if layout == "padded" else hi - lo
        computed += width * (rows.stop - rows.start)
    seconds, kept = [], None
    for r in range(args.repeat):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        parts = []
        for rows in batches:
            lp = logps(rows, rows.stop - rows.start)
            (-(lp * scored[rows]).sum() / total).backward()
            parts.append(lp.detach())
        if r:
            seconds.append(time.perf_counter() - t0)
        kept = torch.cat(parts)
    tokens = int(attention.sum())
    return {
        "seconds": sum(seconds) / len(seconds),
        "tokens": tokens,
        "computed": computed,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "logps": [row[m.bool()].tolist() for row, m in zip(kept, scored, strict=True)],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default", help="starting model, as GRPO's `model`")
    ap.add_argument("--tasks", type=int, default=2, help="tasks per step")
    ap.add_argument("--group", type=int, default=4, help="rollouts per task")
    ap.add_argument("--steps", type=int, default=4, help="steps per generation")
    ap.add_argument("--repeat", type=int, default=3, help="passes per layout (the first warms up)")
    ap.add_argument("--layout", choices=LAYOUTS, help=argparse.SUPPRESS)  # one, in a child
    ap.add_argument("--episodes", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeat < 2:
        ap.error("--repeat must be at least 2 (the first pass warms up)")
    if args.layout:
        print(json.dumps(measure(args, args.layout, Path(args.episodes))))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "episodes.json"
        t0 = time.perf_counter()
        sample(args, path)
        print(f"{os.cpu_count()} CPU cores; {args.model} model; one generation of "
              f"{args.steps} steps x {args.tasks} tasks x {args.group} rollouts sampled in "
              f"{time.perf_counter() - t0:.0f} s; a step's episodes trained {args.repeat - 1} "
              "times after a warm-up")  # fmt: skip
        results = {}
        for layout in LAYOUTS:
            child = [sys.executable, __file__, "--layout", layout, "--episodes", str(path),
                     "--model", args.model, "--tasks", str(args.tasks), "--group",
                     str(args.group), "--repeat", str(args.repeat)]  # fmt: skip
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout
            results[layout] = json.loads(out.strip().splitlines()[-1])
    base = results["padded"]
    rows = []
    for layout, r in results.items():
        diff = max(
            (abs(a - b) for x, y in zip(r["logps"], base["logps"], strict=True)
             for a, b in zip(x, y, strict=True)),
            default=0.0,
        )  # fmt: skip
        rows.append([
            LAYOUTS[layout], r["tokens"], r["computed"],
            f"{r['seconds']:.1f}", f"{r['tokens'] / r['seconds']:.0f}",
            f"{base['seconds'] / r['seconds']:.2f}", f"{r['peak_mib']:.0f}", f"{diff:.1e}",
        ])  # fmt: skip
    table(
        "A GRPO step's forward and backward pass",
        ["layout", "tokens", "positions computed", "seconds", "tok/s", "× TRL", "peak RSS MiB",
         "max |Δ logprob| vs TRL"],
        rows,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
