"""What an example is made of while it is built: the tool pool of a split, the context a
builder draws from, the draft it returns, and the chat messages it writes.

A builder (``examples.py``) gets a ``Context`` (random source, tool pool, phrasebook,
reference date, allowed rule kinds) and returns a ``Draft``; it raises ``Skip`` when the pool
cannot make its kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from random import Random

from . import answers
from .catalog import CatalogTool
from .phrasings import Phrasebook
from .rules import (
    CALL_KINDS,
    LANGUAGES,
    MENTIONS,
    PREFIXES,
    SIGN_OFFS,
    Rule,
    compatible,
    sentence_count,
)
from .rules import KINDS as RULE_KINDS
from .values import Value

# Domains close enough that one's tools might serve the other's requests.
FAMILIES = [
    {"messaging", "email", "social", "contacts"},
    {"calendar", "notes", "events"},
    {"recipes", "shopping", "health", "pets"},
    {"banking", "finance", "real_estate"},
    {"files", "code", "databases", "cloud"},
    {"news", "web"},
    {"travel", "maps", "rides", "weather"},
]
FINDER_OPS, ACTOR_OPS = ("search", "list"), ("get", "update", "delete", "share", "archive")


class Skip(Exception):
    """This pool or this draw cannot make the kind asked for."""


@dataclass
class Pool:
    tools: list[CatalogTool]
    held_out: bool = False  # the tools of test_unseen: builders offer no tool from elsewhere

    def __post_init__(self):
        self.by_domain: dict[str, list[CatalogTool]] = {}
        for t in self.tools:
            self.by_domain.setdefault(t.domain, []).append(t)
        self.actions = [t for t in self.tools if t.op == "action"]
        ops = {(t.domain, t.group, t.op): t for t in self.tools if t.op != "action"}
        self.entity_chains = [
            (ops[(d, g, f)], ops[(d, g, a)])
            for (d, g, f) in ops
            if f in FINDER_OPS
            for a in ACTOR_OPS
            if (d, g, a) in ops
        ]
        self.entity_chains += [
            (ops[(d, g, "create")], ops[(d, g, a)])
            for (d, g, o) in ops
            if o == "create"
            for a in ("share", "update")
            if (d, g, a) in ops
        ]
        self.list_chains = []  # (producer, consumer, id parameter of the consumer)
        for prod in self.actions:
            kinds = _list_id_kinds(prod)
            for cons in self.tools:
                p = next((p for p in cons.params if p.required and p.field.type in kinds), None)
                if p and cons is not prod:
                    self.list_chains.append((prod, cons, p))

    def family(self, domain: str) -> set[str]:
        return next((f for f in FAMILIES if domain in f), {domain})


def _list_id_kinds(tool: CatalogTool) -> set[str]:
    spec = tool.result.strip()
    if not (spec.startswith("[") and spec.endswith("]")):
        return set()
    return {w.split(":", 1)[1] for w in spec[1:-1].split() if ":id:" in w}


@dataclass
class Draft:
    kind: str
    domain: str
    tools: list[CatalogTool]
    messages: list[dict]
    rules: list[Rule] = field(default_factory=list)


@dataclass
class Context:
    rng: Random
    pool: Pool
    pb: Phrasebook
    today: date | None
    stage: int
    allowed_rules: set[str] = field(default_factory=lambda: set(RULE_KINDS))
    reasoning: float = 0.5

    # --- drawing ---

    def tool(self, where=None) -> CatalogTool:
        tools = [t for t in (where or self.pool.tools)]
        if not tools:
            raise Skip("no tool")
        weights = [2.0 if t.op == "action" else 1.0 for t in tools]
        return self.rng.choices(tools, weights)[0]

    def candidates(
        self, must: list[CatalogTool], n: int, avoid_family: str | None = None
    ) -> list[CatalogTool]:
        """``must`` plus distractors up to ``n`` tools (about 40% from the same domain), shuffled."""
        rng, names = self.rng, {t.name for t in must}
        avoid = self.pool.family(avoid_family) if avoid_family else set()
        pool = [t for t in self.pool.tools if t.name not in names and t.domain not in avoid]
        same = [t for t in pool if must and t.domain == must[0].domain]
        k = min(len(same), round((n - len(must)) * 0.4))
        picked = rng.sample(same, k) if k > 0 else []
        rest = [t for t in pool if t not in picked]
        picked += rng.sample(rest, min(len(rest), max(0, n - len(must) - k)))
        out = list(must) + picked
        rng.shuffle(out)
        return out

    def args(self, tool: CatalogTool, optional: float = 0.35, omit=()) -> dict[str, Value]:
        return tool.sample_args(self.rng, self.today, optional, tuple(omit))

    def request(self, tool: CatalogTool, args: dict[str, Value]) -> str:
        try:
            return self.pb.wrap(self.rng, self.pb.core(self.rng, tool, args))
        except ValueError as e:
            raise Skip(str(e)) from None

    def rules(
        self, text: bool, called: list[CatalogTool], shown: list[CatalogTool], n: int | None = None
    ) -> list[Rule]:
        """0-2 compatible rules the gold turns will obey (the limits a rule sets are filled in
        from the gold turns by ``finish_rules``)."""
        rng = self.rng
        n = rng.choices([0, 1, 2], [0.45, 0.35, 0.2])[0] if n is None else n
        kinds = [k for k in RULE_KINDS if k in self.allowed_rules]
        if not text:
            kinds = [k for k in kinds if k in CALL_KINDS]
        called_names = {t.name for t in called}
        unused = [t for t in shown if t.name not in called_names]
        if not called:
            kinds = [k for k in kinds if k != "must_use"]
        if not unused:
            kinds = [k for k in kinds if k != "must_not_use"]
        chosen: list[str] = []
        for k in rng.sample(kinds, len(kinds)):
            if len(chosen) < n and compatible([*chosen, k]):
                chosen.append(k)
        params = {
            "language": lambda: {"language": rng.choice(LANGUAGES)},
            "prefix": lambda: {"prefix": rng.choice(PREFIXES)},
            "sign_off": lambda: {"text": rng.choice(SIGN_OFFS)},
            "mention": lambda: {"phrase": rng.choice(MENTIONS)},
            "must_use": lambda: {"tool": rng.choice(called).name},
            "must_not_use": lambda: {"tool": rng.choice(unused).name},
        }
        limits = ("max_words", "max_sentences", "max_chars", "max_calls")
        params |= {k: lambda: {"n": 0} for k in limits}
        return [Rule(k, params[k]() if k in params else {}) for k in chosen]

    def think(self, p: float | None = None) -> bool:
        return self.rng.random() < (self.reasoning if p is None else p)


# --- messages ---------------------------------------------------------------------------------


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def say(text: str, reasoning: str | None = None) -> dict:
    msg: dict = {"role": "assistant", "content": text}
    if reasoning:
        msg["reasoning"] = reasoning
    return msg


def calls(pairs: list[tuple[CatalogTool, dict]], reasoning: str | None = None) -> dict:
    msg: dict = {"role": "assistant", "content": None}
    if reasoning:
        msg["reasoning"] = reasoning
    msg["tool_calls"] = [
        {"type": "function", "function": {"name": t.name, "arguments": plain(a)}} for t, a in pairs
    ]
    return msg


def plain(args: dict) -> dict:
    return {k: v.value if isinstance(v, Value) else v for k, v in args.items()}


def result_msg(rng: Random, tool: CatalogTool, result, is_error: bool = False) -> dict:
    if isinstance(result, str):
        content = result
    elif isinstance(result, dict) and rng.random() < 0.2:
        content = "\n".join(f"{k}: {answers.show(v)}" for k, v in result.items())
    else:
        content = json.dumps(result, ensure_ascii=False)
    msg = {"role": "tool", "name": tool.name, "content": content}
    if is_error:
        msg["is_error"] = True
    return msg


def finish_rules(rng: Random, rules: list[Rule], messages: list[dict]) -> list[Rule]:
    """Fill in the limits from the gold turns: words, sentences and characters from the
    longest text (rounded up, now and then with room to spare), tool calls from their count
    (over the whole conversation, so at least as many as any one request made)."""
    texts = [(m.get("content") or "").strip() for m in messages if m["role"] == "assistant"]
    words = max([len(t.split()) for t in texts] + [1])
    limit = -(-words // 5) * 5 + rng.choice([0, 0, 5, 10])

    def filled(rule: Rule) -> Rule:
        if rule.kind == "max_words":
            return Rule("max_words", {"n": limit})
        if rule.kind == "max_sentences":
            most = max([sentence_count(t) for t in texts] + [1])
            return Rule("max_sentences", {"n": max(2, most + rng.choice([0, 0, 1]))})
        if rule.kind == "max_chars":
            chars = max([len(t) for t in texts] + [1])
            return Rule("max_chars", {"n": -(-chars // 10) * 10 + rng.choice([0, 0, 20, 50])})
        if rule.kind == "max_calls":
            made = sum(len(m.get("tool_calls") or []) for m in messages if m["role"] == "assistant")
            return Rule("max_calls", {"n": max(1, made) + rng.choice([0, 0, 1])})
        return rule

    return [filled(r) for r in rules]
