"""Evaluation: our held-out suites and BFCL categories, one JSON report and a markdown table.

    bslm eval --suite seen,unseen,bfcl:simple_python --model DIR --limit 50 --out report.json
    bslm eval --suite ... --compare base.json --plot chart.png     # bars: this run vs others

Suites: ``seen`` / ``unseen`` (the generator's test splits: training tools with held-out
phrasings / tools never trained on), ``multistep``, ``irrelevance``, ``rules`` (system-prompt
adherence), ``dev`` (the hand-written development set, ``devset.py``, the one to choose
checkpoints with: each item's last turn is its one decision, also scored by tool set and kind),
and ``bfcl:<category>`` scored by ``checker.check`` (BFCL's AST rules). Every
decision is taken with the gold history before it (teacher forcing). ``env:<name>`` plays the
held-out tasks of a tool environment (``train/rl/envs``) to the end: the model's own calls, the
environment's results, the final check.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bslm.models.chat import as_spec
from bslm.models.choice import MASKS
from bslm.models.files import write_text
from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall, from_openai_call
from bslm.train.config import ConfigError
from bslm.train.rl.rewards import call_validity

OUR_SUITES = ("seen", "unseen", "multistep", "irrelevance", "rules", "dev")


@dataclass(frozen=True)
class EvalConfig:
    suites: tuple[str, ...] = field(default=("seen", "unseen"), metadata={"help": "suites to run"})
    model: str | None = field(
        default=None, metadata={"help": "bslm model dir (default: the default model) or 'tiny'"}
    )
    data: str = field(
        default="data", metadata={"help": "directory with test_seen.jsonl and test_unseen.jsonl"}
    )
    limit: int = field(default=0, metadata={"help": "items per suite at most (0: all)"})
    mask: str = field(
        default="hard", metadata={"help": "constrained decoding: hard (as the runtime), soft, off"}
    )
    max_new_tokens: int = field(default=128, metadata={"help": "tokens per decision at most"})
    call_threshold: float | None = field(
        default=None,
        metadata={
            "help": "help: open a call at a turn's first token when its masked probability is "
            "at least this (default: the model's own choice)"
        },
    )
    copy_bias: float = field(
        default=0.0,
        metadata={"help": "help: logit bonus in string values for the conversation's tokens"},
    )
    distractors: int = field(
        default=0, metadata={"help": "catalog tools added to each request's own (our suites)"}
    )
    retrieval: str = field(
        default="none",
        metadata={"help": "narrow the tools to the top-k: none, bm25, embedding, hybrid"},
    )
    top_k: int = field(default=10, metadata={"help": "tools kept by retrieval"})
    backend: str = field(
        default="torch",
        metadata={"help": "torch (model directories, 'tiny'), llama (GGUF) or onnx (directory)"},
    )
    prompted: bool = field(
        default=False, metadata={"help": "a base model prompted with JSON tools (baseline)"}
    )
    out: str | None = field(default=None, metadata={"help": "report JSON path"})


class ManyTools:
    """A predictor whose requests come with ``extra`` more tools, drawn from the catalog
    (seeded per request, shuffled in with the request's own), optionally narrowed by
    ``select(messages, tools)`` (the runtime's retrieval): what large tool sets, and
    retrieval, do to accuracy (``--distractors N --retrieval bm25|embedding|hybrid``)."""

    def __init__(self, predict: Callable, extra: int, select: Callable | None = None):
        from bslm.train.data.catalog import catalog

        self.predict, self.extra, self.select = predict, extra, select
        self.pool = [t.spec for t in catalog(0)]
        self.shown = 0
        self.calls = 0

    def __call__(self, messages: list[dict], tools: list) -> ModelOutput:
        import random
        import zlib

        own = [as_spec(t) for t in tools or []]
        names = {t.name for t in own}
        first = next((m.get("content") or "" for m in messages if m.get("role") == "user"), "")
        rng = random.Random(zlib.crc32(first.encode()))
        others = [t for t in self.pool if t.name not in names]
        every = own + rng.sample(others, min(self.extra, len(others)))
        rng.shuffle(every)
        if self.select is not None:
            every = self.select(messages, every)
        self.shown += len(every)
        self.calls += 1
        return self.predict(messages, every)


# --- scoring one decision -------------------------------------------------------------------


def _canon(call: ToolCall) -> str:
    return json.dumps([call.name, call.arguments], sort_keys=True)


@dataclass
class Tally:
    """Counts behind the metrics of one suite."""

    n: int = 0
    correct: int = 0
    call_turns: int = 0
    selection: int = 0
    exact: int = 0
    arg_total: int = 0
    arg_right: int = 0
    text_turns: int = 0
    no_call: int = 0
    calls: int = 0
    valid: int = 0
    hallucinated: int = 0
    parse_errors: int = 0

    def add(self, pred: ModelOutput, gold_calls: list[ToolCall], tools: dict) -> bool:
        self.n += 1
        self.parse_errors += pred.error is not None
        for c in pred.calls:
            valid, halluc = call_validity(c, tools)
            self.calls += 1
            self.valid += valid
            self.hallucinated += halluc
        if not gold_calls:
            self.text_turns += 1
            # a call that does not parse was still a call where none was due
            ok = not pred.calls and not pred.broken_call
            self.no_call += ok
        else:
            self.call_turns += 1
            self.selection += sorted(c.name for c in pred.calls) == sorted(
                c.name for c in gold_calls
            )
            ok = sorted(map(_canon, pred.calls)) == sorted(map(_canon, gold_calls))
            self.exact += ok
            by_name = {c.name: c for c in pred.calls}
            for g in gold_calls:
                p = by_name.get(g.name)
                for k, v in g.arguments.items():
                    self.arg_total += 1
                    self.arg_right += (
                        p is not None and k in p.arguments and _same(p.arguments[k], v)
                    )
        self.correct += ok
        return ok

    def metrics(self) -> dict:
        pct = lambda a, b: round(100.0 * a / b, 2) if b else None  # noqa: E731
        return {
            "n": self.n,
            "accuracy": pct(self.correct, self.n),
            "tool_selection": pct(self.selection, self.call_turns),
            "exact_call": pct(self.exact, self.call_turns),
            "argument_accuracy": pct(self.arg_right, self.arg_total),
            "irrelevance_accuracy": pct(self.no_call, self.text_turns),
            "schema_valid": pct(self.valid, self.calls),
            "hallucination": pct(self.hallucinated, self.calls),
            "parse_errors": pct(self.parse_errors, self.n),
        }


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# --- suites ---------------------------------------------------------------------------------


def _records(data: Path, split: str) -> list[dict]:
    from bslm.train.data.jsonl import read_jsonl

    path = data / f"test_{split}.jsonl"
    if not path.is_file():
        raise ConfigError(
            f"{path} not found: generate the data first (bslm data generate out={data})"
        )
    return read_jsonl(path)


def suite_records(name: str, data: Path) -> list[dict]:
    if name in ("seen", "unseen"):
        return _records(data, name)
    both = _records(data, "seen") + _records(data, "unseen")
    if name == "multistep":
        return [r for r in both if r.get("kind") == "chain"]
    if name == "irrelevance":
        return [r for r in both if r.get("kind") in ("irrelevant", "none")]
    if name == "rules":
        return [r for r in both if r.get("rules")]
    raise ConfigError(
        f"unknown suite {name!r}: choose from {', '.join(OUR_SUITES)}, bfcl:<category> or "
        "env:<environment>"
    )


def run_record(
    predict: Callable, rec: dict, tally: Tally
) -> tuple[ModelOutput | None, list[ToolCall]]:
    """Every assistant decision of a record; returns the last output and all calls made."""
    tools = {s.name: s for s in map(as_spec, rec.get("tools") or [])}
    made: list[ToolCall] = []
    last = None
    for i, msg in enumerate(rec["messages"]):
        if msg.get("role") != "assistant":
            continue
        last = predict(rec["messages"][:i], rec.get("tools"))
        made += last.calls
        gold = [from_openai_call(c) for c in msg.get("tool_calls") or []]
        tally.add(last, gold, tools)
    return last, made


def spread(items: list, limit: int) -> list:
    """At most ``limit`` items evenly spaced over the list (every stage and kind of a split, not
    just its first ones); all of them when ``limit`` is 0."""
    if not limit or limit >= len(items):
        return items
    return [items[i * len(items) // limit] for i in range(limit)]


def said(out: ModelOutput) -> dict:
    """What a decision said, for reading a report: its calls, its text (cut at 300 characters)
    and the parse error, if any."""
    d: dict = {"calls": [{"name": c.name, "arguments": c.arguments} for c in out.calls]}
    if out.text.strip():
        d["text"] = out.text.strip()[:300]
    if out.error is not None:
        d["error"] = str(out.error)
    return d


def run_dev(predict: Callable, limit: int) -> dict:
    """The development set: the gold turns before each item's last one are history, the last
    is the decision scored. Adds ``by_part``: accuracy by tool set and by kind."""
    from bslm.train.eval.devset import load

    records = spread(load(), limit)
    tally = Tally()
    parts: dict[str, list[int]] = {}
    items = []
    for rec in records:
        *history, gold = rec["messages"]
        tools = {s.name: s for s in map(as_spec, rec["tools"])}
        calls = [from_openai_call(c) for c in gold.get("tool_calls") or []]
        out = predict(history, rec["tools"])
        ok = tally.add(out, calls, tools)
        item = {
            "id": rec["id"],
            "kind": rec["kind"],
            "domain": rec["domain"],
            "ok": bool(ok),
            "said": said(out),
        }
        call = getattr(predict, "last_call", None)
        if call is not None:
            item["call_p"], item["call_own"] = round(call[0], 6), call[1]
        items.append(item)
        for part in (rec["domain"], rec["kind"]):
            parts.setdefault(part, [0, 0])
            parts[part][0] += 1
            parts[part][1] += ok
    m = tally.metrics()
    m["records"] = len(records)
    m["by_part"] = {p: {"n": n, "accuracy": round(100.0 * k / n, 2)} for p, (n, k) in parts.items()}
    m["items"] = items  # each decision's outcome (and call probability, with a threshold)
    return m


def run_ours(name: str, predict: Callable, data: Path, limit: int) -> dict:
    if name == "dev":
        return run_dev(predict, limit)
    records = spread(suite_records(name, data), limit)
    tally = Tally()
    rules_total = rules_ok = 0
    for rec in records:
        last, made = run_record(predict, rec, tally)
        if name == "rules" and last is not None:
            from bslm.train.data.rules import Rule

            for r in rec["rules"]:
                rules_total += 1
                rules_ok += Rule.from_dict(r).check(last.text, made)
    m = tally.metrics()
    m["records"] = len(records)
    if name == "rules":
        m["decision_accuracy"] = m["accuracy"]
        m["adherence"] = m["accuracy"] = (
            round(100.0 * rules_ok / rules_total, 2) if rules_total else None
        )
    return m


def run_bfcl(category: str, predict: Callable, limit: int) -> dict:
    from bslm.train.eval.bfcl import eval_items, load_answers
    from bslm.train.eval.checker import check

    items = spread(eval_items(category), limit)  # a category is ordered by source and kind
    answers = load_answers(category)
    tally = Tally()
    ok = 0
    errors: Counter[str] = Counter()
    for item in items:
        pred = predict(item.messages, item.tools)
        tools = {s.name: s for s in item.tools}
        tally.add(
            pred, [], tools
        )  # validity and hallucination counts; accuracy from BFCL's checker
        verdict = check(category, pred.calls, item.functions, answers.get(item.id, []))
        ok += verdict.ok
        if not verdict.ok:
            errors[verdict.error_type or "other"] += 1
    m = tally.metrics()
    for k in ("tool_selection", "exact_call", "argument_accuracy", "irrelevance_accuracy"):
        m.pop(k)
    m["accuracy"] = round(100.0 * ok / len(items), 2) if items else None
    m["errors"] = dict(errors.most_common())  # BFCL's error types of the failed items
    return m


def evaluate(
    cfg: EvalConfig,
    predict: Callable,
    model_name: str | None = None,
    select: Callable | None = None,
) -> dict:
    """Run the suites with ``predict(messages, tools) -> ModelOutput`` (the engine's
    decoding, ``predictors.open_predictor``); ``select(messages, tools)`` narrows
    large tool sets. Returns the report ``{"model", "mask", "suites": {...}}``. Raises
    ValueError for an unknown suite or mask."""
    check_config(cfg)
    many = None
    if cfg.distractors or select is not None:
        many = predict = ManyTools(predict, cfg.distractors, select)
    name = model_name or str(cfg.model or "default") + (" prompted" if cfg.prompted else "")
    report = {"model": name, "mask": cfg.mask, "suites": {}}
    if cfg.call_threshold is not None or cfg.copy_bias:
        report["help"] = {"call_threshold": cfg.call_threshold, "copy_bias": cfg.copy_bias}
    if many is not None:
        report["tools"] = {
            "distractors": cfg.distractors,
            "retrieval": cfg.retrieval,
            "top_k": cfg.top_k,
        }
    for suite in cfg.suites:
        t0 = time.perf_counter()
        if suite.startswith("bfcl:"):
            m = run_bfcl(suite.split(":", 1)[1], predict, cfg.limit)
        elif suite.startswith("env:"):
            from bslm.train.rl.envs import run_suite

            m = run_suite(suite.split(":", 1)[1], predict, cfg.limit)
        else:
            if many is not None:
                many.shown = many.calls = 0
            m = run_ours(suite, predict, Path(cfg.data), cfg.limit)
            if many is not None and many.calls:
                m["tools_in_context"] = round(many.shown / many.calls, 1)
        m["seconds"] = round(time.perf_counter() - t0, 1)
        report["suites"][suite] = m
        print(f"{suite}: {m['accuracy']}% of {m['n']}", file=sys.stderr, flush=True)
    return report


def check_config(cfg: EvalConfig) -> None:
    """Raises ValueError for settings that cannot go together."""
    if cfg.mask not in MASKS:
        raise ConfigError(f"unknown mask {cfg.mask!r} (choose from {', '.join(MASKS)})")
    from bslm.train.rl.envs import ENVIRONMENTS

    for suite in cfg.suites:
        kind, _, name = suite.partition(":")
        if kind == "env" and name not in ENVIRONMENTS:
            raise ConfigError(
                f"unknown environment {name!r} in suite {suite!r} (choose from "
                f"{', '.join(ENVIRONMENTS)})"
            )
    if cfg.prompted and cfg.mask != "off":
        raise ConfigError("--prompted answers in JSON text: evaluate it with --mask off")
    if (cfg.call_threshold is not None or cfg.copy_bias) and (cfg.mask == "off" or cfg.prompted):
        raise ConfigError("--call-threshold and --copy-bias help the masked decoder: use a mask")
    if cfg.prompted and cfg.backend not in ("torch", "llama"):
        raise ConfigError("--prompted runs a base on the torch or llama backend")


def markdown(reports: list[dict]) -> str:
    """One row per suite, one accuracy column per report, then this run's other metrics."""
    main = reports[0]
    cols = ["tool_selection", "exact_call", "argument_accuracy", "schema_valid", "hallucination"]
    head = [f"{r['model']} ({r['mask']})" for r in reports]
    lines = ["| suite | n | " + " | ".join(head) + " | " + " | ".join(cols) + " |"]
    lines.append("|---" * (2 + len(head) + len(cols)) + "|")
    fmt = lambda v: "–" if v is None else f"{v:.1f}"  # noqa: E731
    for suite, m in main["suites"].items():
        accs = [fmt(r["suites"].get(suite, {}).get("accuracy")) for r in reports]
        rest = [fmt(m.get(c)) for c in cols]
        lines.append(
            f"| {suite} | {m['n']} | " + " | ".join(accs) + " | " + " | ".join(rest) + " |"
        )
    return "\n".join(lines)


def write_report(report: dict, path: Path) -> None:
    write_text(path, json.dumps(report, indent=2))
