"""Base-model load times: the first load (de-quantize the shipped GGUF, save a checkpoint) and
every later load (the cached checkpoint), with a fresh cache so the first load is real.

    python bench/base_load.py [--bases gemma-3-270m,smollm2-135m]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bases", default="gemma-3-270m,smollm2-135m")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["BSLM_CACHE"] = cache
        from bslm.models.bases import base_checkpoint, load_base

        print("| base | params | first load: GGUF -> checkpoint (s) | cached load (s) |")
        print("|---|---:|---:|---:|")
        for name in args.bases.split(","):
            t0 = time.perf_counter()
            base_checkpoint(name)
            first = time.perf_counter() - t0
            t0 = time.perf_counter()
            model, _ = load_base(name)
            cached = time.perf_counter() - t0
            n = sum(p.numel() for p in model.parameters())
            print(f"| {name} | {n / 1e6:.1f}M | {first:.1f} | {cached:.1f} |", flush=True)
            del model
    return 0


if __name__ == "__main__":
    sys.exit(main())
