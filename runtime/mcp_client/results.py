"""Results of tool calls as the runtime makes them: an error result says why the runtime failed
a call (``error_kind``); arguments are checked against the tool's JSON Schema first
(``validation_error``); a long result is cut with a note saying how much (``truncate_result``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from jsonschema import SchemaError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for

from bslm.models.tools import ToolCall, ToolResult

ErrorKind = Literal[
    "unknown_tool",
    "invalid_arguments",
    "denied",
    "declined",
    "unavailable",
    "timeout",
    "crashed",
    "protocol",
]
ERROR_META_KEY = "bslm/error"


def error_kind(result: ToolResult) -> str | None:
    """Why the runtime failed a call (see the module docstring), or ``None``: the server's own
    result, error or not."""
    return (result.extra.get("meta") or {}).get(ERROR_META_KEY)


def error_result(message: str, kind: ErrorKind, call: ToolCall | None = None) -> ToolResult:
    result = ToolResult.from_text(message, is_error=True, name=call.name if call else None)
    result.call_id = call.id if call else None
    result.extra = {"meta": {ERROR_META_KEY: kind}}
    return result


def validation_error(schema: dict | None, arguments: Any) -> str | None:
    """The reasons ``arguments`` break ``schema``, as one readable line; ``None`` when they fit
    (or when the schema itself is broken: the server judges then)."""
    if not isinstance(arguments, dict):
        return f"arguments must be a JSON object, got {type(arguments).__name__}"
    if not schema:
        return None
    cls = validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError:
        return None
    errors = list(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(arguments))
    if not errors:
        return None
    first = best_match(errors)
    ordered = [first] + [e for e in errors if e is not first]

    def say(e) -> str:
        where = ".".join(str(p) for p in e.absolute_path)
        return f"{where}: {e.message}" if where else e.message

    more = f" (and {len(ordered) - 3} more)" if len(ordered) > 3 else ""
    return "; ".join(say(e) for e in ordered[:3]) + more


def truncate_result(result: ToolResult, max_chars: int) -> ToolResult:
    """Cut a result to about ``max_chars`` characters of content, saying how much was cut.

    Text blocks keep their beginning; other blocks (images, audio, embedded resources) that do
    not fit are replaced by a short note; structured content that does not fit is dropped (its
    text form travels in the text blocks, or becomes one when there are none).
    """
    content, structured = list(result.content), result.structured
    if structured is not None and len(_json(structured)) > max_chars:
        if not any(b.get("type") == "text" for b in content):
            content.append({"type": "text", "text": _json(structured)})
        structured = None
    budget, total, kept, out = max_chars, 0, 0, []
    for block in content:
        size = _block_size(block)
        total += size
        if size <= budget:
            out.append(block)
            budget -= size
            kept += size
        elif block.get("type") == "text" and budget > 0:
            out.append({**block, "text": block["text"][:budget]})
            kept += budget
            budget = 0
        elif block.get("type") != "text":
            kind = block.get("mime_type") or block.get("type")
            out.append({"type": "text", "text": f"[{kind} omitted: {size:,} characters]"})
    if kept == total and structured is result.structured:
        return result
    if kept < total:
        out.append({"type": "text", "text": f"[… {total - kept:,} of {total:,} characters cut]"})
    return replace(result, content=out, structured=structured)


def _block_size(block: dict) -> int:
    if block.get("type") == "text":
        return len(block.get("text", ""))
    return len(_json(block))


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)
