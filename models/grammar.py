"""Constrained decoding: a grammar over token ids, built live from the tools' JSON Schemas.

A model turn is ``PART* ⟨eot⟩`` where a part is free text, ``⟨think⟩ Text? ⟨end⟩`` or a call
``⟨call⟩ NAME (⟨arg⟩ PARAM VALUE)* ⟨end⟩`` (``models/language.py``). The grammar admits only
the tools on offer (spelled with their canonical identifier pieces), only the parameters of the
tool being called (each at most once, the required ones before ``⟨end⟩``), and values of each
parameter's type: integers as integers, enums as one of their values, arrays and objects well
formed and recursively typed. Text stays free. It works on the tool modality's own tokens, so
a step costs a few set lookups, not a pass over the text vocabulary: the text vocabulary is
either wholly allowed (free text) or wholly refused (inside structure).

The state is a set of stacks of immutable frames (usually one stack; a name that is a prefix
of another, or a union of schemas, keeps several alive until a token decides). ``Matcher``
tracks it token by token; ``allowed()`` says what may come next. A text token where text is
free (the bulk of a turn) leaves the state as it is: ``advance`` sees that from the state's
``allowed()`` and costs a few comparisons, and ``allowed()`` is not computed again. The
frames' own ``Allowed`` sets are made once (per grammar, trie node or object schema), not per
token.

    matcher = Matcher(Grammar(tokenizer, tools))
    allowed = matcher.allowed()          # Allowed(text, names, ids)
    matcher.advance(token_id)            # False: the token is outside the grammar

Supported JSON Schema: ``type`` (one or a list), ``enum``, ``const``, ``anyOf``/``oneOf``,
``allOf`` of objects, ``properties`` + ``required`` (undeclared keys are refused when
``properties`` exist), objects without properties (any keys), ``items``, ``minItems`` /
``maxItems``, local ``$ref`` (``#/...``), ``minimum`` + ``maximum`` of integers (a range of up
to 1000 values is a fixed set), ``minimum`` >= 0 (no sign), and a string's ``pattern`` (or,
without one, its ``format`` where ``FORMATS`` has it: date, time, date-time, email, uuid,
ipv4). The regular expression becomes an automaton over characters (interegular), and a text
token is allowed in the string only where its text keeps a match possible; the value ends
only where it matches (JSON Schema's search semantics: an unanchored end may be followed or
preceded by anything). A pattern interegular cannot read (backreferences, lookbehinds,
anchors inside alternatives) leaves the string free, and text the automaton cannot spell
token by token (characters outside ASCII given as single bytes) is not written there. Other
keywords (other formats, string lengths, other bounds...) do not narrow the mask; arguments
are validated with jsonschema before any call anyway.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

from bslm.models.language import NUM_CHARS, SYMBOLS, VALUE_STARTS, Name, value_items
from bslm.models.tokenizer import DualTokenizer
from bslm.models.tools import ToolSpec

MAX_STACKS = 64  # ambiguity bound: no real schema gets near it
MAX_NUMBER_CHARS = 24
MAX_SCHEMA_DEPTH = 32  # $ref chains deeper than this are taken as "any"

_MISSING = object()


def json_pointer(root: Any, ref: str, missing: Any = None) -> Any:
    """The node a local ``$ref`` (``#/a/b/0``) points to in ``root``, or ``missing``."""
    node = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return missing
    return node


_NO_PARAMS: dict = {}
# the formats a string value is held to (without a ``pattern`` of its own), as patterns: those
# of RFC 3339 (JSON Schema's date, time and date-time), e-mail addresses, UUIDs, IPv4
_DATE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_TIME = r"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)"
_BYTE = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
FORMATS = {
    "date": f"^{_DATE}$",
    "time": f"^{_TIME}$",
    "date-time": f"^{_DATE}[Tt]{_TIME}$",
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uuid": r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$",
    "ipv4": rf"^({_BYTE}\.){{3}}{_BYTE}$",
}
MAX_RANGE_VALUES = 1000  # integer ranges up to this size are spelled out as a fixed set


@dataclass(frozen=True, slots=True)
class Allowed:
    """What may come next: every text token (``text``), every identifier piece (``names``),
    plus the ids in ``ids`` (tool tokens, or text tokens of an enum's string)."""

    text: bool = False
    names: bool = False
    ids: frozenset[int] = frozenset()

    def __or__(self, o: Allowed) -> Allowed:
        if self is NOTHING:
            return o
        if o.ids <= self.ids and o.text <= self.text and o.names <= self.names:
            return self
        return Allowed(self.text or o.text, self.names or o.names, self.ids | o.ids)

    @property
    def empty(self) -> bool:
        return not (self.text or self.names or self.ids)


NOTHING = Allowed()
TEXT = Allowed(text=True)
NAMES = Allowed(names=True)


class Trie:
    """Token-id sequences with a value at each end."""

    __slots__ = ("children", "value", "keys", "allowed")

    def __init__(self):
        self.children: dict[int, Trie] = {}
        self.value: Any = None
        self.keys: frozenset[int] = frozenset()
        self.allowed: Allowed = NOTHING  # the keys, as what may come next (set by freeze)

    def add(self, ids: list[int], value: Any) -> None:
        node = self
        for i in ids:
            node = node.children.setdefault(i, Trie())
        node.value = value

    def freeze(self) -> Trie:
        self.keys = frozenset(self.children)
        self.allowed = Allowed(ids=self.keys)
        for c in self.children.values():
            c.freeze()
        return self


# --- schemas --------------------------------------------------------------------------------


@dataclass
class Members:
    """The keys of an object (or a call's parameters): name trie, schemas, required."""

    trie: Trie
    schemas: dict[str, Any]
    required: frozenset[str]
    # per-name tries of the names left: built on demand, keyed by the names already used
    _left: dict[frozenset, Trie] = field(default_factory=dict)
    # what may come next in a Keys frame, keyed by (names used, separator)
    _allowed: dict[tuple, Allowed] = field(default_factory=dict)


class Grammar:
    """The tools on offer, compiled for one tokenizer. Cheap to build (a trie per tool and per
    object schema, filled lazily), so the runtime builds one whenever the tool list changes."""

    def __init__(
        self,
        tok: DualTokenizer,
        tools: list[ToolSpec],
        *,
        forbid: frozenset[str] | set[str] = frozenset(),
        force: str | None = None,
    ):
        self.tok = tok
        off = tok.offset
        self.sym = {s: off + i for i, s in enumerate(SYMBOLS)}
        self.num = {off + tok.tool.num_id[c]: c for c in NUM_CHARS}
        self.name_lo = off + len(SYMBOLS) + len(NUM_CHARS)
        self.name_hi = len(tok)
        self.text_hi = off  # ids below are text; the base's control tokens are refused
        base = tok.base
        self.text_refused = frozenset(
            i for i in (getattr(base, "all_special_ids", None) or []) if i < off
        )
        self.tools = {t.name: t for t in tools if t.name not in forbid}
        if force is not None and force not in self.tools:
            raise ValueError(f"the tool {force!r} that must be used is not available")
        self.force = force
        self.names = Trie()
        for name in self.tools:
            self.names.add(self.name_ids(name), name)
        self.names.freeze()
        self._forced = Trie()
        if force is not None:
            self._forced.add(self.name_ids(force), force)
        self._forced.freeze()
        # the Allowed sets that depend on the symbols alone, made once
        sym = self.sym
        opens = {sym["think"], sym["call"]} if self.tools else {sym["think"]}
        self.in_turn = {  # keyed by "the forced tool's call is still owed"
            True: Allowed(text=True, ids=frozenset(opens)),
            False: Allowed(text=True, ids=frozenset(opens | {sym["eot"]})),
        }
        self.in_think = Allowed(text=True, ids=frozenset({sym["end"]}))
        self.closing = Allowed(ids=frozenset({sym["end"]}))
        self.starts = {
            kind: Allowed(ids=frozenset(sym[x] for x in starts)) for kind, starts in _STARTS.items()
        }
        self._numbers: dict[tuple, Allowed] = {}
        self._members: dict[int, Members] = {}
        self._alts: dict[int, list] = {}
        self._fixed: dict[int, Trie] = {}
        self._keep: list = []  # schemas whose id() keys the caches stay alive

    # --- token classes ---

    def name_ids(self, name: str) -> list[int]:
        return self.tok.item_ids(Name(name))

    def is_text(self, t: int) -> bool:
        return t < self.text_hi and t not in self.text_refused

    def is_name(self, t: int) -> bool:
        return self.name_lo <= t < self.name_hi

    def allows(self, a: Allowed, t: int) -> bool:
        return t in a.ids or (a.text and self.is_text(t)) or (a.names and self.is_name(t))

    # --- schema compilation ---

    def members(self, schema: dict, root: Any) -> Members:
        key = id(schema)
        m = self._members.get(key)
        if m is None:
            props = schema.get("properties") or {}
            req = schema.get("required")
            trie = Trie()
            for name in props:
                if name:
                    trie.add(self.name_ids(name), name)
            m = Members(
                trie.freeze(),
                {k: (v, root) for k, v in props.items()},
                frozenset(r for r in req if r in props) if isinstance(req, list) else frozenset(),
            )
            self._members[key] = m
            self._keep.append(schema)
        return m

    def left_trie(self, m: Members, used: frozenset) -> Trie:
        t = m._left.get(used)
        if t is None:
            if not used:
                t = m.trie
            else:
                t = Trie()
                for name in m.schemas:
                    if name and name not in used:
                        t.add(self.name_ids(name), name)
                t.freeze()
            m._left[used] = t
        return t

    def fixed(self, values: list, key: int) -> Trie:
        """A trie over the token ids of each value (an enum)."""
        t = self._fixed.get(key)
        if t is None:
            t = Trie()
            for v in values:
                try:
                    ids = self.tok.encode(value_items(v)).ids
                except ValueError:
                    continue
                t.add(ids, True)
            self._fixed[key] = t.freeze()
        return t

    def _number(self, t: str, s: dict) -> tuple:
        """("integer"|"number", unsigned), or a fixed set for a small integer range."""
        lo, hi = s.get("minimum"), s.get("maximum")
        num = (int, float)
        if (
            t == "integer"
            and isinstance(lo, num)
            and isinstance(hi, num)
            and not isinstance(lo, bool)
            and not isinstance(hi, bool)
            and 0 <= hi - lo <= MAX_RANGE_VALUES
        ):
            values = list(range(math.ceil(lo), math.floor(hi) + 1))
            return ("fixed", self.fixed(values, id(s) * 4 + 2))
        unsigned = isinstance(lo, num) and not isinstance(lo, bool) and lo >= 0
        return (t, unsigned)

    def _string(self, s: dict) -> tuple:
        pattern = s.get("pattern")
        if not isinstance(pattern, str):
            pattern = FORMATS.get(s.get("format")) if isinstance(s.get("format"), str) else None
        if pattern is not None:
            auto = Pattern.of(self.tok, pattern)
            if auto is not None:
                return ("pattern", auto)
        return ("string",)

    def resolve(self, schema: Any, root: Any, depth: int = 0) -> Any:
        """Follow a local ``$ref``; anything unresolvable is "any" (True)."""
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if depth > MAX_SCHEMA_DEPTH or not ref.startswith("#"):
                return True
            node = json_pointer(root, ref, _MISSING)
            if node is _MISSING:
                return True
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = node if not rest or not isinstance(node, dict) else {**node, **rest}
            depth += 1
        return schema

    def alternatives(self, schema: Any, root: Any, depth: int = 0) -> list[tuple]:
        """The shapes a value of ``schema`` may take, as tuples:
        ("fixed", trie) ("string",) ("number",) ("integer",) ("boolean",) ("null",)
        ("array", items, min, max) ("object", members) ("map", values) ("any",)."""
        schema = self.resolve(schema, root, depth)
        if not isinstance(schema, dict):
            return [("never",)] if schema is False else [("any",)]
        key = id(schema)
        if key in self._alts:
            return self._alts[key]
        self._alts[key] = [("any",)]  # a schema that refers to itself while compiling
        self._keep.append(schema)
        out = self._alternatives(schema, root, depth)
        self._alts[key] = out
        return out

    def _alternatives(self, s: dict, root: Any, depth: int) -> list[tuple]:
        if "const" in s:
            return [("fixed", self.fixed([s["const"]], id(s) * 4 + 1))]
        if isinstance(s.get("enum"), list):
            return [("fixed", self.fixed(s["enum"], id(s) * 4))]
        for key in ("anyOf", "oneOf"):
            subs = s.get(key)
            if isinstance(subs, list) and subs:
                base = {k: v for k, v in s.items() if k != key}
                out = []
                for sub in subs:
                    merged = {**base, **sub} if isinstance(sub, dict) else sub
                    if merged is not sub:
                        self._keep.append(merged)
                    out += self.alternatives(merged, root, depth + 1)
                return out or [("any",)]
        if isinstance(s.get("allOf"), list) and all(isinstance(x, dict) for x in s["allOf"]):
            merged = {k: v for k, v in s.items() if k != "allOf"}
            props, req = dict(merged.get("properties") or {}), list(merged.get("required") or [])
            for sub in s["allOf"]:
                sub = self.resolve(sub, root, depth + 1)
                if not isinstance(sub, dict):
                    continue
                props |= sub.get("properties") or {}
                req += sub.get("required") or []
                merged = {**sub, **merged}
            if props:
                merged |= {"type": "object", "properties": props, "required": req}
            self._keep.append(merged)
            return self.alternatives(merged, root, depth + 1)
        t = s.get("type")
        types = [t] if isinstance(t, str) else t if isinstance(t, list) else None
        if types is None:
            if isinstance(s.get("properties"), dict):
                types = ["object"]
            elif "items" in s:
                types = ["array"]
            else:
                return [("any",)]
        out = []
        for t in types:
            if t in ("number", "integer"):
                out.append(self._number(t, s))
            elif t == "string":
                out.append(self._string(s))
            elif t in ("boolean", "null"):
                out.append((t,))
            elif t == "array":
                items = s.get("items", True)
                lo = s.get("minItems", 0)
                hi = s.get("maxItems")
                out.append(
                    (
                        "array",
                        items if not isinstance(items, list) else True,
                        root,
                        lo if isinstance(lo, int) else 0,
                        hi if isinstance(hi, int) else None,
                    )
                )
            elif t == "object":
                # declared properties close the object: an undeclared key is an invented one
                if isinstance(s.get("properties"), dict):
                    out.append(("object", self.members(s, root)))
                else:
                    extra = s.get("additionalProperties", True)
                    out.append(("map", extra if isinstance(extra, dict) else True, root))
        return out or [("any",)]


# --- frames ---------------------------------------------------------------------------------
# A frame's ``allowed`` is what it can take next; ``done`` says it may be complete (so what
# follows it is allowed too); ``step`` returns the replacements for it on the stack, one tuple
# per way the token can be read ([] refuses the token, [()] completes the frame).


class Frame:
    __slots__ = ()
    done = False
    # Takes every text token and stays as it is. Exactly the frames whose ``allowed`` has
    # ``text``; every other frame takes only the ids (or names) its ``allowed`` lists, so a
    # text token outside ``allowed().ids`` is decided by these frames alone (Matcher.advance).
    text_loops = False

    def allowed(self, g: Grammar) -> Allowed:
        raise NotImplementedError

    def step(self, g: Grammar, t: int) -> list[tuple]:
        raise NotImplementedError


class Turn(Frame):
    __slots__ = ("force",)
    text_loops = True

    def __init__(self, force: bool):
        self.force = force  # a call to the forced tool is still owed

    def allowed(self, g):
        return g.in_turn[self.force]

    def step(self, g, t):
        if g.is_text(t):
            return [(self,)]
        if t == g.sym["think"]:
            return [(self, Think())]
        if t == g.sym["call"] and g.tools:
            if self.force:
                return [(Turn(False), CallName(g._forced))]
            return [(self, CallName(g.names))]
        if t == g.sym["eot"] and not self.force:
            return [()]
        return []


class Think(Frame):
    __slots__ = ()
    text_loops = True

    def allowed(self, g):
        return g.in_think

    def step(self, g, t):
        if g.is_text(t):
            return [(self,)]
        return [()] if t == g.sym["end"] else []


class Walk(Frame):
    """A walk down a trie of token sequences (names, enum values). Where a sequence ends,
    ``finish`` gives what replaces the walk; where it goes on, the walk goes on too."""

    __slots__ = ("node",)

    def __init__(self, node: Trie):
        self.node = node

    def allowed(self, g):
        return self.node.allowed

    def moved(self, node: Trie) -> Walk:
        raise NotImplementedError

    def finish(self, g: Grammar, value: Any) -> tuple:
        raise NotImplementedError

    def step(self, g, t):
        child = self.node.children.get(t)
        if child is None:
            return []
        out = [(self.moved(child),)] if child.children else []
        if child.value is not None:
            out.append(self.finish(g, child.value))
        return out


class CallName(Walk):
    """The name of a tool on offer; its parameters follow."""

    __slots__ = ()

    def moved(self, node):
        return CallName(node)

    def finish(self, g, value):
        return (args_frame(g, g.tools[value]),)


def args_frame(g: Grammar, spec: ToolSpec) -> Frame:
    params = spec.parameters
    if params is None:
        return Keys(g.members(_NO_PARAMS, None), frozenset(), "arg")
    alts = g.alternatives(params, params)
    objects = [a for a in alts if a[0] == "object"]
    if objects:
        return Keys(objects[0][1], frozenset(), "arg")
    if any(a[0] == "map" for a in alts):
        m = next(a for a in alts if a[0] == "map")
        return FreeKeys(m[1], m[2], "arg")
    return FreeKeys(True, params, "arg")


class Keys(Frame):
    """An object's members, or a call's parameters (``sep`` = the ``arg`` symbol before each
    name), each at most once, closed by ``⟨end⟩`` once the required ones are in."""

    __slots__ = ("m", "used", "sep")

    def __init__(self, m: Members, used: frozenset, sep: str | None):
        self.m, self.used, self.sep = m, used, sep

    def _closable(self) -> bool:
        return self.m.required <= self.used

    def allowed(self, g):
        a = self.m._allowed.get((self.used, self.sep))
        if a is None:
            ids = set()
            trie = g.left_trie(self.m, self.used)
            if trie.keys:
                if self.sep:
                    ids.add(g.sym[self.sep])
                else:
                    ids |= trie.keys
            if self._closable():
                ids.add(g.sym["end"])
            a = self.m._allowed[(self.used, self.sep)] = Allowed(ids=frozenset(ids))
        return a

    def step(self, g, t):
        if t == g.sym["end"]:
            return [()] if self._closable() else []
        trie = g.left_trie(self.m, self.used)
        if self.sep:
            return [(KeyName(self, trie),)] if t == g.sym[self.sep] and trie.keys else []
        return KeyName(self, trie).step(g, t)


class KeyName(Walk):
    """A member's name among those left; its value follows."""

    __slots__ = ("keys",)

    def __init__(self, keys: Keys, node: Trie):
        super().__init__(node)
        self.keys = keys

    def moved(self, node):
        return KeyName(self.keys, node)

    def finish(self, g, value):
        k = self.keys
        schema, root = k.m.schemas[value]
        return (Keys(k.m, k.used | {value}, k.sep), Value(schema, root))


class FreeKeys(Frame):
    """An object without declared properties: any names, each followed by a value."""

    __slots__ = ("values", "root", "sep")

    def __init__(self, values: Any, root: Any, sep: str | None):
        self.values, self.root, self.sep = values, root, sep

    def allowed(self, g):
        ids = {g.sym["end"]}
        if self.sep:
            return Allowed(ids=frozenset(ids | {g.sym[self.sep]}))
        return Allowed(names=True, ids=frozenset(ids))

    def step(self, g, t):
        if t == g.sym["end"]:
            return [()]
        if self.sep:
            return [(self, FreeName(self.values, self.root, False))] if t == g.sym[self.sep] else []
        return [(self, FreeName(self.values, self.root, True))] if g.is_name(t) else []


class FreeName(Frame):
    __slots__ = ("values", "root", "started")

    def __init__(self, values: Any, root: Any, started: bool):
        self.values, self.root, self.started = values, root, started

    def allowed(self, g):
        if not self.started:
            return NAMES
        return NAMES | Value(self.values, self.root).allowed(g)

    def step(self, g, t):
        if g.is_name(t):
            return [(FreeName(self.values, self.root, True),)]
        return Value(self.values, self.root).step(g, t) if self.started else []


class Value(Frame):
    """A value of a schema, before its first token."""

    __slots__ = ("schema", "root")

    def __init__(self, schema: Any, root: Any):
        self.schema, self.root = schema, root

    def allowed(self, g):
        alts = g.alternatives(self.schema, self.root)
        a = _starts(g, alts[0])
        for alt in alts[1:]:
            a = a | _starts(g, alt)
        return a

    def step(self, g, t):
        out = []
        for alt in g.alternatives(self.schema, self.root):
            out += _enter(g, alt, t)
        return out


_STARTS = {
    "string": ("s",),
    "pattern": ("s",),
    "number": ("n",),
    "integer": ("n",),
    "boolean": ("true", "false"),
    "null": ("null",),
    "array": ("arr",),
    "object": ("obj",),
    "map": ("obj",),
    "any": tuple(VALUE_STARTS),
    "never": (),
}


def _starts(g: Grammar, alt: tuple) -> Allowed:
    return alt[1].allowed if alt[0] == "fixed" else g.starts[alt[0]]


def _enter(g: Grammar, alt: tuple, t: int) -> list[tuple]:
    kind = alt[0]
    if kind == "fixed":
        return Fixed(alt[1]).step(g, t)
    if kind == "any":
        if t == g.sym["s"]:
            return [(String(),)]
        if t == g.sym["n"]:
            return [(Number(False, "start", 0, False),)]
        if t in (g.sym["true"], g.sym["false"], g.sym["null"]):
            return [()]
        if t == g.sym["arr"]:
            return [(Array(True, None, 0, 0, None),)]
        if t == g.sym["obj"]:
            return [(FreeKeys(True, None, None),)]
        return []
    if t not in {g.sym[s] for s in _STARTS[kind]}:
        return []
    if kind == "string":
        return [(String(),)]
    if kind == "pattern":
        return [(Matching(alt[1], alt[1].initial),)]
    if kind in ("number", "integer"):
        return [(Number(kind == "integer", "start", 0, alt[1]),)]
    if kind in ("boolean", "null"):
        return [()]
    if kind == "array":
        return [(Array(alt[1], alt[2], 0, alt[3], alt[4]),)]
    if kind == "object":
        return [(Keys(alt[1], frozenset(), None),)]
    return [(FreeKeys(alt[1], alt[2], None),)]  # map


class String(Frame):
    """The text of a string value (possibly empty)."""

    __slots__ = ()
    done = True
    text_loops = True

    def allowed(self, g):
        return TEXT

    def step(self, g, t):
        return [(self,)] if g.is_text(t) else []


class Pattern:
    """A string pattern's automaton over characters, and for each of its states the text
    tokens that keep a match possible (found the first time the state is reached, from the
    tokens grouped by first character, then kept for every later grammar of the tokenizer)."""

    def __init__(self, fsm, by_first: dict[str, list[tuple[int, str]]]):
        self.fsm, self.by_first = fsm, by_first
        self.initial = fsm.initial
        self.finals = frozenset(fsm.finals)
        self.live = _live_states(fsm)
        self._tokens: dict[Any, dict[int, Any]] = {}
        self._allowed: dict[Any, Allowed] = {}

    @classmethod
    def of(cls, tok: DualTokenizer, pattern: str) -> Pattern | None:
        """The automaton of ``pattern`` for ``tok``'s text tokens (kept with the tokenizer);
        None when the pattern is outside what interegular reads (the string stays free)."""
        cache = tok.__dict__.setdefault("_grammar_patterns", {})
        if pattern not in cache:
            fsm = _pattern_fsm(pattern)
            cache[pattern] = None if fsm is None else cls(fsm, cls._first_chars(tok))
        return cache[pattern]

    @staticmethod
    def _first_chars(tok: DualTokenizer) -> dict[str, list[tuple[int, str]]]:
        """The text tokens that spell text on their own, grouped by first character."""
        groups = tok.__dict__.get("_grammar_texts")
        if groups is None:
            refused = set(getattr(tok.base, "all_special_ids", None) or [])
            groups = {}
            for i in range(tok.offset):
                if i in refused:
                    continue
                text = tok.decode_text([i])
                # a lone byte of a longer UTF-8 character decodes to U+FFFD: not spelled here
                if text and "\ufffd" not in text:
                    groups.setdefault(text[0], []).append((i, text))
            tok.__dict__["_grammar_texts"] = groups
        return groups

    def _walk(self, state, text: str):
        fsm = self.fsm
        for c in text:
            state = fsm.map[state].get(fsm.alphabet[c])
            if state is None or state not in self.live:
                return None
        return state

    def tokens(self, state) -> dict[int, Any]:
        """{text token: the state after it} for the tokens allowed in ``state``."""
        out = self._tokens.get(state)
        if out is None:
            out = {}
            fsm = self.fsm
            for first, group in self.by_first.items():
                nxt = fsm.map[state].get(fsm.alphabet[first])
                if nxt is None or nxt not in self.live:
                    continue
                for i, text in group:
                    end = self._walk(nxt, text[1:])
                    if end is not None:
                        out[i] = end
            self._tokens[state] = out
        return out

    def allowed(self, state) -> Allowed:
        a = self._allowed.get(state)
        if a is None:
            a = self._allowed[state] = Allowed(ids=frozenset(self.tokens(state)))
        return a


MAX_PATTERN_CHARS = 512
MAX_PATTERN_STATES = 1000  # an automaton step's states, at most (a blow-up leaves it free)
_BUILDING = threading.Lock()


class _TooLarge(Exception):
    pass


def _bounded_crawl(alphabet, initial, final, follow):
    """interegular's ``fsm.crawl`` (which builds every automaton it makes) with a bound on
    the states: a pattern such as ``a.{40}$`` would otherwise take 2^40 of them."""
    from interegular.fsm import FSM, OblivionError

    states, finals, moves = [initial], set(), {}
    i = 0
    while i < len(states):
        state = states[i]
        if final(state):
            finals.add(i)
        moves[i] = {}
        for transition in alphabet.by_transition:
            try:
                nxt = follow(state, transition)
            except OblivionError:
                continue
            try:
                j = states.index(nxt)
            except ValueError:
                j = len(states)
                if j >= MAX_PATTERN_STATES:
                    raise _TooLarge from None
                states.append(nxt)
            moves[i][transition] = j
        i += 1
    return FSM(
        alphabet=alphabet,
        states=range(len(states)),
        initial=0,
        finals=finals,
        map=moves,
        __no_validation__=True,
    )


def _pattern_fsm(pattern: str):
    """interegular's automaton of a JSON Schema ``pattern`` (a search: an end that is not
    anchored takes anything), or None: a pattern it cannot read, or one past the bounds."""
    import interegular
    import interegular.fsm

    if len(pattern) > MAX_PATTERN_CHARS:
        return None
    body, any_text = pattern, r"[\s\S]*"
    body = body[1:] if body.startswith("^") else any_text + body
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    else:
        body += any_text
    with _BUILDING:
        crawl, interegular.fsm.crawl = interegular.fsm.crawl, _bounded_crawl
        try:
            return interegular.parse_pattern(body).to_fsm()
        except Exception:  # noqa: BLE001 (interegular raises many kinds for what it cannot read)
            return None
        finally:
            interegular.fsm.crawl = crawl


def _live_states(fsm) -> frozenset:
    """The states from which a final state can be reached."""
    back: dict[Any, set] = {}
    for src, moves in fsm.map.items():
        for dst in moves.values():
            back.setdefault(dst, set()).add(src)
    live, todo = set(fsm.finals), list(fsm.finals)
    while todo:
        for src in back.get(todo.pop(), ()):
            if src not in live:
                live.add(src)
                todo.append(src)
    return frozenset(live)


class Matching(Frame):
    """The text of a string value with a ``pattern``, in a state of its automaton."""

    __slots__ = ("auto", "state", "done")

    def __init__(self, auto: Pattern, state: Any):
        self.auto, self.state = auto, state
        self.done = state in auto.finals

    def allowed(self, g):
        return self.auto.allowed(self.state)

    def step(self, g, t):
        nxt = self.auto.tokens(self.state).get(t)
        return [] if nxt is None else [(Matching(self.auto, nxt),)]


# JSON number automaton over the number characters: state -> {char: state}; accepting states
# may end. Integers never take '.' or 'e'.
_DIGITS = "0123456789"
_NUM = {
    "start": {"-": "sign", "0": "zero", **{d: "int" for d in "123456789"}},
    "sign": {"0": "zero", **{d: "int" for d in "123456789"}},
    "zero": {".": "dot", "e": "e"},
    "int": {**{d: "int" for d in _DIGITS}, ".": "dot", "e": "e"},
    "dot": {d: "frac" for d in _DIGITS},
    "frac": {**{d: "frac" for d in _DIGITS}, "e": "e"},
    "e": {"+": "esign", "-": "esign", **{d: "exp" for d in _DIGITS}},
    "esign": {d: "exp" for d in _DIGITS},
    # two exponent digits at most: every such number is a finite float
    "exp": {d: "exp2" for d in _DIGITS},
    "exp2": {},
}
_NUM_ACCEPT = frozenset({"zero", "int", "frac", "exp", "exp2"})


class Number(Frame):
    """A JSON number, an integer when ``integer``, not negative when ``unsigned``."""

    __slots__ = ("integer", "state", "n", "unsigned", "done")

    def __init__(self, integer: bool, state: str, n: int, unsigned: bool = False):
        self.integer, self.state, self.n, self.unsigned = integer, state, n, unsigned
        self.done = state in _NUM_ACCEPT

    def _next(self) -> dict[str, str]:
        if self.n >= MAX_NUMBER_CHARS:
            return {}
        nxt = _NUM[self.state]
        if self.integer:
            nxt = {c: s for c, s in nxt.items() if c not in ".e"}
        if self.unsigned and self.state == "start":
            nxt = {c: s for c, s in nxt.items() if c != "-"}
        return nxt

    def allowed(self, g):
        key = (self.state, self.integer, self.unsigned, self.n >= MAX_NUMBER_CHARS)
        a = g._numbers.get(key)
        if a is None:
            chars = self._next()
            a = g._numbers[key] = Allowed(ids=frozenset(i for i, c in g.num.items() if c in chars))
        return a

    def step(self, g, t):
        c = g.num.get(t)
        s = self._next().get(c) if c is not None else None
        return [(Number(self.integer, s, self.n + 1, self.unsigned),)] if s else []


class Array(Frame):
    __slots__ = ("items", "root", "count", "lo", "hi")

    def __init__(self, items: Any, root: Any, count: int, lo: int, hi: int | None):
        self.items, self.root, self.count, self.lo, self.hi = items, root, count, lo, hi

    def allowed(self, g):
        a = g.closing if self.count >= self.lo else NOTHING
        if self.hi is None or self.count < self.hi:
            a = a | Value(self.items, self.root).allowed(g)
        return a

    def step(self, g, t):
        if t == g.sym["end"]:
            return [()] if self.count >= self.lo else []
        if self.hi is not None and self.count >= self.hi:
            return []
        nxt = Array(self.items, self.root, self.count + 1, self.lo, self.hi)
        return [(nxt, *r) for r in Value(self.items, self.root).step(g, t)]


class Fixed(Walk):
    """One of a set of token sequences (an enum's values)."""

    __slots__ = ()

    def moved(self, node):
        return Fixed(node)

    def finish(self, g, value):
        return ()


# --- the matcher ----------------------------------------------------------------------------


class Matcher:
    """Where a model turn stands in the grammar, advanced one token at a time."""

    def __init__(self, grammar: Grammar):
        self.g = grammar
        self.stacks: list[tuple] = [(Turn(grammar.force is not None),)]
        self._allowed: Allowed | None = None
        self._on_text: list[tuple] = []  # the stacks after a text token outside allowed().ids

    def fork(self) -> Matcher:
        """A matcher at the same point, advanced apart from this one (frames never change
        once made: the two share them)."""
        m = Matcher(self.g)
        m.stacks = list(self.stacks)
        return m

    @property
    def finished(self) -> bool:
        """The turn is over (``⟨eot⟩`` was taken)."""
        return any(not s for s in self.stacks)

    @property
    def failed(self) -> bool:
        return not self.stacks

    @property
    def in_think(self) -> bool:
        """Inside a ``⟨think⟩`` block."""
        return any(s and type(s[-1]) is Think for s in self.stacks)

    @property
    def in_string(self) -> bool:
        """The next token may continue a string value."""
        return any(s and type(s[-1]) in (String, Matching) for s in self.stacks)

    def allowed(self) -> Allowed:
        if self._allowed is None:
            g = self.g
            a, on_text = NOTHING, []
            for stack in self.stacks:
                for i in range(len(stack) - 1, -1, -1):
                    frame = stack[i]
                    a = a | frame.allowed(g)
                    if frame.text_loops:
                        on_text.append(stack[: i + 1])
                    if not frame.done:
                        break
            self._allowed, self._on_text = a, on_text
        return self._allowed

    def advance(self, t: int) -> bool:
        """Take token ``t``; False (and no change) when the grammar refuses it."""
        a = self._allowed
        if a is not None and a.text and t not in a.ids and self.g.is_text(t):
            # only the frames that loop on text take it (Frame.text_loops), each staying as
            # it is: usually every stack as it stands, and nothing changes
            nxt = self._on_text
            if nxt == self.stacks:
                return True
        else:
            nxt = self._step(t)
        if not nxt:
            return False
        self.stacks = nxt[:MAX_STACKS]
        self._allowed = None
        return True

    def _step(self, t: int) -> list[tuple]:
        """The stacks after ``t``, asking every frame that can take it."""
        g = self.g
        nxt: list[tuple] = []
        for stack in self.stacks:
            i = len(stack) - 1
            while i >= 0:
                frame = stack[i]
                nxt += [stack[:i] + r for r in frame.step(g, t)]
                if not frame.done:
                    break
                i -= 1
        return nxt

    def accepts(self, ids: list[int]) -> bool:
        """Whether the whole sequence is a complete turn (for tests and checks)."""
        for t in ids:
            if self.finished or not self.advance(t):
                return False
        return self.finished
