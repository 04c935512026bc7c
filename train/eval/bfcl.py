"""BFCL (Berkeley Function Calling Leaderboard) data, read from the ``bfcl-eval`` package.

For evaluation and measurement only: nothing here may feed training data.
BFCL writes schemas in a Python-flavoured dialect (``dict``, ``float``, ``tuple``, ``any``);
``to_json_schema`` maps it onto JSON Schema. ``eval_items`` gives each item's prompt (chat
messages and tools), ``load_answers`` its ground truth for ``bslm.train.eval.checker.check``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import util
from pathlib import Path

from bslm.models.tools import ToolSpec
from bslm.train.config import ConfigError

# The Python categories scored by the AST checker or by relevance alone.
CATEGORIES = (
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "irrelevance",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
    "live_irrelevance",
    "live_relevance",
)
# BFCL's non-live score is the unweighted mean of these four.
NON_LIVE = ("simple_python", "multiple", "parallel", "parallel_multiple")

_TYPE_MAP = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "list": "array",
    "int": "integer",
    "str": "string",
    "bool": "boolean",
}


def data_dir() -> Path:
    """Raises RuntimeError when bfcl-eval is not installed."""
    spec = util.find_spec("bfcl_eval")
    if spec is None:
        raise ConfigError("BFCL data needs the bfcl-eval package: pip install --no-deps bfcl-eval")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _read_lines(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_category(category: str) -> list[dict]:
    """Items of ``BFCL_v4_<category>.json`` (one JSON object per line). Raises ValueError for an
    unknown category, RuntimeError when bfcl-eval is not installed."""
    path = data_dir() / f"BFCL_v4_{category}.json"
    if not path.is_file():
        raise ConfigError(f"no BFCL category {category!r} ({path.name} not found)")
    return _read_lines(path)


def load_answers(category: str) -> dict[str, list[dict]]:
    """Ground truth by item id: a list of ``{function_name: {param: [acceptable values]}}``,
    one per expected call. Categories scored by relevance alone have none: ``{}``. Raises
    ValueError for an unknown category, RuntimeError when bfcl-eval is not installed."""
    path = data_dir() / "possible_answer" / f"BFCL_v4_{category}.json"
    if not path.is_file():
        if not (data_dir() / f"BFCL_v4_{category}.json").is_file():
            raise ConfigError(f"no BFCL category {category!r} ({path.name} not found)")
        return {}
    return {entry["id"]: entry["ground_truth"] for entry in _read_lines(path)}


@dataclass(frozen=True)
class EvalItem:
    """One BFCL item as a prompt: the chat ``messages`` and ``tools`` the model sees, and the
    BFCL ``functions`` (schemas in BFCL's dialect) the checker scores against."""

    id: str
    messages: list[dict]
    tools: list[ToolSpec]
    functions: list[dict]


def item_prompt(item: dict) -> tuple[list[dict], list[ToolSpec]]:
    """The messages of the item's first turn (its system messages stay system messages) and
    its functions as ToolSpecs."""
    turn = item["question"][0] if item.get("question") else []
    messages = [{"role": m["role"], "content": m.get("content") or ""} for m in turn]
    return messages, [function_spec(fn) for fn in item.get("function", [])]


def eval_items(category: str, limit: int | None = None) -> list[EvalItem]:
    """The first ``limit`` items of a category (all by default) as prompts. Raises like
    ``load_category``."""
    items = load_category(category)[:limit]
    return [EvalItem(it["id"], *item_prompt(it), it.get("function", [])) for it in items]


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
