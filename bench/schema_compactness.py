"""How many tokens a tool schema costs: the tool language vs the same schema as JSON text.

    python bench/schema_compactness.py [--base gemma-3-270m] [--categories simple_python,multiple]

Per category of BFCL schemas (evaluation data, only measured here), and for bslm's own training
catalog: tokens per schema as JSON
(``json.dumps`` of the BFCL function, base tokenizer), in the tool language (prompt form: tool
and text tokens), and the floor set by what must stay text or names: the name, the
descriptions and the parameter names alone.
"""

from __future__ import annotations

import argparse
import json
import sys

from bslm.models.embeddings import dual_tokenizer
from bslm.models.language import tool_items
from bslm.train.eval.bfcl import function_spec, load_category


def floor_text(fn: dict) -> str:
    """Names and descriptions of a function and its parameters, nothing else."""
    parts = [fn["name"], fn.get("description", "")]

    def walk(schema: dict) -> None:
        for name, sub in (schema.get("properties") or {}).items():
            if isinstance(sub, dict):
                parts.extend([name, sub.get("description", "")])
                walk(sub)
                if isinstance(sub.get("items"), dict):
                    walk(sub["items"])

    walk(fn.get("parameters") or {})
    return " ".join(p for p in parts if p)


def measure(tok, functions: list[dict]) -> dict:
    json_n = ours_n = tool_n = floor_n = 0
    for fn in functions:
        json_n += len(tok.encode_text(json.dumps(fn, ensure_ascii=False)))
        ids = tok.encode(tool_items(function_spec(fn), full=False)).ids
        ours_n += len(ids)
        tool_n += sum(map(tok.is_tool, ids))
        floor_n += len(tok.encode_text(floor_text(fn)))
    n = len(functions)
    return {
        "n": n,
        "json": json_n / n,
        "ours": ours_n / n,
        "tool": tool_n / n,
        "floor": floor_n / n,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default="gemma-3-270m")
    ap.add_argument(
        "--categories", default="simple_python,multiple,parallel,live_simple,live_multiple"
    )
    args = ap.parse_args(argv)
    tok = dual_tokenizer(args.base)
    rows, everything = [], []
    for cat in args.categories.split(","):
        fns = [fn for item in load_category(cat) for fn in item["function"]]
        everything += fns
        rows.append((cat, measure(tok, fns)))
    rows.append(("all BFCL", measure(tok, everything)))
    from bslm.models.tools import to_openai_tool
    from bslm.train.data.catalog import catalog

    ours = [to_openai_tool(t.spec)["function"] for t in catalog()]
    rows.append(("bslm catalog", measure(tok, ours)))
    print(f"base tokenizer: {args.base}\n")
    print(
        "| schemas | n | JSON tok/schema | ours tok/schema (tool + text) | ours/JSON | floor tok/schema | floor/JSON |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for cat, m in rows:
        print(
            f"| {cat} | {m['n']} | {m['json']:.1f} | {m['ours']:.1f} ({m['tool']:.1f} + {m['ours'] - m['tool']:.1f}) "
            f"| {m['ours'] / m['json']:.3f} | {m['floor']:.1f} | {m['floor'] / m['json']:.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
