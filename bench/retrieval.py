"""Tool retrieval: recall@k of the right tools among many, for BM25, embeddings and both.

    python bench/retrieval.py [--pools 100,444] [--test 600] [--methods bm25,embedding,hybrid]

Queries are the first user request of each example with calls in bslm's generated test splits
(``test_seen`` and ``test_unseen``, made in-process, ~1 s); the right tools are the ones the
gold answer calls for that request. A pool of N tools holds the example's right tools plus
seeded random others from the 444-tool catalog (``train/data/catalog.py``). recall@k is the share
of the right tools among the k best; "all@k" the share of requests whose right tools are all
there. ms/query is the time to score one request against the whole catalog's index and rank
the pool (the encoder on ``--threads`` threads, 1 by default: the model decodes beside it);
"index s" is the time to index the whole catalog.
"""

from __future__ import annotations

import argparse
import sys
import time
from random import Random


def requests(test: int, seed: int = 0) -> list[tuple[str, set[str]]]:
    """``(first user request, tools its answer calls)`` from the generated test splits."""
    from bslm.train.data.synthesis import DataConfig, synthesize

    cfg = DataConfig(stage1=0, stage2=0, stage3=0, test=test, seed=seed, progress=False)
    out = []
    for split in ("test_seen", "test_unseen"):
        for record in synthesize(cfg)[split]:
            msgs = record["messages"]
            first = next(i for i, m in enumerate(msgs) if m["role"] == "user")
            gold = set()
            for m in msgs[first + 1 :]:
                if m["role"] == "user":
                    break
                gold |= {c["function"]["name"] for c in m.get("tool_calls") or []}
            if gold:
                out.append((msgs[first]["content"], gold))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pools", default="100,444", help="pool sizes (444: the whole catalog)")
    ap.add_argument("--test", type=int, default=600, help="examples per test split")
    ap.add_argument("--methods", default="bm25,embedding,hybrid")
    ap.add_argument("--ks", default="5,10,20")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the encoder")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)

    from bslm.runtime.retrieval import RETRIEVERS, Encoder, top_k
    from bslm.train.data.catalog import catalog

    tools = [t.spec for t in catalog(0)]
    by_name = {s.name: i for i, s in enumerate(tools)}
    reqs = requests(args.test)
    ks = [int(k) for k in args.ks.split(",")]
    print(f"{len(reqs)} requests with calls, {len(tools)} catalog tools\n")
    header = " | ".join(f"recall@{k}" for k in ks) + " | " + " | ".join(f"all@{k}" for k in ks)
    print(f"| method | pool | {header} | ms/query | index s |")
    print("|---|---:|" + "---:|" * (2 * len(ks) + 2))
    encoder = None
    for method in args.methods.split(","):
        if method != "bm25" and encoder is None:
            encoder = Encoder()
        cls = RETRIEVERS[method]
        t0 = time.perf_counter()
        full = cls(tools) if method == "bm25" else cls(tools, encoder)
        index_s = time.perf_counter() - t0
        for pool in (int(p) for p in args.pools.split(",")):
            hits = {k: 0 for k in ks}
            alls = {k: 0 for k in ks}
            n_gold, elapsed = 0, 0.0
            for j, (query, gold) in enumerate(reqs):
                ids = [by_name[g] for g in gold]
                rng = Random(f"pool:{pool}:{j}")
                others = [i for i in range(len(tools)) if i not in ids]
                members = sorted(ids + rng.sample(others, max(0, min(pool, len(tools)) - len(ids))))
                t0 = time.perf_counter()
                scores = full.scores(query)[members]
                ranked = top_k(_Fixed(scores), query, max(ks))
                elapsed += time.perf_counter() - t0
                found = [members[i] for i in ranked]
                n_gold += len(ids)
                for k in ks:
                    got = len(set(ids) & set(found[:k]))
                    hits[k] += got
                    alls[k] += got == len(ids)
            rec = " | ".join(f"{hits[k] / n_gold:.3f}" for k in ks)
            whole = " | ".join(f"{alls[k] / len(reqs):.3f}" for k in ks)
            ms = 1000 * elapsed / len(reqs)
            print(f"| {method} | {pool} | {rec} | {whole} | {ms:.2f} | {index_s:.1f} |", flush=True)
    return 0


class _Fixed:
    """Scores already computed (the pool's rows of the whole catalog's scores)."""

    def __init__(self, scores):
        self._s = scores

    def scores(self, query: str):
        return self._s


if __name__ == "__main__":
    sys.exit(main())
