"""Evaluating one model under several masks: each evaluation on its own (each prompt evaluated
once per mask) against ``evaluate_together`` (each prompt evaluated once, then decoded under
every mask while it is still cached), on the default model's GGUF through llama.cpp, the
way the full BFCL categories and the development set are evaluated. Also checks that both
ways take the same decisions.

    python bench/eval_together.py [--model M.gguf] [--suites dev,bfcl:live_multiple] [--limit 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def _figures(m: dict) -> dict:
    return {k: v for k, v in m.items() if k != "seconds"}


def main(argv: list[str] | None = None) -> int:
    from bslm.train.eval.journal import evaluate_kept, evaluate_together
    from bslm.train.eval.suites import EvalConfig

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=None, help="GGUF (default: the default model's)")
    ap.add_argument("--suites", default="dev,bfcl:simple_python,bfcl:live_multiple")
    ap.add_argument("--limit", type=int, default=40, help="items per suite")
    ap.add_argument("--masks", default="hard,off")
    args = ap.parse_args(argv)
    masks = args.masks.split(",")
    rows = []
    for suite in args.suites.split(","):
        cfgs = [
            EvalConfig(suites=(suite,), model=args.model, backend="llama", limit=args.limit, mask=m)
            for m in masks
        ]
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            evaluate_kept(cfgs[0], tmp / "warm.json")  # the file read, the threads started
            t0 = time.perf_counter()
            apart = [evaluate_kept(c, tmp / f"apart-{c.mask}.json") for c in cfgs]
            t1 = time.perf_counter()
            paths = [tmp / f"together-{c.mask}.json" for c in cfgs]
            together = evaluate_together(cfgs, paths)
            t2 = time.perf_counter()
        # every figure and decision of the report, but its time
        same = all(
            _figures(a["suites"][suite]) == _figures(b["suites"][suite])
            for a, b in zip(apart, together, strict=True)
        )
        accs = " / ".join(str(r["suites"][suite]["accuracy"]) for r in together)
        rows.append((suite, together[0]["suites"][suite]["n"], t1 - t0, t2 - t1, accs, same))
    print(f"| suite | items | {' + '.join(masks)} apart, s | together, s | × | accuracy | same |")
    print("|---|---:|---:|---:|---:|---|---|")
    for suite, n, a, b, accs, same in rows:
        print(f"| {suite} | {n} | {a:.1f} | {b:.1f} | {a / b:.2f} | {accs} | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
