"""The in-memory form of tools, calls and results, and its conversions with MCP and OpenAI.

Schemas stay JSON Schema dicts (the tool language serializes them); this module only adds the
thin records around them and maps them, losslessly, to and from:

- MCP (``mcp.types.Tool``, ``call_tool(name, arguments)``, ``mcp.types.CallToolResult``);
- OpenAI / Hugging Face ``tools`` and ``tool_calls`` JSON (``arguments`` as a JSON string or
  a dict).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

EMPTY_OBJECT_SCHEMA: dict = {"type": "object", "properties": {}}


@dataclass
class ToolSpec:
    """A tool: name, description and input JSON Schema (``None``: the tool declares none).

    ``extra`` keeps the fields the model never sees (MCP ``title``, ``annotations``,
    ``output_schema``, ``meta``...) so conversions lose nothing.
    """

    name: str
    description: str | None = None
    parameters: dict | None = field(default_factory=lambda: dict(EMPTY_OBJECT_SCHEMA))
    extra: dict = field(default_factory=dict)

    @property
    def read_only(self) -> bool:
        """True when the server annotates the tool as not changing anything."""
        ann = self.extra.get("annotations") or {}
        return bool(ann.get("read_only_hint") or ann.get("readOnlyHint"))


@dataclass
class ToolCall:
    """One call: tool name and JSON arguments. ``id`` is transport metadata (OpenAI), not
    part of the tool language: results answer calls by position."""

    name: str
    arguments: dict = field(default_factory=dict)
    id: str | None = None


@dataclass
class ToolResult:
    """The result of one call: MCP content blocks (dicts with a ``type``), optional
    structured content, and the error flag."""

    content: list[dict] = field(default_factory=list)
    structured: dict | None = None
    is_error: bool = False
    name: str | None = None
    call_id: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, *, is_error: bool = False, name: str | None = None):
        return cls(content=[{"type": "text", "text": text}], is_error=is_error, name=name)

    def text(self) -> str:
        """All text blocks joined; other blocks as a short bracketed note."""
        parts = []
        for block in self.content:
            if block.get("type") == "text":
                parts.append(block.get("text", ""))
            else:
                parts.append(f"[{block.get('type')} {block.get('mime_type', '')}]".strip())
        if not parts and self.structured is not None:
            parts.append(json.dumps(self.structured, ensure_ascii=False))
        return "\n".join(parts)


# --- MCP ------------------------------------------------------------------------------------

_MCP_TOOL_FIELDS = ("title", "output_schema", "annotations", "icons", "meta", "execution")


def from_mcp_tool(tool: Any) -> ToolSpec:
    """``mcp.types.Tool`` -> ToolSpec."""
    data = tool.model_dump(exclude_none=True) if hasattr(tool, "model_dump") else dict(tool)
    extra = {k: data[k] for k in _MCP_TOOL_FIELDS if k in data}
    params = data.get("input_schema", data.get("inputSchema"))
    return ToolSpec(data["name"], data.get("description"), params, extra)


def to_mcp_tool(spec: ToolSpec) -> Any:
    """ToolSpec -> ``mcp.types.Tool``."""
    from mcp import types

    kwargs = dict(spec.extra)
    if spec.description is not None:
        kwargs["description"] = spec.description
    return types.Tool(name=spec.name, input_schema=spec.parameters or {}, **kwargs)


def from_mcp_result(result: Any, name: str | None = None) -> ToolResult:
    """``mcp.types.CallToolResult`` -> ToolResult."""
    content = [b.model_dump(exclude_none=True) for b in result.content]
    extra = result.model_dump(exclude_none=True, include={"meta", "result_type"})
    return ToolResult(content, result.structured_content, bool(result.is_error), name, extra=extra)


def to_mcp_result(result: ToolResult) -> Any:
    """ToolResult -> ``mcp.types.CallToolResult``."""
    from mcp import types

    return types.CallToolResult.model_validate(
        {
            **result.extra,
            "content": result.content,
            "structured_content": result.structured,
            "is_error": result.is_error,
        }
    )


def to_mcp_call(call: ToolCall) -> tuple[str, dict]:
    """The ``(name, arguments)`` pair for ``ClientSession.call_tool``."""
    return call.name, call.arguments


# --- OpenAI / Hugging Face ------------------------------------------------------------------


def from_openai_tool(tool: dict) -> ToolSpec:
    """``{"type": "function", "function": {name, description?, parameters?}}`` (or the bare
    function object) -> ToolSpec."""
    fn = tool["function"] if tool.get("type") == "function" and "function" in tool else tool
    extra = {k: v for k, v in fn.items() if k not in ("name", "description", "parameters")}
    return ToolSpec(fn["name"], fn.get("description"), fn.get("parameters"), extra)


def to_openai_tool(spec: ToolSpec) -> dict:
    fn: dict = {"name": spec.name}
    if spec.description is not None:
        fn["description"] = spec.description
    if spec.parameters is not None:
        fn["parameters"] = spec.parameters
    fn.update(spec.extra)
    return {"type": "function", "function": fn}


def from_openai_call(call: dict) -> ToolCall:
    """An OpenAI ``tool_calls`` entry -> ToolCall. Raises ValueError on arguments that are not
    a JSON object."""
    fn = call.get("function", call)
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as e:
            raise ValueError(f"tool call {fn.get('name')!r}: arguments are not JSON ({e})") from e
    if not isinstance(args, dict):
        raise ValueError(f"tool call {fn.get('name')!r}: arguments must be a JSON object")
    return ToolCall(fn["name"], args, call.get("id"))


def to_openai_call(call: ToolCall, *, arguments_as: str = "json") -> dict:
    """ToolCall -> OpenAI ``tool_calls`` entry (``arguments_as="dict"`` for the HF style)."""
    args = (
        call.arguments if arguments_as == "dict" else json.dumps(call.arguments, ensure_ascii=False)
    )
    out: dict = {"type": "function", "function": {"name": call.name, "arguments": args}}
    if call.id is not None:
        out["id"] = call.id
    return out
