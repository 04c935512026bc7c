"""The one parser of the tool language (grammar in ``language.py``).

``parse_tools``, ``parse_call``, ``parse_value``... read well-formed sequences and raise
``LanguageError`` (a ValueError naming the item where the sequence broke). ``parse_output``
reads what a model wrote and never raises: it returns the calls and text it could read, and a
``ParseError`` saying where the output broke.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import BslmError
from .language import (
    PROP_MARKS,
    TYPE_SYMBOLS,
    VALUE_STARTS,
    Item,
    Name,
    Num,
    Sym,
    Text,
    parse_number,
)
from .tools import ToolCall, ToolResult, ToolSpec


class LanguageError(BslmError, ValueError):
    """A sequence that is not in the tool language; ``position`` is the index of the item
    where it broke (``len(items)`` when it ended too early)."""

    def __init__(self, position: int, message: str):
        super().__init__(f"at item {position}: {message}")
        self.position = position
        self.message = message


@dataclass(frozen=True)
class ParseError:
    position: int
    message: str


@dataclass
class Thought:
    text: str


@dataclass
class ModelOutput:
    """What a model turn said: ``parts`` in order (``str`` text, ``Thought``, ``ToolCall``)."""

    parts: list = field(default_factory=list)
    error: ParseError | None = None
    ended: bool = False  # the turn was closed by ``eot``
    broken_call: bool = False  # the error is inside a call: an attempt at one that does not parse

    @property
    def calls(self) -> list[ToolCall]:
        return [p for p in self.parts if isinstance(p, ToolCall)]

    @property
    def text(self) -> str:
        return "".join(p for p in self.parts if isinstance(p, str))

    @property
    def thinking(self) -> str:
        return "\n".join(p.text for p in self.parts if isinstance(p, Thought))


def _describe(it: Item | None) -> str:
    if it is None:
        return "the end"
    if isinstance(it, Sym):
        return f"⟨{it.name}⟩"
    kind = {Name: "name", Num: "number", Text: "text"}[type(it)]
    return f"{kind} {it.text[:20]!r}"


class Reader:
    """A cursor over items with the small vocabulary of checks the grammar needs."""

    def __init__(self, items: list[Item], pos: int = 0):
        self.items = items
        self.pos = pos

    def peek(self) -> Item | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def sym(self) -> str | None:
        it = self.peek()
        return it.name if isinstance(it, Sym) else None

    def fail(self, expected: str) -> LanguageError:
        return LanguageError(self.pos, f"expected {expected}, found {_describe(self.peek())}")

    def expect(self, *names: str) -> str:
        s = self.sym()
        if s not in names:
            raise self.fail(" or ".join(f"⟨{n}⟩" for n in names))
        self.pos += 1
        return s

    def text(self) -> str:
        it = self.peek()
        if isinstance(it, Text):
            self.pos += 1
            return it.text
        return ""

    def name(self) -> str:
        it = self.peek()
        if isinstance(it, Name):
            self.pos += 1
            return it.text
        return ""


# --- values ---------------------------------------------------------------------------------


def read_value(r: Reader) -> Any:
    s = r.sym()
    if s not in VALUE_STARTS:
        raise r.fail("a value")
    r.pos += 1
    if s == "s":
        return r.text()
    if s == "n":
        it = r.peek()
        if not isinstance(it, Num):
            raise r.fail("digits")
        try:
            v = parse_number(it.text)
        except ValueError as e:
            raise LanguageError(r.pos, str(e)) from None
        r.pos += 1
        return v
    if s in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[s]
    if s == "arr":
        out = []
        while r.sym() != "end":
            out.append(read_value(r))
        r.pos += 1
        return out
    obj: dict = {}
    while r.sym() != "end":
        at = r.pos
        key = r.name()
        if key in obj:
            raise LanguageError(at, f"key {key!r} given twice")
        obj[key] = read_value(r)
    r.pos += 1
    return obj


# --- schemas --------------------------------------------------------------------------------


def _read_extra(r: Reader) -> dict:
    at = r.pos
    raw = r.text()
    try:
        extra = json.loads(raw)
    except json.JSONDecodeError:
        extra = None
    if not isinstance(extra, dict):
        raise LanguageError(at, "⟨extra⟩ must be followed by a JSON object")
    return extra


def _read_annotations(r: Reader, s: dict) -> dict:
    """enum / default into ``s``; returns the extras (applied last: they win)."""
    extra: dict = {}
    while (a := r.sym()) in ("enum", "default", "extra"):
        r.pos += 1
        if a == "enum":
            s["enum"] = []
            while r.sym() in VALUE_STARTS:
                s["enum"].append(read_value(r))
        elif a == "default":
            s["default"] = read_value(r)
        else:
            extra.update(_read_extra(r))
    return extra


def _read_properties(r: Reader, s: dict) -> None:
    props: dict = {}
    required = []
    while (sym := r.sym()) in PROP_MARKS:
        mark, first_type = PROP_MARKS[sym]
        r.pos += 1
        at = r.pos
        name = r.name()
        if name in props:
            raise LanguageError(at, f"property {name!r} given twice")
        props[name] = read_schema(r, first_type)
        if mark == "req":
            required.append(name)
    s["properties"] = props
    if required:
        s["required"] = required


def read_schema(r: Reader, first_type: str | None = None) -> dict:
    """SCHEMA; ``first_type``: the type a property mark already gave (``req_string``)."""
    s: dict = {}
    desc = r.text()
    if desc:
        s["description"] = desc
    first = r.sym()
    types: list[str] = []
    if first_type:
        types.append(first_type)
    elif first == "anyof":
        r.pos += 1
        members = []
        while r.sym() != "end":
            if r.peek() is None:
                raise r.fail("⟨end⟩")
            members.append(read_schema(r))
        r.pos += 1
        s["anyOf"] = members
    elif first == "any":
        r.pos += 1
    elif first in TYPE_SYMBOLS:
        types.append(r.expect(first))
    else:
        raise r.fail("a type")
    while types and r.sym() == "or":
        r.pos += 1
        types.append(r.expect(*(TYPE_SYMBOLS - {"any"})))
    if types:
        plain = [{"map": "object", "null_type": "null"}.get(t, t) for t in types]
        s["type"] = plain[0] if len(plain) == 1 else plain
    extra = _read_annotations(r, s)
    if "object" in types:
        _read_properties(r, s)
        r.expect("end")
    if "array" in types and r.sym() == "items":
        r.pos += 1
        s["items"] = read_schema(r)
    s.update(extra)
    return s


def read_tool(r: Reader) -> ToolSpec:
    r.expect("tool")
    name = r.name()
    desc = r.text() or None
    if r.sym() == "schema":
        r.pos += 1
        if r.sym() == "end":
            r.pos += 1
            return ToolSpec(name, desc, None)
        return ToolSpec(name, desc, read_schema(r))
    params: dict = {"type": "object"}
    extra = _read_annotations(r, params)
    _read_properties(r, params)
    params.update(extra)
    return ToolSpec(name, desc, params)


# --- calls and results ----------------------------------------------------------------------


def read_call(r: Reader) -> ToolCall:
    r.expect("call")
    name = r.name()
    if not name:
        raise r.fail("a tool name")
    args: dict = {}
    while r.sym() == "arg":
        r.pos += 1
        at = r.pos
        key = r.name()
        if key in args:
            raise LanguageError(at, f"argument {key!r} given twice")
        args[key] = read_value(r)
    r.expect("end")
    return ToolCall(name, args)


def read_result(r: Reader) -> ToolResult:
    r.expect("result")
    res = ToolResult(name=r.name() or None)
    if r.sym() == "error":
        r.pos += 1
        res.is_error = True
    while (s := r.sym()) in ("text", "data", "blob"):
        r.pos += 1
        if s == "text":
            res.content.append({"type": "text", "text": r.text()})
        elif s == "data":
            res.structured = read_value(r)
        else:
            res.content.append(_read_extra(r))
    r.expect("end")
    return res


def _whole(items: list[Item], read) -> Any:
    r = Reader(items)
    out = read(r)
    if r.peek() is not None:
        raise r.fail("the end")
    return out


def parse_value(items: list[Item]) -> Any:
    return _whole(items, read_value)


def parse_schema(items: list[Item]) -> dict:
    return _whole(items, read_schema)


def parse_tool(items: list[Item]) -> ToolSpec:
    return _whole(items, read_tool)


def parse_tools(items: list[Item]) -> list[ToolSpec]:
    def many(r: Reader) -> list[ToolSpec]:
        out = []
        while r.peek() is not None:
            out.append(read_tool(r))
        return out

    return _whole(items, many)


def parse_call(items: list[Item]) -> ToolCall:
    return _whole(items, read_call)


def parse_result(items: list[Item]) -> ToolResult:
    return _whole(items, read_result)


# --- model output ---------------------------------------------------------------------------


def read_model_parts(r: Reader, out: ModelOutput) -> None:
    """PART* up to and including ``eot``; raises LanguageError where it breaks (the parts read
    so far stay in ``out``)."""
    while (it := r.peek()) is not None:
        if isinstance(it, Text):
            r.pos += 1
            out.parts.append(it.text)
        elif r.sym() == "think":
            r.pos += 1
            thought = Thought(r.text())
            r.expect("end")
            out.parts.append(thought)
        elif r.sym() == "call":
            try:
                out.parts.append(read_call(r))
            except LanguageError:
                out.broken_call = True  # an attempt at a call that does not parse
                raise
        elif r.sym() == "eot":
            r.pos += 1
            out.ended = True
            return
        else:
            raise r.fail("text, ⟨think⟩, ⟨call⟩ or ⟨eot⟩")


def parse_output(items: list[Item]) -> ModelOutput:
    """Read a model turn (the items after ``⟨model⟩``). Never raises: garbage gives an error
    with the position where the output stopped making sense."""
    out = ModelOutput()
    r = Reader(list(items))
    try:
        read_model_parts(r, out)
        if out.ended and r.peek() is not None:
            out.error = ParseError(
                r.pos, f"output continues after ⟨eot⟩ with {_describe(r.peek())}"
            )
    except LanguageError as e:
        msg = e.message if e.position < len(r.items) else e.message + " (output ended early)"
        out.error = ParseError(e.position, msg)
    except Exception as e:  # noqa: BLE001 - the contract is "never raises"
        out.error = ParseError(r.pos, f"unreadable output: {e}")
    return out
