"""SFT throughput on the real data mix: tokens/s and examples/s of LoRA training steps (r16 on
every linear layer, the tool rows trainable) for each way of batching and each text vocabulary,
beside the machine's fp32 matmul roofline, side by side in one run.

    python bench/sft_throughput.py [--data data/train.jsonl] [--examples 32] [--configs A,B]

Configurations, from the first CPU runs' (full vocabulary, padded batches of 4, LoRA dropout,
activations recomputed) to the long run's, one change at a time. Batching: ``padded`` is batches
of 4 in data order, padded to their longest; ``single`` is one example per step (no padding at
all, gradient accumulation makes the batch). Every configuration trains on the same examples;
tokens count only real ones. bfloat16 pays where the CPU multiplies bfloat16 natively
(AVX512-BF16 or AMX); elsewhere it can be slower than fp32.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def roofline(n: int = 1024, reps: int = 20) -> float:
    """fp32 GFLOP/s of a square matmul on all threads."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def sample_features(tok, path: str, n: int, max_len: int, seed: int = 0) -> list[dict]:
    """``n`` encoded examples drawn evenly from the three stages."""
    from bslm.train.data.jsonl import read_jsonl
    from bslm.train.sft import encode_records

    records = read_jsonl(path)
    rng = random.Random(seed)
    rng.shuffle(records)
    out: list[dict] = []
    for stage in (1, 2, 3):
        part = [r for r in records if r.get("stage", 3) == stage][: 4 * n]
        feats, _ = encode_records(tok, part, max_len)
        out += feats[: n // 3 + (1 if stage <= n % 3 else 0)]
    rng.shuffle(out)
    return out


def batches(feats: list[dict], how: str, size: int = 4) -> list[list[dict]]:
    if how == "single":
        return [[f] for f in feats]
    return [feats[i : i + size] for i in range(0, len(feats), size)]


def measure(model, collate, feats: list[dict], how: str, warmup: int = 1) -> dict:
    import torch

    from bslm.train.sft import batch_loss

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)
    model.train()
    plan = batches(feats, how)
    for b in plan[:warmup]:
        batch_loss(model, collate(b)).backward()
        opt.step()
        opt.zero_grad()
    tokens = padded = 0
    t0 = time.perf_counter()
    for b in plan:
        batch = collate(b)
        batch_loss(model, batch).backward()
        opt.step()
        opt.zero_grad()
        tokens += int(batch["attention_mask"].sum())
        padded += batch["input_ids"].numel()
    dt = time.perf_counter() - t0
    return {
        "tok/s": tokens / dt,
        "ex/s": len(feats) / dt,
        "padding": 1 - tokens / padded,
        "seconds": dt,
        "tokens": tokens,
    }


CONFIGS = {
    # the first CPU runs: full vocabulary, padded batches of 4, LoRA dropout, activations
    # recomputed in the backward pass (TRL's default)
    "before": ("gemma-3-270m", "padded", 0.05, True, False, False),
    "pruned vocabulary": ("gemma-3-270m@48k", "padded", 0.05, True, False, False),
    "+ no recompute and no dropout": ("gemma-3-270m@48k", "padded", 0.0, False, False, False),
    "+ one example per step": ("gemma-3-270m@48k", "single", 0.0, False, False, False),
    # bfloat16 autocast, the frozen matrices stored in bfloat16 (the long run's `bf16: true`)
    "+ bfloat16": ("gemma-3-270m@48k", "single", 0.0, False, True, False),
    # the tool rows looked up and multiplied apart from the frozen ones (`tool_rows_apart`)
    "+ tool rows apart (after)": ("gemma-3-270m@48k", "single", 0.0, False, True, True),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/train.jsonl")
    ap.add_argument("--examples", type=int, default=32)
    ap.add_argument("--max-len", type=int, default=1024)
    ap.add_argument("--configs", default=",".join(CONFIGS), help="names from CONFIGS")
    args = ap.parse_args(argv)

    import torch

    from bslm.models.build import fresh_model
    from bslm.train.sft import WeightedCollator, frozen_in_bfloat16, new_adapter, tool_rows_apart

    torch.manual_seed(0)
    peak = roofline()
    print(f"fp32 matmul roofline: {peak:.1f} GFLOP/s on {torch.get_num_threads()} threads\n")
    print("| configuration | output rows | batching | padding | tok/s | ex/s | x before |")
    print("|---|---:|---|---:|---:|---:|---:|")
    first = None
    loaded: dict = {}
    for name in args.configs.split(","):
        base, how, dropout, recompute, bf16, apart = CONFIGS[name]
        if base not in loaded:
            loaded.clear()
            loaded[base] = fresh_model(base)
        model, tok = loaded[base]
        peft = new_adapter(model, tok, dropout=dropout)
        if recompute:
            peft.gradient_checkpointing_enable({"use_reentrant": False})
            peft.enable_input_require_grads()
        feats = sample_features(tok, args.data, args.examples, args.max_len)
        collate = WeightedCollator(tok.base.pad_token_id or 0, 1.0, 1.0)
        if apart:
            tool_rows_apart(peft)
        if bf16:
            frozen_in_bfloat16(peft)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            r = measure(peft, collate, feats, how)
        first = first or r["ex/s"]
        print(
            f"| {name} | {len(tok)} | {how} | {100 * r['padding']:.0f} % | "
            f"{r['tok/s']:.0f} | {r['ex/s']:.3f} | {r['ex/s'] / first:.2f} |",
            flush=True,
        )
        if recompute:
            peft.gradient_checkpointing_disable()
        base_model = peft.unload()
        if bf16:
            base_model.float()
        loaded[base] = (base_model, tok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
