"""Data synthesis: the curriculum, written as ``train.jsonl``, ``test_seen.jsonl`` and
``test_unseen.jsonl`` (``bslm data generate``).

    bslm data generate out=data seed=0 stage3=10000   # the default 25k examples in under a minute

``train`` uses the training tools and phrasings; ``test_seen`` the training tools with held-out
phrasings; ``test_unseen`` only the held-out tools (whole tools train never shows, not even as
extra candidates). Every record is checked before it is written: calls validate against their
tool's JSON Schema, name only the example's tools, and the conversation survives
``chat_items`` -> ``parse_chat``; the gold answers obey the example's rules. One JSON object a
line::

    {"id", "stage": 1|2|3, "kind", "split", "domain",
     "tools": [OpenAI tool dicts], "messages": [chat messages], "rules": [Rule.to_dict()]}

The same config gives byte-identical files. ``manifest.json`` beside them records the config,
the counts and the held-out tool names.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from random import Random

import jsonschema
from tqdm import tqdm

from bslm.models.chat import assistant_parts, chat_items, parse_chat
from bslm.models.files import write_text
from bslm.models.tools import ToolCall
from bslm.train.config import ConfigError

from . import prompts
from .catalog import catalog, split_tools
from .drafts import Context, Pool, Skip
from .examples import BUILDERS, FALLBACK, SEEN_ONLY, STAGE_KINDS
from .jsonl import write_jsonl
from .phrasings import Phrasebook
from .rules import KINDS as RULE_KINDS
from .rules import Rule

SPLITS = ("train", "test_seen", "test_unseen")


@dataclass(frozen=True)
class DataConfig:
    out: str = field(default="data", metadata={"help": "directory for the JSONL files"})
    seed: int = field(
        default=0, metadata={"help": "seed of everything: catalog styles, held-out tools, examples"}
    )
    stage1: int = field(
        default=7000, metadata={"help": "training examples of stage 1 (tool selection)"}
    )
    stage2: int = field(default=7000, metadata={"help": "training examples of stage 2 (arguments)"})
    stage3: int = field(
        default=10000, metadata={"help": "training examples of stage 3 (conversations)"}
    )
    test: int = field(
        default=600, metadata={"help": "examples in each test split, over the three stages"}
    )
    held_out: float = field(
        default=0.15, metadata={"help": "share of tools held out for test_unseen"}
    )
    reasoning: float = field(
        default=0.5, metadata={"help": "share of stage-3 turns with reasoning before their calls"}
    )
    typo_rate: float = field(
        default=0.06, metadata={"help": "share of requests with a typo in their wording"}
    )
    no_date: float = field(
        default=0.15, metadata={"help": "share of system prompts without the reference date"}
    )
    validate: bool = field(
        default=True, metadata={"help": "check every record (schemas, round trip, rules)"}
    )
    progress: bool = field(default=True, metadata={"help": "show a progress bar"})

    def __post_init__(self):
        counts = {
            "stage1": self.stage1,
            "stage2": self.stage2,
            "stage3": self.stage3,
            "test": self.test,
        }
        for name, n in counts.items():
            if n < 0:
                raise ConfigError(f"{name}={n}: the number of examples cannot be negative")
        for name in ("held_out", "reasoning", "typo_rate", "no_date"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}={getattr(self, name)}: give a share between 0 and 1")


def plan(cfg: DataConfig) -> list[tuple[str, int, int]]:
    """``(split, stage, index)`` of every example, in file order."""
    counts = {1: cfg.stage1, 2: cfg.stage2, 3: cfg.stage3}
    total = sum(counts.values()) or 1
    out = [("train", s, i) for s in (1, 2, 3) for i in range(counts[s])]
    for split in SPLITS[1:]:
        shares = {s: round(cfg.test * counts[s] / total) for s in (1, 2)}
        shares[3] = max(0, cfg.test - shares[1] - shares[2])
        out += [(split, s, i) for s in (1, 2, 3) for i in range(shares[s])]
    return out


def pools(cfg: DataConfig) -> dict[str, Pool]:
    """The tools of each split. Raises ConfigError when a split that has examples to make has
    fewer than ten tools."""
    train, held = split_tools(catalog(cfg.seed), cfg.held_out, cfg.seed)
    if cfg.test and len(held) < 10:
        raise ConfigError(
            f"held_out={cfg.held_out} leaves {len(held)} tools for test_unseen: raise it or set test=0"
        )
    if cfg.stage1 + cfg.stage2 + cfg.stage3 + cfg.test and len(train) < 10:
        raise ConfigError(
            f"held_out={cfg.held_out} leaves {len(train)} tools for training: lower it"
        )
    return {
        "train": Pool(train),
        "test_seen": Pool(train),
        "test_unseen": Pool(held, held_out=True),
    }


def make_example(
    cfg: DataConfig, split: str, stage: int, index: int, pool: Pool, pb: Phrasebook
) -> dict:
    """One record. Raises RuntimeError when no builder succeeds (a bug, or a tiny pool)."""
    key = f"{cfg.seed}:{split}:{stage}:{index}"
    rng = Random(key)
    kinds = {k: w for k, w in STAGE_KINDS[stage].items() if not (pool.held_out and k in SEEN_ONLY)}
    kind = rng.choices(list(kinds), list(kinds.values()))[0]
    today = None if rng.random() < cfg.no_date else date(2025, 1, 1) + timedelta(rng.randrange(900))
    allowed = set(RULE_KINDS)
    reasoning = cfg.reasoning if stage == 3 else 0.0
    for attempt in range(10):
        sub = Random(f"{key}:{attempt}")
        ctx = Context(sub, pool, pb, today, stage, set(allowed), reasoning)
        try:
            draft = BUILDERS[kind if attempt < 6 else FALLBACK[stage]](ctx)
        except Skip:
            continue
        messages = [{"role": "system", "content": prompts.system_prompt(sub, today, draft.rules)}]
        record = {
            "id": f"{split}-{stage}-{index:06d}",
            "stage": stage,
            "kind": draft.kind,
            "split": split,
            "domain": draft.domain,
            "tools": [t.openai() for t in draft.tools],
            "messages": messages + draft.messages,
            "rules": [r.to_dict() for r in draft.rules],
        }
        broken = [r for r in draft.rules if not r.check(*answer_and_calls(record["messages"]))]
        if not broken:
            return record
        allowed -= {r.kind for r in broken}  # draw again without the rule the gold missed
    raise RuntimeError(f"could not build example {key} of kind {kind}")


def answer_and_calls(messages: list[dict]) -> tuple[str, list[ToolCall]]:
    """The final text answer of the assistant ("" when its last turn only calls) and every
    call it made."""
    turns = [m for m in messages if m.get("role") == "assistant"]
    found = [p for m in turns for p in assistant_parts(m) if isinstance(p, ToolCall)]
    answer = (turns[-1].get("content") or "") if turns else ""
    return answer, found


@cache
def _validator(schema_json: str):
    schema = json.loads(schema_json)
    return jsonschema.validators.validator_for(schema)(schema)


def problems(record: dict) -> list[str]:
    """What is wrong with a record (empty when it is valid)."""
    out = []
    tools = {t["function"]["name"]: t["function"] for t in record["tools"]}
    if len(tools) != len(record["tools"]):
        out.append("two tools share a name")
    messages = record["messages"]
    for i, m in enumerate(messages):
        for c in m.get("tool_calls") or []:
            fn = c["function"]
            if fn["name"] not in tools:
                out.append(f"message {i} calls {fn['name']}, which is not among the tools")
                continue
            schema = json.dumps(tools[fn["name"]].get("parameters") or {}, sort_keys=True)
            for err in _validator(schema).iter_errors(fn["arguments"]):
                out.append(f"message {i}: {fn['name']} arguments: {err.message}")
        if m["role"] == "assistant" and m.get("tool_calls"):
            names = [c["function"]["name"] for c in m["tool_calls"]]
            got = [r.get("name") for r in messages[i + 1 : i + 1 + len(names)]]
            roles = [r["role"] for r in messages[i + 1 : i + 1 + len(names)]]
            answered = roles == ["tool"] * len(names) and got == names
            if not answered and i + 1 < len(messages):  # a last-turn call awaits no result
                out.append(f"message {i}: results {got} do not answer calls {names}")
    try:
        back, specs = parse_chat(chat_items(messages, record["tools"]))
    except ValueError as e:
        return out + [f"round trip failed: {e}"]
    if back != messages:
        out.append("messages change in the round trip")
    if [(s.name, s.description, s.parameters) for s in specs] != [
        (f["name"], f.get("description"), f.get("parameters")) for f in tools.values()
    ]:
        out.append("tools change in the round trip")
    answer, calls = answer_and_calls(messages)
    for r in record["rules"]:
        if not Rule.from_dict(r).check(answer, calls):
            out.append(f"the gold answer breaks the rule {r}")
    return out


def check_record(record: dict) -> None:
    """Raises ValueError naming what is wrong with the record."""
    found = problems(record)
    if found:
        raise ValueError(f"record {record.get('id')}: " + "; ".join(found))


def synthesize(cfg: DataConfig) -> dict[str, list[dict]]:
    """Every record, by split. Raises ValueError when a record fails its checks."""
    by_split = pools(cfg)
    books = {
        "train": Phrasebook(False, cfg.typo_rate),
        "test_seen": Phrasebook(True, cfg.typo_rate),
        "test_unseen": Phrasebook(False, cfg.typo_rate),
    }
    data: dict[str, list[dict]] = {s: [] for s in SPLITS}
    for split, stage, i in tqdm(plan(cfg), desc="generate", disable=not cfg.progress):
        record = make_example(cfg, split, stage, i, by_split[split], books[split])
        if cfg.validate:
            check_record(record)
        data[split].append(record)
    return data


def summary(data: dict[str, list[dict]]) -> str:
    lines = []
    for split, records in data.items():
        stages = Counter(r["stage"] for r in records)
        kinds = Counter((r["stage"], r["kind"]) for r in records)
        lines.append(f"{split}: {len(records)} examples")
        for s in sorted(stages):
            per = ", ".join(f"{k} {n}" for (st, k), n in sorted(kinds.items()) if st == s)
            lines.append(f"  stage {s}: {stages[s]} ({per})")
        rules = sum(len(r["rules"]) > 0 for r in records)
        lines.append(f"  with rules: {rules}, domains: {len({r['domain'] for r in records})}")
    return "\n".join(lines)


def main(cfg: DataConfig) -> int:
    """Generate and write the splits into ``cfg.out``; prints a summary."""
    start = time.perf_counter()
    data = synthesize(cfg)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    for split, records in data.items():
        write_jsonl(out / f"{split}.jsonl", records)
    _, held = split_tools(catalog(cfg.seed), cfg.held_out, cfg.seed)
    manifest = {
        "config": asdict(cfg),
        "counts": {s: len(r) for s, r in data.items()},
        "held_out_tools": sorted(t.name for t in held),
    }
    write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    print(summary(data))
    print(
        f"wrote {sum(map(len, data.values()))} examples to {out} in {time.perf_counter() - start:.1f}s"
    )
    return 0
