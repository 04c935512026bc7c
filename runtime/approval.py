"""Whether a tool call may run: ``allow``, ``ask`` (the user decides) or ``deny``.

:meth:`Policy.decide` answers for one ``(server, tool)`` from, first match wins:

1. the server's ``tools`` map in the config (``{"delete_file": "deny"}``);
2. the server's ``approve`` (``"allow"`` for all its tools);
3. the top-level ``approval.rules``: ``server/tool`` globs, in file order
   (``{"time/*": "allow", "*/delete_*": "deny"}``);
4. ``approval.default``;
5. the tool itself: ``allow`` when its server annotates it read-only (``read_only_hint``),
   else ``ask``.

The command line's ``--approve`` then overrides that: ``all`` turns ``ask`` into ``allow``,
``none`` turns ``ask`` into ``deny``, ``ask`` turns ``allow`` into ``ask``. A ``deny`` written
in the config always holds. A tool the user allowed "always" in this session
(:meth:`Policy.always_allow`) is no longer asked about.

Asking is the UI's part: the runtime calls an :data:`ApproveFn` with a :class:`ToolCallRequest`
and gets ``True`` (run it), ``False`` (don't) or ``"always"`` (run it, and don't ask again for
this tool in this session).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

from bslm.runtime.mcp_config import DECISIONS, Decision, MCPConfig, MCPConfigError

OVERRIDES = ("ask", "all", "none")
Override = Literal["ask", "all", "none"]


@dataclass(frozen=True)
class ToolCallRequest:
    """A call waiting for the user's approval."""

    server: str
    tool: str
    """The server's own name for the tool."""
    name: str
    """The name the model sees (``server__tool`` when two servers share a tool name)."""
    arguments: dict = field(default_factory=dict)
    description: str | None = None
    read_only: bool = False
    call_id: str | None = None


ApproveFn = Callable[[ToolCallRequest], Awaitable[bool | Literal["always"]]]


class Policy:
    """The approval rules of a config, the ``--approve`` override and this session's grants."""

    def __init__(self, config: MCPConfig | None = None, override: Override | None = None):
        """Raises MCPConfigError for an override other than ask, all, none."""
        if override is not None and override not in OVERRIDES:
            raise MCPConfigError(f"--approve: {override!r} is not one of ask, all, none")
        self.config = config
        self.override = override
        self._granted: set[tuple[str, str]] = set()

    def configured(self, server: str, tool: str, *, read_only: bool = False) -> Decision:
        """The decision from the config and the tool's annotation, before override and grants."""
        if self.config is not None:
            sc = self.config.servers.get(server)
            if sc is not None and tool in sc.tools:
                return sc.tools[tool]
            if sc is not None and sc.approve is not None:
                return sc.approve
            key = f"{server}/{tool}"
            for pattern, decision in self.config.approval.rules:
                if fnmatchcase(key, pattern):
                    return decision
            if self.config.approval.default is not None:
                return self.config.approval.default
        return "allow" if read_only else "ask"

    def decide(self, server: str, tool: str, *, read_only: bool = False) -> Decision:
        """``"allow"``, ``"ask"`` or ``"deny"`` for a call of ``tool`` (the server's own name)."""
        decision = self.configured(server, tool, read_only=read_only)
        assert decision in DECISIONS
        if decision == "deny":
            return "deny"
        if self.override == "all":
            return "allow"
        if self.override == "ask":
            decision = "ask"
        if decision == "ask" and (server, tool) in self._granted:
            return "allow"
        if decision == "ask" and self.override == "none":
            return "deny"
        return decision

    def always_allow(self, server: str, tool: str) -> None:
        """Stop asking about this tool for the rest of the session (a deny still holds)."""
        self._granted.add((server, tool))

    def forget(self) -> None:
        """Drop this session's grants."""
        self._granted.clear()

    @property
    def granted(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._granted)
