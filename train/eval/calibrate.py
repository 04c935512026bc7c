"""Choosing the decoder's call threshold (``engine.Help.call_threshold``) on the development set.

A threshold decides one thing per decision: whether the turn opens with a call. So two passes
over the development set give the accuracy of every threshold without decoding again: one
where every turn that can open with a call does (threshold 0), one where none does (a
threshold above 1). Each decision's masked call probability ``p``, recorded in both passes,
says which pass a threshold ``t`` takes: the calling one where ``p >= t``, the other below.
The model's own choice (no threshold) is the calling pass where its top token was the call.

The threshold chosen is the middle of the widest interval of best accuracy among the thresholds
that lose no decision needing a call (kinds ``call``, ``multi``, ``chain``) against the model's
own choice: the help may stop needless calls, never trade needed ones for text. (A model that
gets few calls right would otherwise score best by never calling: a useless agent.) So that
the gain is not read off the same items it was chosen on, the report also gives a two-fold
estimate: the threshold chosen on the even items scored on the odd ones, and the other way
round. ``--off`` adds a pass without the mask, the model's own ability, reported apart. The
passes share one evaluation of each prompt (``journal.evaluate_together``).

    python -m bslm.train.eval.calibrate --model M.gguf [--limit N] [--out DIR] [--off]
    python -m bslm.train.eval.calibrate --reports CALL.json TEXT.json [--write models/default]

``--write ARTIFACT`` records the threshold (and ``--copy-bias``, chosen by its own runs) in the
artifact's ``artifact.json`` as ``decoding``: builds and exports of it carry it
(``bslm.decoding``) and the runtime decodes with it unless told otherwise. A new ``bslm pack``
drops it: a threshold belongs to the weights it was calibrated on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from bslm.models.errors import BslmError

NEVER = 2.0  # a threshold no probability reaches
CALL_KINDS = ("call", "multi", "chain")  # decisions whose right answer opens with a call


def pair(call_report: dict, text_report: dict) -> list[dict]:
    """The development set's items of both passes, side by side: ``{"id", "kind", "tools",
    "p", "own", "call", "text"}`` (``tools``: the item's tool set, "?" in a report without
    them; ``p`` None where no call could open; ``call``/``text``: whether the item came out
    right in each pass)."""
    a = call_report["suites"]["dev"]["items"]
    b = {it["id"]: it for it in text_report["suites"]["dev"]["items"]}
    if len(a) != len(b) or any(it["id"] not in b for it in a):
        raise BslmError("the two reports do not hold the same development items")
    return [
        {
            "id": it["id"],
            "kind": it["kind"],
            "tools": it.get("domain", "?"),  # as ``grouped`` names a missing one
            "p": it.get("call_p"),
            "own": bool(it.get("call_own")),
            "call": it["ok"],
            "text": b[it["id"]]["ok"],
        }
        for it in a
    ]


def right(item: dict, threshold: float | None) -> bool:
    """Whether ``item`` comes out right under ``threshold`` (None: the model's own choice)."""
    if item["p"] is None:
        return item["call"]
    opens = item["own"] if threshold is None else item["p"] >= threshold
    return item["call"] if opens else item["text"]


def accuracy(items: list[dict], threshold: float | None) -> float:
    return 100.0 * sum(right(it, threshold) for it in items) / len(items) if items else 0.0


def candidates(items: list[dict]) -> list[float]:
    """One threshold per interval where the outcome can change: 0, each probability, NEVER."""
    return sorted({0.0, NEVER, *(it["p"] for it in items if it["p"] is not None)})


def needing_a_call(items: list[dict]) -> list[dict]:
    return [it for it in items if it["kind"] in CALL_KINDS]


def calls_kept(items: list[dict], threshold: float) -> bool:
    """Whether ``threshold`` gets right every decision needing a call that the model's own
    choice gets right, in number."""
    needing = needing_a_call(items)
    return sum(right(it, threshold) for it in needing) >= sum(right(it, None) for it in needing)


def choose(items: list[dict]) -> float:
    """The threshold of best accuracy on ``items`` among those that keep the calls
    (``calls_kept``): the middle of the widest best interval."""
    cuts = candidates(items)
    kept = [calls_kept(items, t) for t in cuts]
    scores = [accuracy(items, t) if k else -1.0 for t, k in zip(cuts, kept, strict=True)]
    best = max(scores)
    widest, pick = -1.0, 0.5
    for i, (t, s) in enumerate(zip(cuts, scores, strict=True)):
        if s < best:
            continue
        # the outcome of t holds for every threshold in (previous cut, t]
        lo = cuts[i - 1] if i else 0.0
        hi = min(t, 1.0)
        if hi - lo > widest:
            widest, pick = hi - lo, (lo + hi) / 2 if i else 0.0
    return round(pick, 3)


def two_fold(items: list[dict]) -> float:
    """Accuracy of the threshold chosen on one half, scored on the other (both ways)."""
    even, odd = items[0::2], items[1::2]
    hits = accuracy(odd, choose(even)) * len(odd) + accuracy(even, choose(odd)) * len(even)
    return hits / len(items) if items else 0.0


def grouped(items: list[dict], key: str, missing: str = "?") -> dict[str, list[dict]]:
    """``items`` by their ``key`` (``missing`` where they have none), the groups in order."""
    groups: dict[str, list[dict]] = {}
    for it in items:
        groups.setdefault(it.get(key, missing), []).append(it)
    return dict(sorted(groups.items()))


def by_group(items: list[dict], threshold: float | None, key: str) -> dict[str, float]:
    """Accuracy under ``threshold`` of the items of each ``key`` (their kind, or tool set)."""
    return {k: round(accuracy(v, threshold), 1) for k, v in grouped(items, key).items()}


def report(items: list[dict]) -> dict:
    t = choose(items)
    needing = needing_a_call(items)
    grid = [x / 10 for x in range(11)]
    return {
        "n": len(items),
        "threshold": t,
        "own": round(accuracy(items, None), 2),
        "helped": round(accuracy(items, t), 2),
        "two_fold": round(two_fold(items), 2),
        **{
            name: {"own": by_group(items, None, key), "helped": by_group(items, t, key)}
            for name, key in (("by_kind", "kind"), ("by_tools", "tools"))
        },
        "curve": {f"{x:.1f}": round(accuracy(items, x), 2) for x in grid},
        # accuracy on the decisions that need a call, own choice then along the curve
        "calls_own": round(accuracy(needing, None), 2),
        "calls_curve": {f"{x:.1f}": round(accuracy(needing, x), 2) for x in grid},
    }


def unmasked(off_report: dict) -> dict:
    """What the pass without the mask gives: accuracy, overall, by kind and by tool set."""
    dev = off_report["suites"]["dev"]

    def by(key: str) -> dict[str, float]:
        return {
            k: round(100.0 * sum(it["ok"] for it in v) / len(v), 1)
            for k, v in grouped(dev["items"], key).items()
        }

    return {"accuracy": dev["accuracy"], "by_kind": by("kind"), "by_tools": by("domain")}


def markdown(r: dict) -> str:
    lines = [
        f"call threshold chosen: {r['threshold']} (n={r['n']})",
        "",
        "| decoding | dev accuracy |",
        "|---|---:|",
        f"| hard mask, the model's own choice | {r['own']} |",
        f"| hard mask + call threshold {r['threshold']} | {r['helped']} |",
        f"| hard mask + threshold chosen on the other half (two-fold) | {r['two_fold']} |",
        *([f"| no mask | {r['off']['accuracy']} |"] if "off" in r else []),
        "",
        "| threshold | " + " | ".join(r["curve"]) + " |",
        "|---|" + "---:|" * len(r["curve"]),
        "| accuracy | " + " | ".join(str(v) for v in r["curve"].values()) + " |",
        "| needing a call | " + " | ".join(str(v) for v in r["calls_curve"].values()) + " |",
        "",
        f"decisions needing a call, the model's own choice: {r['calls_own']}",
    ]
    for title, key in (("kind", "by_kind"), ("tools", "by_tools")):
        lines.append("")
        cols = list(r[key]["own"])
        lines += [
            f"| {title} | " + " | ".join(cols) + " |",
            "|---|" + "---:|" * len(cols),
            "| own | " + " | ".join(str(v) for v in r[key]["own"].values()) + " |",
            "| helped | " + " | ".join(str(v) for v in r[key]["helped"].values()) + " |",
        ]
        if "off" in r:
            off = r["off"].get(key, {})
            lines.append("| no mask | " + " | ".join(str(off.get(k, "–")) for k in cols) + " |")
    return "\n".join(lines)


def write_settings(artifact: Path, r: dict, copy_bias: float = 0.0) -> dict:
    """Record ``r``'s threshold (and ``copy_bias``) as the artifact's decoding help."""
    from bslm.models.files import META, write_text

    meta_path = Path(artifact) / META
    if not meta_path.is_file():
        raise BslmError(f"{artifact} is not a packed artifact (no {META})")
    meta = json.loads(meta_path.read_text())
    decoding = {"call_threshold": r["threshold"]}
    if copy_bias:
        decoding["copy_bias"] = copy_bias
    decoding["dev"] = {k: r[k] for k in ("n", "own", "helped", "two_fold")}
    meta["decoding"] = decoding
    write_text(meta_path, json.dumps(meta, indent=2))
    return decoding


def passes(model: str | None, backend: str, limit: int, out: Path, off: bool = False) -> list:
    """Run the two passes, and with ``off`` a third without the mask (the model's own ability,
    reported apart), each prompt evaluated once for all of them (reports written under
    ``out``; a stopped pass continues): [call, text] or [call, text, off]."""
    from bslm.train.eval.journal import evaluate_together
    from bslm.train.eval.suites import EvalConfig

    cfg = EvalConfig(suites=("dev",), model=model, backend=backend, limit=limit)
    cfgs = {
        "call": dataclasses.replace(cfg, call_threshold=0.0),
        "text": dataclasses.replace(cfg, call_threshold=NEVER),
    }
    if off:
        cfgs["off"] = dataclasses.replace(cfg, mask="off")
    paths = [out / f"calibrate-{name}.json" for name in cfgs]
    return evaluate_together(list(cfgs.values()), paths)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bslm.train.eval.calibrate", description=__doc__)
    ap.add_argument("--model", default=None, help="GGUF or model directory (default model)")
    ap.add_argument("--backend", default="llama", help="llama, onnx or torch")
    ap.add_argument("--limit", type=int, default=0, help="development items at most (0: all)")
    ap.add_argument("--reports", nargs=2, metavar=("CALL", "TEXT"), help="reuse two passes")
    ap.add_argument(
        "--off", action="store_true", help="and a pass without the mask (calibrate-off.json)"
    )
    ap.add_argument(
        "--out", default=".", help="directory for the passes' reports (and calibrate.json)"
    )
    ap.add_argument("--write", default=None, help="artifact directory to record the setting in")
    ap.add_argument("--copy-bias", type=float, default=0.0, help="copy bias to record with it")
    args = ap.parse_args(argv)
    try:
        off = None
        if args.reports:
            call, text = (json.loads(Path(p).read_text()) for p in args.reports)
        else:
            call, text, *rest = passes(
                args.model, args.backend, args.limit, Path(args.out), args.off
            )
            off = rest[0] if rest else None
        r = report(pair(call, text))
        if off is not None:
            r["off"] = unmasked(off)
        if not args.reports:  # beside the passes: the report as figures
            from bslm.models.files import write_text

            write_text(Path(args.out) / "calibrate.json", json.dumps(r, indent=1))
        if args.write:
            write_settings(Path(args.write), r, args.copy_bias)
    except (OSError, ValueError, KeyError, BslmError) as e:
        print(f"bslm: error: {e}", file=sys.stderr)
        return 2
    print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
