"""An evaluation that survives being stopped: every decision is appended to a journal as it is
made, and a run of the same evaluation again takes the decisions already there instead of
decoding them again.

    bslm eval --suite bfcl:live_multiple --backend llama --out R.json   # killed after 400 items
    bslm eval --suite bfcl:live_multiple --backend llama --out R.json   # decodes the rest

The journal is ``R.partial.jsonl`` beside the report, and goes once the report is written. Its
first line holds the settings that shape a decision (the model file, backend, mask, help,
token budget); a journal of other settings is refused, never mixed in. A decision is keyed by
what the model was shown (the messages and the tools), so the suites, their order and
``--limit`` may change between the runs. A line cut short by the kill is dropped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bslm.models.chat import as_spec
from bslm.models.parser import ModelOutput, ParseError, Thought
from bslm.models.tools import ToolCall
from bslm.train.config import ConfigError


def journal_path(report: Path) -> Path:
    return report.with_name(report.name.removesuffix(".json") + ".partial.jsonl")


def model_identity(model: str | None) -> dict:
    """What identifies the weights: the path with the size and modification time of each of
    its files (a rebuilt model is another model), or the name (``tiny``, a base)."""
    if model is None:  # the default model: what the shipped artifact makes
        from bslm.models.files import shipped_artifact

        path = shipped_artifact()
        if path is None:
            return {"name": "default"}
    else:
        path = Path(model).expanduser()
        if not path.exists():
            return {"name": model}
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for p in files:
        st = p.stat()
        digest.update(f"{p.relative_to(path.parent)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return {"path": str(path.resolve()), "files": digest.hexdigest()}


def eval_settings(cfg) -> dict:
    """The settings of an ``EvalConfig`` that shape a decision."""
    prompted = {"name": cfg.model or "default base"}  # a base as it ships
    return {
        "model": prompted if cfg.prompted else model_identity(cfg.model),
        "backend": cfg.backend,
        "mask": cfg.mask,
        "prompted": cfg.prompted,
        "max_new_tokens": cfg.max_new_tokens,
        "call_threshold": cfg.call_threshold,
        "copy_bias": cfg.copy_bias,
    }


def decision_key(messages: list[dict], tools: list | None) -> str:
    specs = [dataclasses.asdict(as_spec(t)) for t in tools or []]
    text = json.dumps([messages, specs], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def dump_output(out: ModelOutput) -> dict:
    parts = []
    for p in out.parts:
        if isinstance(p, ToolCall):
            parts.append({"call": {"name": p.name, "arguments": p.arguments, "id": p.id}})
        elif isinstance(p, Thought):
            parts.append({"thought": p.text})
        else:
            parts.append({"text": p})
    error = None if out.error is None else [out.error.position, out.error.message]
    return {"parts": parts, "error": error, "ended": out.ended, "broken_call": out.broken_call}


def load_output(d: dict) -> ModelOutput:
    parts: list = []
    for p in d["parts"]:
        if "call" in p:
            parts.append(ToolCall(**p["call"]))
        elif "thought" in p:
            parts.append(Thought(p["thought"]))
        else:
            parts.append(p["text"])
    error = None if d["error"] is None else ParseError(*d["error"])
    return ModelOutput(parts=parts, error=error, ended=d["ended"], broken_call=d["broken_call"])


class Journal:
    """``predict(messages, tools) -> ModelOutput`` with every decision kept in ``path``.
    ``last_call`` (the decoder's call probability, with a threshold) is kept with it. Raises
    ConfigError where ``path`` holds another evaluation's decisions."""

    def __init__(self, predict: Callable, path: Path, settings: dict):
        self.predict, self.path = predict, path
        self.done: dict[str, dict] = {}
        self.replayed = 0
        # journals of other decodings of the same model: each new decision is also taken by
        # them, at once, while its prompt is still in the model's cache
        self.followers: list[Journal] = []
        self.last_call: tuple[float, bool] | None = None
        if path.exists():
            self._read(settings)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._append({"settings": settings})

    def _read(self, settings: dict) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            head = json.loads(lines[0])["settings"] if lines else None
        except (json.JSONDecodeError, KeyError, TypeError):
            head = None
        if head != settings:
            raise ConfigError(
                f"{self.path} holds decisions of another evaluation (model, backend, mask, "
                "help or token budget): remove it, or write the report elsewhere"
            )
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line being written when the run was stopped
            self.done[entry["key"]] = entry
        if self.done:
            print(
                f"continuing: {len(self.done)} decisions already made ({self.path})",
                file=sys.stderr,
                flush=True,
            )

    def _append(self, entry: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _decide(self, key: str, messages: list[dict], tools: list | None) -> dict:
        out = self.predict(messages, tools)
        call = getattr(self.predict, "last_call", None)
        entry = {"key": key, "out": dump_output(out), "last_call": call}
        self._append(entry)
        self.done[key] = entry
        return entry

    def __call__(self, messages: list[dict], tools: list | None) -> ModelOutput:
        key = decision_key(messages, tools)
        entry = self.done.get(key)
        if entry is None:
            entry = self._decide(key, messages, tools)
            for other in self.followers:
                if key not in other.done:
                    other._decide(key, messages, tools)
        else:
            self.replayed += 1
        self.last_call = None if entry["last_call"] is None else tuple(entry["last_call"])
        return load_output(entry["out"])

    def finish(self) -> None:
        """The report is written: the journal is no longer needed."""
        self.path.unlink(missing_ok=True)


def evaluate_kept(cfg, report: Path, model_name: str | None = None, select=None) -> dict:
    """``suites.evaluate`` with ``cfg``'s predictor, each decision journaled beside
    ``report`` (a stopped run continues); writes the report, then drops the journal."""
    return evaluate_together([cfg], [report], model_name, select)[0]


# what evaluations of one model together may differ in: how it decodes
DECODING = ("mask", "call_threshold", "copy_bias")


def evaluate_together(
    cfgs: list, reports: list[Path], model_name: str | None = None, select=None
) -> list[dict]:
    """Evaluations of one model that differ only in how it decodes (``DECODING``), one after
    another on the model opened once, each journaled beside its report (a stopped run
    continues). While the first evaluation runs, each of its new decisions is also taken under
    the others' settings right after it, its prompt still cached, so that a prompt is evaluated
    once for all of them; the later evaluations then find the decisions taken with the gold
    history (every suite but ``env:``) already made. Writes each report, then drops the
    journals. Raises ConfigError for evaluations that differ in more than decoding."""
    from bslm.train.eval.predictors import config_help, open_predictor
    from bslm.train.eval.suites import check_config, evaluate, write_report

    first = cfgs[0]
    for cfg in cfgs:  # each one refused now, not after the evaluations before it
        check_config(cfg)
    for cfg in cfgs[1:]:
        if dataclasses.replace(cfg, **{k: getattr(first, k) for k in (*DECODING, "out")}) != first:
            raise ConfigError("evaluations together may differ only in mask and help")
    lead = open_predictor(first)
    predictors = [lead] + [lead.sibling(cfg.mask, config_help(cfg)) for cfg in cfgs[1:]]
    journals = [
        Journal(p, journal_path(r), eval_settings(c))
        for p, r, c in zip(predictors, reports, cfgs, strict=True)
    ]
    results = []
    for i, (cfg, journal, report) in enumerate(zip(cfgs, journals, reports, strict=True)):
        journal.followers = journals[i + 1 :]
        result = evaluate(cfg, journal, model_name, select)
        write_report(result, report)
        results.append(result)
    for journal in journals:  # a rerun stopped before the last report replays the first ones
        journal.finish()
    return results
