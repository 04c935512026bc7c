"""SFT on the CPU in one process or in several side by side (``processes``), as the long run
trains: the same updates of the same examples (batch 1, 8 examples an update, bfloat16, the
pruned vocabulary), each configuration a real ``bslm train sft`` run, its examples/s as the
trainer counts them (first update excluded: it warms up).

    python bench/sft_processes.py [--data data/train.jsonl] [--stage 3] [--updates 5]
                                  [--processes 1,2:dealt,2]

A process count alone shares each update's examples by length (``balance``, the default);
``N:dealt`` deals them out in the shuffled order, whatever their lengths.

A training step on two cores keeps one of them busy most of the time (the small operations
of a 270M model and the backward pass run in one thread); two processes of one thread each,
each on half of an update's examples, keep both busy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def run(data: str, stage: int, updates: int, processes: int, balance: bool, out: Path) -> dict:
    bslm = Path(sys.executable).with_name("bslm")
    argv = [
        f"data={data}",
        f"out={out}",
        "model=gemma-3-270m@48k",
        f"stages=[{stage}]",
        f"max_steps=[{updates}]",
        f"max_examples={8 * updates}",  # the same examples, in the same order
        "batch_size=1",
        "grad_accum=8",
        "use_cpu=true",
        "bf16=true",
        "lora_dropout=0.0",
        "max_len=1024",
        "logging_steps=1",
        "save_steps=100000",
        f"processes={processes}",
        f"balance={str(balance).lower()}",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    done = subprocess.run(
        [str(bslm), "train", "sft", *argv],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    said = re.search(r"'train_runtime': '([0-9.]+)'", done.stdout + done.stderr)
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    return {"seconds": float(said.group(1)), "losses": [r["loss"] for r in log]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/train.jsonl")
    ap.add_argument("--stage", type=int, default=3)
    ap.add_argument("--updates", type=int, default=5)
    ap.add_argument("--processes", default="1,2:dealt,2")
    args = ap.parse_args(argv)
    print(f"stage {args.stage}, {args.updates} updates of 8 examples, {os.cpu_count()} cores\n")
    print(
        "| processes | threads each | examples shared | s/update | examples/s | × first "
        "| losses (the same updates) |"
    )
    print("|---:|---:|---|---:|---:|---:|---|")
    first = None
    for spec in args.processes.split(","):
        count, _, how = spec.partition(":")
        n, balance = int(count), how != "dealt"
        with tempfile.TemporaryDirectory() as tmp:
            r = run(args.data, args.stage, args.updates, n, balance, Path(tmp))
        per = r["seconds"] / args.updates
        first = first or per
        threads = max(1, (os.cpu_count() or 1) // n)
        losses = " ".join(f"{x:.3f}" for x in r["losses"])
        shared = "—" if n == 1 else ("by length" if balance else "dealt in order")
        print(
            f"| {n} | {threads} | {shared} | {per:.2f} | {8 / per:.3f} | {first / per:.2f} "
            f"| {losses} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
