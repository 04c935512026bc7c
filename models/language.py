"""The tool language: one definition of how schemas, calls, values and results are written.

A tool-language sequence is a list of *items*:

- ``Sym(name)``  a structural symbol (one tool-modality token, from ``SYMBOLS``);
- ``Name(text)`` a tool or parameter name (spelled with identifier pieces, tool modality);
- ``Num(text)``  a JSON number (spelled with the number characters, tool modality);
- ``Text(text)`` free text: descriptions, string values, messages (text modality).

Text spans need no quoting: they are delimited by the tool-modality items around them, and the
two modalities use disjoint token ids. Grammar (``?`` optional, ``*`` repeated)::

    TOOL    := tool Name Text? ( schema (SCHEMA | end) | ANNOT* PROP* )   # implicit: object
    SCHEMA  := Text? TYPES ANNOT* CHILDREN
    TYPES   := TYPE (or TYPE)* | anyof SCHEMA* end
    TYPE    := string | number | integer | boolean | null_type | any | array | object | map
    ANNOT   := enum VALUE* | default VALUE | extra Text            # extra: other keywords, JSON
    CHILDREN:= (object:) PROP* end | (array:) (items SCHEMA)?
    PROP    := (req | opt) Name SCHEMA
             | (req_T | opt_T) Name Text? (or TYPE)* ANNOT* CHILDREN    # the mark carries TYPE T
    VALUE   := s Text? | n Num | true | false | null | arr VALUE* end | obj (Name? VALUE)* end
    CALL    := call Name (arg Name VALUE)* end
    RESULT  := result Name? error? (text Text? | data VALUE | blob Text)* end

``map`` is an object without ``properties``; ``any`` a schema without ``type``. Two Texts never
touch (their tokens would merge), and a Text right after an empty string (``s`` with no Text)
would read as that string; so where a description would land there (only between ``anyof``
members) it travels in ``extra`` instead. Keywords the
structure cannot hold (or would hold ambiguously) travel verbatim in ``extra``, which wins on
parse, so every JSON Schema round-trips exactly. Prompts may drop ``PROMPT_DROPPED`` keywords.
The parser for all of this lives in ``parser.py``; chat turns in ``chat.py``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from .tools import ToolCall, ToolResult, ToolSpec

# The order is the tool-modality id order: append only, never reorder (bump FORMAT_VERSION).
SYMBOLS: tuple[str, ...] = (
    # turns
    "system",
    "user",
    "model",
    "results",
    "eot",
    "think",
    # schemas
    "tool",
    "schema",
    "req",
    "opt",
    "req_string",
    "req_number",
    "req_integer",
    "req_boolean",
    "req_array",
    "req_object",
    "opt_string",
    "opt_number",
    "opt_integer",
    "opt_boolean",
    "opt_array",
    "opt_object",
    "or",
    "anyof",
    "items",
    "enum",
    "default",
    "extra",
    "end",
    # types
    "string",
    "number",
    "integer",
    "boolean",
    "null_type",
    "any",
    "array",
    "object",
    "map",
    # values
    "s",
    "n",
    "true",
    "false",
    "null",
    "arr",
    "obj",
    # calls and results
    "call",
    "arg",
    "result",
    "error",
    "text",
    "data",
    "blob",
)
NUM_CHARS = "0123456789.-+e"
FORMAT_VERSION = 1
TYPES = ("string", "number", "integer", "boolean", "null", "array", "object")
# JSON type name -> symbol; the null *type* has its own symbol so it never reads as a value.
TYPE_SYMBOL = {t: "null_type" if t == "null" else t for t in TYPES}
TYPE_SYMBOLS = frozenset(TYPE_SYMBOL.values()) | {"any", "map"}
VALUE_STARTS = frozenset({"s", "n", "true", "false", "null", "arr", "obj"})
# A property's mark and its first type in one token: ``req_string`` = ``req`` ... ``string``.
MARK_TYPES = ("string", "number", "integer", "boolean", "array", "object")
PROP_MARKS = {"req": ("req", None), "opt": ("opt", None)} | {
    f"{m}_{t}": (m, t) for m in ("req", "opt") for t in MARK_TYPES
}
PROMPT_DROPPED = frozenset({"title", "$schema", "$id", "$comment", "additionalProperties"})
# What each symbol means in words: the surface a new token's embedding starts from.
SURFACES: dict[str, str] = {
    "system": "system",
    "user": "user",
    "model": "model",
    "results": "results",
    "eot": "<end_of_turn>",
    "think": "think",
    "tool": "tool",
    "schema": "schema",
    "req": "required",
    "opt": "optional",
    "or": " or",
    "anyof": "any of",
    "items": "items",
    "enum": "one of",
    "default": "default",
    "extra": "{",
    "end": "}",
    "string": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "null_type": "null",
    "null": "null",
    "any": "any",
    "array": "array",
    "object": "object",
    "map": "dict",
    "s": '"',
    "n": "=",
    "true": "true",
    "false": "false",
    "arr": "[",
    "obj": "{",
    "call": "call",
    "arg": "=",
    "result": "result",
    "error": "error",
    "text": "text",
    "data": "data",
    "blob": "file",
}
SURFACES |= {f"{m}_{t}": f"{SURFACES[m]} {t}" for m in ("req", "opt") for t in MARK_TYPES}


@dataclass(frozen=True, slots=True)
class Sym:
    name: str


@dataclass(frozen=True, slots=True)
class Name:
    text: str


@dataclass(frozen=True, slots=True)
class Num:
    text: str


@dataclass(frozen=True, slots=True)
class Text:
    text: str


Item = Sym | Name | Num | Text


def render(items: list[Item]) -> str:
    """A human-readable line for logs and debugging (not parsed back)."""
    out = []
    for it in items:
        if isinstance(it, Sym):
            out.append(f"⟨{it.name}⟩")
        elif isinstance(it, (Name, Num)):
            out.append(it.text)
        else:
            out.append(json.dumps(it.text, ensure_ascii=False))
    return " ".join(out)


def _text(out: list[Item], text: str) -> None:
    if text:
        out.append(Text(text))


# --- values ---------------------------------------------------------------------------------


def format_number(v: int | float) -> str:
    """The canonical spelling: ``str`` for ints, ``repr`` for floats (which always shows a
    ``.`` or an exponent, so 1 and 1.0 stay apart). Raises ValueError for NaN and infinities."""
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"{v} is not a JSON number")
        return repr(v)
    return str(v)


def parse_number(text: str) -> int | float:
    """Inverse of ``format_number``. Raises ValueError on anything else."""
    if not text or text.lstrip("-").startswith(("+", ".")) or text.endswith(("e", "+", "-", ".")):
        raise ValueError(f"malformed number {text!r}")
    if any(c in text for c in ".e"):
        v = float(text)
        if not math.isfinite(v):
            raise ValueError(f"number {text!r} out of range")
        return v
    return int(text)


def value_items(v: Any, out: list[Item] | None = None) -> list[Item]:
    """Serialize a JSON value. Raises ValueError for values JSON cannot hold."""
    out = [] if out is None else out
    if v is None:
        out.append(Sym("null"))
    elif v is True:
        out.append(Sym("true"))
    elif v is False:
        out.append(Sym("false"))
    elif isinstance(v, int | float):
        out += [Sym("n"), Num(format_number(v))]
    elif isinstance(v, str):
        out.append(Sym("s"))
        _text(out, v)
    elif isinstance(v, list | tuple):
        out.append(Sym("arr"))
        for x in v:
            value_items(x, out)
        out.append(Sym("end"))
    elif isinstance(v, dict):
        out.append(Sym("obj"))
        for k, x in v.items():
            if not isinstance(k, str):
                raise ValueError(f"object key {k!r} is not a string")
            if k:
                out.append(Name(k))
            value_items(x, out)
        out.append(Sym("end"))
    else:
        raise ValueError(f"{type(v).__name__} is not a JSON value")
    return out


# --- schemas --------------------------------------------------------------------------------


def _is_schema(s: Any) -> bool:
    return isinstance(s, dict)


def _types_of(s: dict) -> list[str] | None:
    """The ``type`` keyword as a list, or None when the structure cannot hold it."""
    t = s.get("type")
    types = [t] if isinstance(t, str) else t
    if (
        isinstance(types, list)
        and (isinstance(t, str) or len(types) > 1)  # a one-element list stays verbatim
        and all(isinstance(x, str) and x in TYPES for x in types)
        and len(set(types)) == len(types)
    ):
        return types
    return None


def _json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _annotations(rest: dict, out: list[Item], full: bool) -> None:
    """enum, default, then every keyword left over as one ``extra`` JSON object."""
    if isinstance(rest.get("enum"), list):
        out.append(Sym("enum"))
        for v in rest.pop("enum"):
            value_items(v, out)
    if "default" in rest:
        out.append(Sym("default"))
        value_items(rest.pop("default"), out)
    extras = rest if full else {k: v for k, v in rest.items() if k not in PROMPT_DROPPED}
    if extras:
        out += [Sym("extra"), Text(_json(extras))]


def _properties(props: dict, required: Any, rest: dict, out: list[Item], full: bool) -> list:
    """PROP* for a structured ``properties``; returns the items so the caller can place them
    after the annotations. Puts ``required`` in ``rest`` when the marks cannot say it."""
    req = required if isinstance(required, list) else []
    req_set = {r for r in req if isinstance(r, str)}
    items: list[Item] = []
    for name, sub in props.items():
        mark = "req" if name in req_set else "opt"
        sub_items = schema_items(sub, full)
        i = 1 if sub_items and isinstance(sub_items[0], Text) else 0
        first = sub_items[i] if i < len(sub_items) else None
        if isinstance(first, Sym) and first.name in MARK_TYPES:
            mark = f"{mark}_{first.name}"
            del sub_items[i]
        items.append(Sym(mark))
        if name:
            items.append(Name(name))
        items += sub_items
    marked = [n for n in props if n in req_set]
    implied = marked if marked else None
    if required != implied:
        rest["required"] = required
    return items


def _split_schema(s: dict) -> tuple[dict, str | None, list[str] | None, dict | None, Any]:
    """Decide what the structure holds: returns (rest, description, types, properties,
    items). ``rest`` holds every other keyword, still to be written."""
    rest = dict(s)
    desc = rest.get("description")
    if isinstance(desc, str) and desc:
        del rest["description"]
    else:
        desc = None
    types = _types_of(rest)
    props = items = None
    if types is not None:
        del rest["type"]
        composite = [t for t in types if t in ("array", "object")]
        props_ok = isinstance(rest.get("properties"), dict) and all(
            map(_is_schema, rest["properties"].values())
        )
        if composite == ["object"] and props_ok:
            props = rest.pop("properties")
        if composite == ["array"] and _is_schema(rest.get("items")):
            items = rest.pop("items")
    return rest, desc, types, props, items


def schema_items(s: dict, full: bool = True, out: list[Item] | None = None) -> list[Item]:
    """Serialize one JSON Schema (a dict). ``full=False`` drops ``PROMPT_DROPPED`` keywords.
    Raises ValueError when a value inside is not JSON."""
    out = [] if out is None else out
    rest, desc, types, props, items = _split_schema(s)
    if desc and out and (out[-1] == Sym("s") or isinstance(out[-1], Text)):
        rest["description"] = desc  # see the module docstring
    elif desc:
        out.append(Text(desc))
    if types is not None:
        for i, t in enumerate(types):
            if i:
                out.append(Sym("or"))
            out.append(Sym("map" if t == "object" and props is None else TYPE_SYMBOL[t]))
    elif (
        isinstance(rest.get("anyOf"), list)
        and rest["anyOf"]
        and all(map(_is_schema, rest["anyOf"]))
    ):
        out.append(Sym("anyof"))
        for sub in rest.pop("anyOf"):
            schema_items(sub, full, out)
        out.append(Sym("end"))
    else:
        out.append(Sym("any"))
    children = (
        _properties(props, rest.pop("required", None), rest, out, full)
        if props is not None
        else None
    )
    _annotations(rest, out, full)
    if children is not None:
        out += children
        out.append(Sym("end"))
    if items is not None:
        out.append(Sym("items"))
        schema_items(items, full, out)
    return out


def tool_items(spec: ToolSpec, full: bool = True, out: list[Item] | None = None) -> list[Item]:
    """Serialize a tool: name, description, input schema (implicit object body when the schema
    is a plain object with properties, the general ``schema`` form otherwise)."""
    out = [] if out is None else out
    out += [Sym("tool"), Name(spec.name)]
    if spec.description:
        out.append(Text(spec.description))
    params = spec.parameters
    implicit = isinstance(params, dict) and params.get("type") == "object"
    if implicit:
        rest, desc, types, props, _ = _split_schema(params)
        implicit = types == ["object"] and props is not None
    if not implicit:
        out.append(Sym("schema"))
        if params is None:
            out.append(Sym("end"))
        else:
            schema_items(params, full, out)
        return out
    if desc:
        rest["description"] = desc  # the tool's own description holds the Text slot
    children = _properties(props, rest.pop("required", None), rest, out, full)
    _annotations(rest, out, full)
    out += children
    return out


# --- calls and results ----------------------------------------------------------------------


def call_items(call: ToolCall, out: list[Item] | None = None) -> list[Item]:
    out = [] if out is None else out
    out += [Sym("call"), Name(call.name)]
    for k, v in call.arguments.items():
        out.append(Sym("arg"))
        if k:
            out.append(Name(k))
        value_items(v, out)
    out.append(Sym("end"))
    return out


def result_items(result: ToolResult, out: list[Item] | None = None) -> list[Item]:
    """Text blocks as ``text``, structured content as ``data``, other blocks (images,
    resources...) as ``blob`` with their JSON."""
    out = [] if out is None else out
    out.append(Sym("result"))
    if result.name:
        out.append(Name(result.name))
    if result.is_error:
        out.append(Sym("error"))
    for block in result.content:
        if block.get("type") == "text" and set(block) <= {"type", "text"}:
            out.append(Sym("text"))
            _text(out, block.get("text", ""))
        else:
            out += [Sym("blob"), Text(_json(block))]
    if result.structured is not None:
        out.append(Sym("data"))
        value_items(result.structured, out)
    out.append(Sym("end"))
    return out
