"""Export parity: every export format against PyTorch on the same greedy decoding.

PyTorch (float32) decodes N tokens greedily after each prompt (a chat question, a request with
tools on offer, a request for a text answer, and a long text whose generation runs past the
sliding window); each export is fed the same ids through its runtime backend, and the table
shows the export's size and time, the largest |Δlogit| over all steps, how often its top-1 token
is PyTorch's and, where it is not, how close PyTorch's own top two were. The row "pytorch, f16
weights" is PyTorch again with every weight rounded to float16: the error any f16 format starts
from, before its own arithmetic.

    python bench/export_parity.py                 # the default model (builds it when missing)
    python bench/export_parity.py --tiny          # the tiny random model, in about a minute
    python bench/export_parity.py --model DIR --tokens 64 --formats gguf:q8_0,onnx:int8
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

FORMATS = ("gguf:f32", "gguf:f16", "gguf:q8_0", "gguf:q4_k_m", "onnx:fp32", "onnx:int8")


def _flips(stats) -> str:
    return f"{max(stats.flip_margins):.3f}" if stats.flip_margins else "-"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="bslm model directory")
    ap.add_argument("--tiny", action="store_true", help="the tiny random model instead")
    ap.add_argument("--tokens", type=int, default=32, help="greedy tokens per prompt")
    ap.add_argument("--formats", default=",".join(FORMATS), help="comma-separated FORMAT:QUANT")
    ap.add_argument("--out", type=Path, default=None, help="keep the exports in this directory")
    args = ap.parse_args(argv)

    from bslm.export.gguf import export_gguf
    from bslm.export.onnx import export_onnx
    from bslm.export.parity import compare, parity_prompts, reference_runs
    from bslm.export.source import load_source
    from bslm.models.build import save_model
    from bslm.models.torch_backend import TorchBackend
    from bslm.runtime.backends import open_backend

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    work = Path(args.out or tempfile.mkdtemp(prefix="bslm-parity-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.tiny:
        from bslm.models.tiny import build_tiny

        model, tok = build_tiny()
        model_dir = save_model(model, tok, work / "tiny", force=True)
        name = "tiny (random Gemma 3, 6 layers, window 32)"
    else:
        src = load_source(args.model, say)
        model, tok = src.load()
        model_dir = src.path
        name = str(src.path)
    window = getattr(model.config, "sliding_window", None)
    prompts = parity_prompts(tok, window, args.tokens)
    say(
        f"PyTorch reference: {len(prompts)} prompts ({[len(p) for p in prompts]} tokens), "
        f"{args.tokens} greedy tokens each..."
    )
    t0 = time.perf_counter()
    runs = reference_runs(TorchBackend(model, tok), prompts, args.tokens)
    ref_s = time.perf_counter() - t0
    ref_mb = sum(p.numel() * 4 for p in model.parameters()) / 1e6
    rows = [("pytorch fp32", f"{ref_mb:.1f}", "-", "0", "100.0 %", "-", f"{ref_s:.1f}")]
    import torch

    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    t0 = time.perf_counter()
    stats = compare(TorchBackend(model, tok), runs)
    rows.append(
        (
            "pytorch, f16 weights",
            f"{ref_mb / 2:.1f}",
            "-",
            f"{stats.max_abs:.2e}",
            f"{100 * stats.top1:.1f} %",
            _flips(stats),
            f"{time.perf_counter() - t0:.1f}",
        )
    )
    del model
    for spec in args.formats.split(","):
        fmt, _, quant = spec.strip().partition(":")
        target = work / (f"model.{quant}.gguf" if fmt == "gguf" else f"model.{quant}.onnx")
        say(f"exporting {fmt} {quant}...")
        if fmt == "gguf":
            summary = export_gguf(model_dir, target, quant, force=True, say=say)
        else:
            summary = export_onnx(model_dir, target, quant, force=True, say=say)
        backend = open_backend(target)
        t0 = time.perf_counter()
        stats = compare(backend, runs)
        run_s = time.perf_counter() - t0
        backend.close()
        rows.append(
            (
                f"{fmt} {quant}",
                f"{summary.size / 1e6:.1f}",
                f"{summary.seconds:.1f}",
                f"{stats.max_abs:.2e}",
                f"{100 * stats.top1:.1f} %",
                _flips(stats),
                f"{run_s:.1f}",
            )
        )

    steps = len(prompts) * (args.tokens + 1)
    print(f"\nExport parity: {name}")
    print(
        f"{len(prompts)} prompts of {[len(p) for p in prompts]} tokens (sliding window "
        f"{window}), {args.tokens} greedy tokens each: {steps} compared steps"
    )
    print(
        "widest flip: PyTorch's lead of its top-1 over its top-2 logit at the steps where the "
        "export's top-1 differs (a near-tie when small)\n"
    )
    head = ("format", "size MB", "export s", "max |Δlogit|", "top-1 agree", "widest flip", "eval s")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
