"""Limits a server cannot blow up, each refused with a sentence that says which and why.

    limits = Limits()
    check_name("x" * 300, limits)       # "its name is 300 characters long (at most 128)"
    check_tool(spec, limits)            # None, or why the tool is left out
    bound_result(result, limits)        # (result within the limits, what was cut or None)

Tools are checked when a server lists them (:class:`~bslm.runtime.mcp_client.MCPHub`) and
again before the decoding grammar is built (:class:`~bslm.runtime.agent.Agent`): a tool over a
limit is left out with a notice and the rest of its server, and the other servers, go on.

- a tool's name: 1 to ``max_name_chars`` printable ASCII characters without spaces (others,
  such as ``/``, are still exposed as ``_``);
- a tool's input schema: ``max_schema_chars`` of JSON with its description, nesting no deeper
  than ``max_schema_depth``, enums of at most ``max_enum`` values, no recursive ``$ref``;
- a server's tool list: ``max_tools`` (the rest is left out);
- a result: ``max_result_blocks`` content blocks, structured content nested at most
  ``max_result_depth`` deep (the size in characters is ``HubSettings.max_result_chars``);
- a server's output: ``max_messages_per_s`` messages and ``max_bytes_per_s`` bytes in any
  one second (a server that sends more is stopped).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from bslm.models.grammar import json_pointer
from bslm.models.tools import ToolResult, ToolSpec

_NAME_OK = re.compile(r"[\x21-\x7e]+")


@dataclass(frozen=True)
class Limits:
    max_tools: int = 256
    max_name_chars: int = 128
    max_schema_chars: int = 16_000
    max_schema_depth: int = 24
    max_enum: int = 256
    max_result_blocks: int = 64
    max_result_depth: int = 32
    max_messages_per_s: int = 400
    max_bytes_per_s: int = 32_000_000


def check_name(name: Any, limits: Limits) -> str | None:
    """Why a tool name is refused, or ``None``."""
    if not isinstance(name, str) or not name:
        return "it has no name"
    if len(name) > limits.max_name_chars:
        return f"its name is {len(name):,} characters long (at most {limits.max_name_chars})"
    if not _NAME_OK.fullmatch(name):
        bad = next(c for c in name if not _NAME_OK.fullmatch(c))
        return f"its name holds the character {bad!r} (U+{ord(bad):04X}); names are plain ASCII"
    return None


def depth(value: Any, limit: int) -> int:
    """How deep ``value`` nests (a scalar is 0), counting no further than ``limit + 1``, and
    without recursion, so that no nesting can exhaust the stack."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            d += 1
            deepest = max(deepest, d)
            if d > limit:
                return deepest
            stack += [(c, d) for c in (v.values() if isinstance(v, dict) else v)]
    return deepest


def _schema_depth(schema: Any, limit: int) -> int:
    """Nesting of schemas (not of JSON): each ``properties``/``items``/``anyOf``... level."""
    deepest, stack = 0, [(schema, 0)]
    while stack:
        s, d = stack.pop()
        if not isinstance(s, dict):
            continue
        deepest = max(deepest, d)
        if d > limit:
            return deepest
        for key, v in s.items():
            if key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(
                v, dict
            ):
                stack += [(c, d + 1) for c in v.values()]
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(v, list):
                stack += [(c, d + 1) for c in v]
            elif key in ("items", "additionalProperties", "not", "contains") and isinstance(
                v, dict
            ):
                stack.append((v, d + 1))
    return deepest


def _walk(value: Any):
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            yield v
            stack += list(v.values())
        elif isinstance(v, list):
            stack += v


def recursive_ref(schema: Any) -> str | None:
    """A local ``$ref`` that leads back to itself (directly or through others), or ``None``."""
    refs: dict[str, set[str]] = {}
    todo = [r for s in _walk(schema) if isinstance(r := s.get("$ref"), str) and r.startswith("#")]
    while todo:
        ref = todo.pop()
        if ref in refs:
            continue
        target = json_pointer(schema, ref)
        inner = {
            r for s in _walk(target) if isinstance(r := s.get("$ref"), str) and r.startswith("#")
        }
        refs[ref] = inner
        todo += inner
    state: dict[str, int] = {}  # 1 on the path, 2 done

    def cycle(start: str) -> bool:
        stack = [(start, iter(refs.get(start, ())))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return True
            elif state.get(nxt) is None:
                state[nxt] = 1
                stack.append((nxt, iter(refs.get(nxt, ()))))
        return False

    return next((r for r in refs if state.get(r) is None and cycle(r)), None)


def check_tool(spec: ToolSpec, limits: Limits) -> str | None:
    """Why a tool is left out (one clause, to follow "the tool X is left out: "), or ``None``."""
    problem = check_name(spec.name, limits)
    if problem is not None:
        return problem
    schema = spec.parameters or {}
    json_depth = depth(schema, 4 * limits.max_schema_depth)
    if json_depth > 4 * limits.max_schema_depth:
        return f"its input schema nests deeper than {limits.max_schema_depth} levels"
    nested = _schema_depth(schema, limits.max_schema_depth)
    if nested > limits.max_schema_depth:
        return f"its input schema nests deeper than {limits.max_schema_depth} levels"
    for s in _walk(schema):
        enum = s.get("enum")
        if isinstance(enum, list) and len(enum) > limits.max_enum:
            return (
                f"an enum of its input schema has {len(enum):,} values (at most {limits.max_enum})"
            )
    size = len(json.dumps(schema, ensure_ascii=False, default=str)) + len(spec.description or "")
    if size > limits.max_schema_chars:
        return (
            f"its description and input schema are {size:,} characters "
            f"(at most {limits.max_schema_chars:,})"
        )
    ref = recursive_ref(schema)
    if ref is not None:
        return f"its input schema refers to itself ($ref {ref!r})"
    return None


def bound_result(result: ToolResult, limits: Limits) -> tuple[ToolResult, str | None]:
    """The result with at most ``max_result_blocks`` blocks and structured content no deeper
    than ``max_result_depth`` (else dropped, its text kept), and what was cut, if anything."""
    notes = []
    content, structured = result.content, result.structured
    if len(content) > limits.max_result_blocks:
        notes.append(f"{len(content):,} content blocks, kept {limits.max_result_blocks}")
        content = [
            *content[: limits.max_result_blocks],
            {
                "type": "text",
                "text": f"[… {len(content) - limits.max_result_blocks:,} more blocks cut]",
            },
        ]
    too_deep = [
        b
        for b in content
        if b.get("type") != "text" and depth(b, limits.max_result_depth) > limits.max_result_depth
    ]
    if too_deep:
        notes.append(f"content nested deeper than {limits.max_result_depth} levels, dropped")
        content = [
            b
            if not any(b is d for d in too_deep)
            else {"type": "text", "text": "[nested too deep]"}
            for b in content
        ]
    if (
        structured is not None
        and depth(structured, limits.max_result_depth) > limits.max_result_depth
    ):
        notes.append(
            f"structured content nested deeper than {limits.max_result_depth} levels, dropped"
        )
        structured = None
        if not content:
            content = [{"type": "text", "text": "[structured content nested too deep]"}]
    if not notes:
        return result, None
    return replace(result, content=content, structured=structured), "; ".join(notes)


class RateMeter:
    """Messages and bytes a server sent in the last second; :meth:`add` says when either is
    over its limit (with the sentence to show)."""

    def __init__(self, limits: Limits, clock=None):
        import time

        self.limits = limits
        self.clock = clock or time.monotonic
        self._events: list[tuple[float, int]] = []
        self._start = 0
        self._bytes = 0

    def add(self, size: int) -> str | None:
        now = self.clock()
        ev = self._events
        ev.append((now, size))
        self._bytes += size
        while ev[self._start][0] < now - 1.0:
            self._bytes -= ev[self._start][1]
            self._start += 1
        if self._start > 1024:  # keep the list short
            del ev[: self._start]
            self._start = 0
        count = len(ev) - self._start
        if count > self.limits.max_messages_per_s:
            return f"sent more than {self.limits.max_messages_per_s} messages in one second"
        if self._bytes > self.limits.max_bytes_per_s:
            return f"sent more than {self.limits.max_bytes_per_s:,} bytes in one second"
        return None
