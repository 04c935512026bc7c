"""BFCL (Berkeley Function Calling Leaderboard) data, read from the ``bfcl-eval`` package.

For evaluation and measurement only: nothing here may feed training data.
BFCL writes schemas in a Python-flavoured dialect (``dict``, ``float``, ``tuple``, ``any``);
``to_json_schema`` maps it onto JSON Schema.
"""

from __future__ import annotations

import json
from importlib import util
from pathlib import Path

from bslm.models.tools import ToolSpec

_TYPE_MAP = {"dict": "object", "float": "number", "tuple": "array", "list": "array", "int": "integer",
             "str": "string", "bool": "boolean"}  # fmt: skip


def data_dir() -> Path:
    """Raises RuntimeError when bfcl-eval is not installed."""
    spec = util.find_spec("bfcl_eval")
    if spec is None:
        raise RuntimeError("BFCL data needs the bfcl-eval package: pip install --no-deps bfcl-eval")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_category(category: str) -> list[dict]:
    """Items of ``BFCL_v4_<category>.json`` (one JSON object per line)."""
    path = data_dir() / f"BFCL_v4_{category}.json"
    if not path.is_file():
        raise ValueError(f"no BFCL category {category!r} ({path.name} not found)")
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def to_json_schema(s):
    """BFCL's schema dialect -> JSON Schema (recursively)."""
    if isinstance(s, list):
        return [to_json_schema(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k == "type" and isinstance(v, str):
            if v == "any":
                continue
            out[k] = _TYPE_MAP.get(v, v)
        elif k == "properties" and isinstance(v, dict):
            out[k] = {name: to_json_schema(sub) for name, sub in v.items()}
        elif k in ("items", "anyOf", "oneOf", "additionalProperties"):
            out[k] = to_json_schema(v)
        else:
            out[k] = v
    return out


def function_spec(fn: dict) -> ToolSpec:
    params = to_json_schema(fn.get("parameters", {"type": "dict", "properties": {}}))
    return ToolSpec(fn["name"], fn.get("description"), params)
