"""How users ask: request templates in several registers, argument mentions, typos.

A request is a *core* (a tool's intent, "check the weather", followed by the mentions of its
arguments, "in Paris", "for tomorrow") wrapped in a template of some register: terse ("{core}
pls"), polite ("Could you {core}?") or indirect ("My manager asked me to {core}."). A
``Phrasebook`` draws templates and intents from the training share or from the held-out share
(about a quarter of each list, chosen by a stable hash), so test requests can be worded in
ways training never saw.
"""

from __future__ import annotations

import hashlib
import re
from random import Random

from .catalog import CatalogTool, Param
from .values import Value, say_list

# (template, user acts): templates where the user does the action ("I need to {core}", "Help
# me {core}") do not take intents that speak to the assistant ("show me ...").
WRAPPERS: list[tuple[str, bool]] = [
    ("{core}", False),
    ("{core}.", False),
    ("{core} pls", False),
    ("{core}, thanks", False),
    ("quick one: {core}", False),
    ("{core} asap", False),
    ("{core} please", False),
    ("Please {core}.", False),
    ("Could you {core}?", False),
    ("Can you {core}?", False),
    ("Would you {core}, please?", False),
    ("Could you please {core}?", False),
    ("I'd like you to {core}.", False),
    ("Hi! Can you {core}?", False),
    ("Hello, please {core}. Thank you!", False),
    ("If you could {core}, that would be great.", False),
    ("Kindly {core}.", False),
    ("Help me {core}.", True),
    ("Go ahead and {core}.", False),
    ("Hey, {core} for me?", False),
    ("Would you mind helping me {core}?", True),
    ("It would help me a lot if you could {core}.", False),
    ("Hey there, I'd love it if you could {core}.", False),
    ("My manager asked me to {core}. Can you take care of it?", True),
    ("I need to {core}.", True),
    ("I want to {core}.", True),
    ("I'm trying to {core}, can you do it for me?", True),
    ("Is it possible to {core}?", True),
    ("I was hoping to {core}. Can you help?", True),
    ("Let's {core}.", True),
    ("Time to {core}.", True),
    ("We should {core}: can you handle that?", True),
    ("Before I forget, I have to {core}.", True),
    ("Today I'd like to {core}.", True),
]
UPDATE_TAILS = [", setting {x}", " and set {x}", " and change {x}", " to change {x}", ": set {x}"]
ASK_REPLIES = [
    "{v}",
    "It's {v}.",
    "Make it {v}.",
    "{v}, please.",
    "Oh right, {v}.",
    "Use {v}.",
    "Sorry, {v}.",
    "{v} would be good.",
]
PARALLEL_JOINS = [
    "{a}, and {b}",
    "{a}. Also, {b}",
    "{a} and {b}",
    "{a}; {b} too",
    "{a}. And {b}",
    "{a}, plus {b}",
]
CHAIN_JOINS = [
    "{a}, then {b}",
    "{a} and then {b}",
    "First {a}, then {b}",
    "{a}. After that, {b}",
    "{a}, and once you have it, {b}",
]
PICK_REFS = ["choosing {pick}", "going with {pick}", "picking {pick}", "for {pick}"]
PICKS = {
    "first": ["the first one", "the first result", "the top result"],
    "cheapest": ["the cheapest one", "the least expensive option", "the lowest-priced one"],
    "match": ["the one called {label}", "the one named {label}"],
}
PRONOUN_INTENTS = {
    "get": ["look it up", "open it", "pull it up", "tell me more about it"],
    "update": ["update it", "change it", "edit it"],
    "delete": ["delete it", "remove it", "get rid of it"],
    "share": ["share it", "give access to it"],
    "archive": ["archive it", "put it in the archive"],
}
_PREPOSITION_END = re.compile(r"\b(of|for|to|about|in|on|with|at|from|into)$")
_RELATIVE = re.compile(r"(today|tomorrow|yesterday|the day after|in |this |on |a week|next )")
_TO_ME = re.compile(r"\bme\b")


def _stable(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def split_phrases(items: list, held_out: bool, key=lambda x: x) -> list:
    """The training or the held-out share of a list. Lists of three or more hold out about a
    quarter (at least one, never all); shorter lists are shared."""
    if len(items) < 3:
        return list(items)
    held = [x for x in items if _stable(str(key(x))) % 4 == 0]
    if not held:
        held = [min(items, key=lambda x: _stable(str(key(x))))]
    if len(held) == len(items):
        held = held[:-1]
    return held if held_out else [x for x in items if x not in held]


def typo(rng: Random, text: str) -> str:
    """One typo in a word of four letters or more: two letters swapped, one dropped or
    doubled."""
    words = [
        m
        for m in re.finditer(r"[A-Za-z]{4,}", text)
        if "{" not in text[max(0, m.start() - 1) : m.end() + 1]
    ]
    if not words:
        return text
    m = rng.choice(words)
    w, i = m.group(), rng.randrange(1, len(m.group()) - 1)
    w = [w[:i] + w[i + 1] + w[i] + w[i + 2 :], w[:i] + w[i + 1 :], w[:i] + w[i] + w[i:]][
        rng.randrange(3)
    ]
    return text[: m.start()] + w + text[m.end() :]


class Phrasebook:
    """Templates of one share (training or held out)."""

    def __init__(self, held_out: bool = False, typo_rate: float = 0.06):
        self.held_out = held_out
        self.typo_rate = typo_rate
        self.wrappers = split_phrases(WRAPPERS, held_out, key=lambda w: w[0])
        self.lists = {
            name: split_phrases(items, held_out)
            for name, items in [
                ("update", UPDATE_TAILS),
                ("ask", ASK_REPLIES),
                ("parallel", PARALLEL_JOINS),
                ("chain", CHAIN_JOINS),
                ("pick_ref", PICK_REFS),
            ]
        }

    def intents(self, tool: CatalogTool) -> list[str]:
        return split_phrases(list(tool.intents), self.held_out)

    def wrap(self, rng: Random, core: str) -> str:
        """The user message for a core."""
        to_me = bool(_TO_ME.search(" ".join(core.split()[:4])))
        options = [t for t, first_person in self.wrappers if not (first_person and to_me)]
        template = rng.choice(options or [t for t, _ in self.wrappers])
        if rng.random() < self.typo_rate:
            template = typo(rng, template)
        text = template.replace("{core}", core)
        return text[:1].upper() + text[1:] if rng.random() < 0.85 else text

    def join(self, rng: Random, how: str, a: str, b: str) -> str:
        return rng.choice(self.lists[how]).format(a=a, b=b)

    def ask_reply(self, rng: Random, value: Value) -> str:
        return rng.choice(self.lists["ask"]).format(v=value.text)

    def pick(self, rng: Random, how: str, label: str = "") -> tuple[str, str]:
        """A reference to one item of an earlier result: (noun phrase, adverbial)."""
        noun = rng.choice(PICKS[how]).format(label=label)
        return noun, rng.choice(self.lists["pick_ref"]).format(pick=noun)

    def pronoun_intents(self, op: str) -> list[str]:
        return split_phrases(PRONOUN_INTENTS[op], self.held_out)

    # --- the core of a request ---

    def mention(
        self, rng: Random, p: Param, v: Value, first: bool = False, bare: bool = False
    ) -> str:
        """How the request names one argument. A bare value ("{}") only comes first, right
        after the intent, where it cannot be read as another parameter's."""
        f = p.field
        if f.type == "flag" or (first and bare):
            return v.text
        if f.type in ("date", "past_date", "datetime") and _RELATIVE.match(v.text):
            return v.text
        generic = not f.type.startswith("id:") and not f.name.startswith(
            ("from", "to", "min", "max", "source", "target", "base", "past")
        )
        if generic and rng.random() < 0.1 and len(f.noun) > 4:
            return rng.choice([f"with {f.noun} {v.text}", f"with the {f.noun} {v.text}"])
        templates = [m for m in f.mentions if m != "{}" or first] or list(f.mentions)
        return rng.choice(templates).format(v.text)

    def core(
        self,
        rng: Random,
        tool: CatalogTool,
        args: dict[str, Value],
        refs: dict[str, tuple[str, str]] | None = None,
        intent: str | None = None,
    ) -> str:
        """Intent plus mentions of ``args`` (every one of them, once). ``refs`` stands for
        arguments the model must take from an earlier result: (noun phrase for a slot,
        adverbial for a mention). Raises ValueError when no intent fits the arguments."""
        refs = refs or {}
        names = {p.name: p for p in tool.params}
        given = set(args) | set(refs)
        if intent is None:
            intents = [i for i in self.intents(tool) if _slots_ok(i, tool, given)]
            if not intents:
                raise ValueError(f"no intent of {tool.name} fits the arguments {sorted(given)}")
            intent = rng.choice(intents)
        slotted = set()
        for slot in re.findall(r"\{(\w+)\}", intent):
            p = tool.param(slot)
            slotted.add(p.name)
            text = refs[p.name][0] if p.name in refs else args[p.name].text
            intent = intent.replace("{" + slot + "}", text, 1)
        rest = [n for n in args if n not in slotted] + [n for n in refs if n not in slotted]
        if tool.op == "update":
            return self._update_core(rng, tool, intent, args, refs, rest)
        required = [n for n in rest if names[n].required and names[n].field.type != "flag"]
        others = [n for n in rest if n not in required]
        order = required + others
        if rng.random() < 0.3:  # the first required argument stays first
            tail = order[1:]
            rng.shuffle(tail)
            order = order[:1] + tail
        bare = bool(_PREPOSITION_END.search(intent))
        parts = []
        for i, n in enumerate(order):
            if n in refs:
                parts.append(refs[n][1])
            else:
                parts.append(self.mention(rng, names[n], args[n], first=i == 0, bare=bare))
        return " ".join([intent, *parts]) if parts else intent

    def _update_core(self, rng, tool, intent, args, refs, rest) -> str:
        names = {p.name: p for p in tool.params}
        ident = [n for n in rest if names[n].required]
        fields = [n for n in rest if not names[n].required]
        head = " ".join(
            [
                intent,
                *(
                    refs[n][1] if n in refs else self.mention(rng, names[n], args[n], True)
                    for n in ident
                ),
            ]
        )
        sets = [
            f"the {names[n].field.noun} to {args[n].text}"
            for n in fields
            if names[n].field.type != "flag"
        ]
        flags = [args[n].text for n in fields if names[n].field.type == "flag" and n in args]
        out = head
        if sets:
            out += rng.choice(self.lists["update"]).format(x=say_list(rng, sets))
        if flags:
            out += " and mark it " + " and ".join(flags)
        return out


def _slots_ok(intent: str, tool: CatalogTool, given: set[str]) -> bool:
    for slot in re.findall(r"\{(\w+)\}", intent):
        p = tool.param(slot)
        if p is None or p.name not in given or p.field.type == "flag":
            return False
    return True
