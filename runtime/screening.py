"""What a user should see before trusting a tool: instruction-like text, and where names appear.

    flags(spec, other_tools)        # ["description: keeps something from the user: 'do not tell the user'", ...]
    printable(text)                 # control and invisible characters made visible, for a terminal
    named_only_in_results(names, messages)   # tools a tool result named and the user never did

A tool's description and its parameters' descriptions are the model's instructions about the
tool, and a hostile server writes them. :func:`flags` points out what looks like instructions
to the model rather than documentation for it: hidden instruction blocks, asking to keep
something from the user, secrets paths, naming other tools (shadowing), asking for the
conversation, invisible characters. It is a help for the user's judgement, not a filter: text
can always be phrased to pass it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence

from bslm.models.tools import ToolSpec

_RULES: tuple[tuple[str, re.Pattern], ...] = (
    (
        "hidden instructions",
        re.compile(
            r"<\s*/?\s*(important|instructions?|system|secret|hidden|admin)\b[^>]*>"
            r"|\bignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier)\s+\w+"
            r"|\bsystem\s+prompt\b|\bnew\s+instructions?\b",
            re.IGNORECASE,
        ),
    ),
    (
        "keeps something from the user",
        re.compile(
            r"\b(do\s+not|don'?t|never|must\s+not|without)\s+(tell|telling|inform|informing|"
            r"mention|mentioning|show|showing|reveal|revealing|notify|notifying|alert|alerting|"
            r"let)\w*\s+(it\s+to\s+)?(the\s+)?user"
            r"|\b(secretly|silently|covertly)\b|\bthe\s+user\s+(must|should)\s+not\s+(know|see)",
            re.IGNORECASE,
        ),
    ),
    (
        "secrets",
        re.compile(
            r"(~|\$HOME|/home/\w+|/root)?/?\.ssh\b|\bid_(rsa|ed25519|ecdsa|dsa)\b|\.aws/"
            r"|\.netrc\b|\.git-credentials|/etc/(passwd|shadow)|(^|[\s/'\"`])\.env\b"
            r"|\bapi[\s_-]?keys?\b|\bprivate[\s_-]keys?\b|\bpasswords?\b|\bcredentials?\b"
            r"|\bsecret[\s_-]?keys?\b|\baccess[\s_-]tokens?\b",
            re.IGNORECASE,
        ),
    ),
    (
        "asks for the conversation",
        re.compile(
            r"\b(entire|whole|full|complete|previous|all(\s+the)?|prior)\s+(conversation|chat|"
            r"history|messages|context|transcript)\b|\bconversation\s+history\b"
            r"|\bchat\s+history\b|\bwhat\s+the\s+user\s+(said|wrote|asked|typed)\b"
            r"|\bsystem\s+message\b",
            re.IGNORECASE,
        ),
    ),
    (
        "orders the model",
        re.compile(
            r"\b(you\s+must|you\s+have\s+to|always\s+(call|use|run|send|include|add|pass)"
            r"|before\s+(using|calling|you\s+use|you\s+call)|instead\s+of\s+(using|calling)"
            r"|first\s+(call|use|run)|make\s+sure\s+(to|you))\b",
            re.IGNORECASE,
        ),
    ),
)
_CONVERSATION_PARAMS = re.compile(
    r"^(conversation|chat|history|chat_history|context|transcript|messages|previous_messages|"
    r"sidenote|side_note|memory|notes?|feedback|summary_of_conversation)$",
    re.IGNORECASE,
)
# Zero-width, direction overrides, tag characters: text a terminal does not show.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _excerpt(text: str, m: re.Match, width: int = 40) -> str:
    a, b = max(0, m.start() - width), min(len(text), m.end() + width)
    snippet = " ".join(text[a:b].split())
    return ("…" if a else "") + snippet + ("…" if b < len(text) else "")


def _mentions(text: str, name: str) -> re.Match | None:
    words = re.escape(name)
    spaced = re.escape(name.replace("_", " ")) if "_" in name else None
    pattern = rf"(?<![A-Za-z0-9_]){words}(?![A-Za-z0-9_])"
    if spaced:
        pattern += rf"|(?<![A-Za-z0-9_]){spaced}(?![A-Za-z0-9_])"
    return re.search(pattern, text, re.IGNORECASE)


def text_flags(text: str, other_tools: Iterable[str] = ()) -> list[str]:
    """What in ``text`` looks like instructions to the model (see the module docstring)."""
    out = []
    if not text:
        return out
    if _INVISIBLE.search(text) or _CONTROL.search(text.replace("\n", "").replace("\t", "")):
        out.append("invisible or control characters: " + repr(printable(text)[:80]))
    for label, rx in _RULES:
        m = rx.search(text)
        if m:
            out.append(f"{label}: '{_excerpt(text, m)}'")
    for name in other_tools:
        m = _mentions(text, name)
        if m:
            out.append(f"names another tool, {name}: '{_excerpt(text, m)}'")
    return out


def _descriptions(schema, path: str = "") -> Iterable[tuple[str, str]]:
    """(where, text) of every description and title inside a JSON Schema."""
    if isinstance(schema, dict):
        for key in ("description", "title"):
            if isinstance(schema.get(key), str):
                yield path or "input schema", schema[key]
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    yield from _descriptions(sub, f"parameter {name}")
            elif isinstance(value, dict | list) and key not in ("enum", "const", "default"):
                yield from _descriptions(value, path)
    elif isinstance(schema, list):
        for sub in schema:
            yield from _descriptions(sub, path)


def flags(spec: ToolSpec, other_tools: Iterable[str] = ()) -> list[str]:
    """Warnings about a tool's description and parameters, for the user (see
    :func:`text_flags`); ``other_tools`` are the names of the other tools on offer."""
    others = [n for n in other_tools if n != spec.name and len(n) > 2]
    out = [f"description: {f}" for f in text_flags(spec.description or "", others)]
    seen = set()
    for where, text in _descriptions(spec.parameters or {}):
        for f in text_flags(text, others):
            if (where, f) not in seen:
                seen.add((where, f))
                out.append(f"{where}: {f}")
    props = (spec.parameters or {}).get("properties") or {}
    for name in props if isinstance(props, dict) else ():
        if _CONVERSATION_PARAMS.match(str(name)):
            out.append(f"parameter {name}: its name asks for conversation content")
    return out


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: escape sequences, control characters and invisible
    characters are shown as ``\\x1b``, ``\\u200b``... (new lines and tabs stay)."""

    def show(m: re.Match) -> str:
        c = m.group(0)
        return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"

    text = _CONTROL.sub(show, text)
    text = _INVISIBLE.sub(show, text)
    return "".join(
        c if unicodedata.category(c) not in ("Cs", "Co", "Cn") else f"\\u{ord(c):04x}" for c in text
    )


def _text_of(content) -> str:
    return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)


def named_only_in_results(names: Iterable[str], messages: Sequence[dict]) -> set[str]:
    """The tool ``names`` that a tool result of ``messages`` names and that no user (or system)
    message does: a call of one of them was likely suggested by what a server returned."""
    said = " ".join(
        _text_of(m.get("content") or "") for m in messages if m.get("role") in ("user", "system")
    )
    returned = " ".join(
        _text_of(m.get("content") or "") + " " + _text_of(m.get("structured_content") or "")
        for m in messages
        if m.get("role") == "tool"
    )
    return {n for n in names if _mentions(returned, n) and not _mentions(said, n)}
