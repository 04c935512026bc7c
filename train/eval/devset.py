"""The development set: hand-written everyday requests against real MCP servers, each with its
gold decision, the set checkpoints are chosen with.

    python -m bslm.train.eval.devset            # rebuild assets/dev.jsonl and print its composition
    python -m bslm.train.eval.devset --check    # fail when assets/dev.jsonl is not what the source builds
    bslm eval --suite dev                  # score a model on it

Three files under ``train/assets/``:

- ``dev_tools.json``: the tool lists (name, description, input and output schema) of bslm's
  demo server, ``mcp-server-time``, ``mcp-server-sqlite`` and ``mcp-server-git``, captured by
  running each server through the MCP client (``python tests/runtime/test_devset_tools.py``).
- ``dev_requests.yaml``: the items, written by hand, never drawn from the data generator: a
  user's request (or a short conversation), the tools on offer (one server's, or ``crowd``:
  about twenty tools of several servers and a few more written here), and the gold turn: the
  call(s) with exact arguments, or a text answer and no call.
- ``dev.jsonl``: the records built from both, in the generator's format (``id``, ``stage``,
  ``kind``, ``split: "dev"``, ``domain``, ``tools``, ``messages``, ``rules``), the gold
  assistant turn last. Tools are written as the model sees them (prompts drop ``title`` and the
  like); tool results as the runtime shows them (JSON text, plus structured content where the
  tool declares an output schema).

Kinds: ``call`` (one call), ``multi`` (several independent requests, that many calls in one
turn), ``text`` (small talk, knowledge, creative requests: answer, no call), ``none`` (a task no
tool on offer can do: say so), ``ask`` (a detail is missing: ask for it), ``stop`` (the result
is in: answer from it, no further call), ``chain`` (the result is in and another call is due).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date
from pathlib import Path

import yaml

from bslm.models.chat import chat_items, parse_chat
from bslm.models.tools import ToolSpec, to_openai_tool
from bslm.train.data.jsonl import read_jsonl, write_jsonl
from bslm.train.data.synthesis import check_record
from bslm.train.data.values import MONTHS, WEEKDAYS

ASSETS = Path(__file__).parents[1] / "assets"  # train/assets
TOOLS_FILE = ASSETS / "dev_tools.json"
SOURCE_FILE = ASSETS / "dev_requests.yaml"
RECORDS_FILE = ASSETS / "dev.jsonl"
SERVERS = ("demo", "time", "sqlite", "git")
KINDS = ("call", "multi", "text", "none", "ask", "stop", "chain")
GOLD_KEYS = ("call", "calls", "answer")


def load() -> list[dict]:
    """The committed development set (``assets/dev.jsonl``)."""
    return read_jsonl(RECORDS_FILE)


def captured_tools(path: Path = TOOLS_FILE) -> dict[str, list[ToolSpec]]:
    """Each server's captured tools, by server name."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {name: [spec_of(t) for t in server["tools"]] for name, server in data.items()}


def spec_of(tool: dict) -> ToolSpec:
    """A tool written MCP-style (``name``, ``description``, ``inputSchema``, ``outputSchema``)."""
    extra = {"output_schema": tool["outputSchema"]} if "outputSchema" in tool else {}
    return ToolSpec(tool["name"], tool.get("description"), tool.get("inputSchema"), extra)


def shown(spec: ToolSpec) -> dict:
    """The OpenAI tool dict of ``spec`` as a prompt writes it (keywords prompts drop, such as
    ``title``, left out), so a record survives the chat round trip unchanged."""
    _, [back] = parse_chat(chat_items([], [ToolSpec(spec.name, spec.description, spec.parameters)]))
    return to_openai_tool(back)


def tool_sets(source: dict, captured: dict[str, list[ToolSpec]]) -> dict[str, list[ToolSpec]]:
    """The tools each item may be offered: every server's own list, and ``crowd`` (tools named
    ``server/tool`` picked from the servers, then the source's ``extra_tools``). Raises
    ValueError for a crowd tool no server has."""
    sets = {name: list(specs) for name, specs in captured.items()}
    by_ref = {f"{s}/{t.name}": t for s, specs in captured.items() for t in specs}
    crowd = []
    for ref in source.get("crowd", []):
        if ref not in by_ref:
            raise ValueError(f"crowd tool {ref!r} is not among the captured tools")
        crowd.append(by_ref[ref])
    crowd += [spec_of(t) for t in source.get("extra_tools", [])]
    sets["crowd"] = crowd
    return sets


def date_line(d: date) -> str:
    return f"It is {WEEKDAYS[d.weekday()]} {d.day} {MONTHS[d.month - 1]} {d.year}."


def system_text(item: dict, systems: dict[str, str]) -> str | None:
    """The item's system prompt (a named one from the source, then its date), or None."""
    parts = []
    if item.get("system"):
        if item["system"] not in systems:
            raise ValueError(f"item {item['id']}: unknown system prompt {item['system']!r}")
        parts.append(systems[item["system"]])
    if item.get("date"):
        parts.append(date_line(date.fromisoformat(str(item["date"]))))
    return "\n".join(parts) if parts else None


def _one(entry: dict, what: str, item_id: str) -> tuple[str, object]:
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ValueError(f"item {item_id}: each {what} is a mapping of one tool name to its value")
    return next(iter(entry.items()))


def _calls(turn: dict, item_id: str) -> list[dict]:
    entries = [turn["call"]] if "call" in turn else turn["calls"]
    out = []
    for entry in entries:
        name, args = _one(entry, "call", item_id)
        out.append({"type": "function", "function": {"name": name, "arguments": args or {}}})
    return out


def _results(turn: dict, tools: dict[str, ToolSpec], item_id: str) -> list[dict]:
    """Tool messages as the runtime writes them: a mapping result as indented JSON text, with
    structured content when the tool declares an output schema (a text result then comes as
    ``{"result": text}``, as the MCP SDK wraps it)."""
    error = "error" in turn
    entries = turn["error"] if error else turn["result"]
    out = []
    for entry in entries if isinstance(entries, list) else [entries]:
        name, value = _one(entry, "result", item_id)
        text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
        msg: dict = {"role": "tool", "name": name, "content": text}
        spec = tools.get(name)
        if not error and spec is not None and "output_schema" in spec.extra:
            msg["structured_content"] = value if isinstance(value, dict) else {"result": text}
        if error:
            msg["is_error"] = True
        out.append(msg)
    return out


def messages_of(item: dict, tools: dict[str, ToolSpec]) -> list[dict]:
    """The item's turns as chat messages. Raises ValueError for a turn of no known shape."""
    turns = item.get("turns") or [{"user": item.get("user")}] + [
        {k: item[k]} for k in GOLD_KEYS if k in item
    ]
    out = []
    for turn in turns:
        if "user" in turn:
            out.append({"role": "user", "content": turn["user"]})
        elif "call" in turn or "calls" in turn:
            calls = _calls(turn, item["id"])
            out.append({"role": "assistant", "content": None, "tool_calls": calls})
        elif "answer" in turn:
            out.append({"role": "assistant", "content": turn["answer"]})
        elif "result" in turn or "error" in turn:
            out += _results(turn, tools, item["id"])
        else:
            raise ValueError(f"item {item['id']}: a turn of unknown shape {sorted(turn)}")
    return out


def build_item(item: dict, sets: dict[str, list[ToolSpec]], systems: dict[str, str]) -> dict:
    """One record. Raises ValueError naming the item when it is malformed or its gold is
    invalid (unknown tool, arguments against the schema, a last turn that is not the model's)."""
    iid = item.get("id") or "?"
    if item.get("tools") not in sets:
        raise ValueError(f"item {iid}: tools must be one of {', '.join(sets)}")
    if item.get("kind") not in KINDS:
        raise ValueError(f"item {iid}: kind must be one of {', '.join(KINDS)}")
    specs = sets[item["tools"]]
    if item["tools"] == "crowd":  # the same tools in another order for each item
        specs = list(specs)
        random.Random(iid).shuffle(specs)
    messages = messages_of(item, {s.name: s for s in specs})
    if not messages or messages[-1]["role"] != "assistant":
        raise ValueError(f"item {iid}: the last turn must be the gold (call, calls or answer)")
    # stage as the generator counts: 1 choose (or answer), 2 fill arguments, 3 conversations
    stage = 3 if len(messages) > 2 else (2 if messages[-1].get("tool_calls") else 1)
    system = system_text(item, systems)
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    record = {
        "id": iid,
        "stage": stage,
        "kind": item["kind"],
        "split": "dev",
        "domain": item["tools"],
        "tools": [shown(s) for s in specs],
        "messages": messages,
        "rules": [],
    }
    check_record(record)
    return record


def build(source: dict | None = None, captured: dict | None = None) -> list[dict]:
    """Every record of the source (default: the committed YAML and tool lists). Raises
    ValueError for a malformed item or a repeated id."""
    if source is None:
        source = yaml.safe_load(SOURCE_FILE.read_text(encoding="utf-8"))
    sets = tool_sets(source, captured_tools() if captured is None else captured)
    systems = source.get("systems", {})
    records, seen = [], set()
    for item in source["items"]:
        if item.get("id") in seen:
            raise ValueError(f"item id {item.get('id')!r} is used twice")
        seen.add(item.get("id"))
        records.append(build_item(item, sets, systems))
    return records


def composition(records: list[dict]) -> str:
    """A markdown table: items by tool set (rows) and kind (columns)."""
    counts = Counter((r["domain"], r["kind"]) for r in records)
    domains = list(dict.fromkeys(r["domain"] for r in records))
    kinds = [k for k in KINDS if any(r["kind"] == k for r in records)]
    lines = ["| tools | " + " | ".join(kinds) + " | all |", "|---" * (len(kinds) + 2) + "|"]
    for d in domains + ["all"]:
        row = [
            sum(v for (dd, k), v in counts.items() if k == kind and d in (dd, "all"))
            for kind in kinds
        ]
        lines.append(f"| {d} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="build the development set (train/assets/dev.jsonl)")
    ap.add_argument("--check", action="store_true", help="only check that dev.jsonl is current")
    args = ap.parse_args(argv)
    records = build()
    if args.check:
        if not RECORDS_FILE.exists() or load() != records:
            print(f"{RECORDS_FILE} is stale: run python -m bslm.train.eval.devset")
            return 1
        print(f"{RECORDS_FILE}: {len(records)} records, current")
        return 0
    write_jsonl(RECORDS_FILE, records)
    print(composition(records))
    print(f"wrote {len(records)} records to {RECORDS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
