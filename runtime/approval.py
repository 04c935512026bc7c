"""Whether a tool call may run: ``allow``, ``ask`` (the user decides) or ``deny``.

:meth:`Policy.decide` answers for one ``(server, tool)`` from, first match wins:

1. the server's ``tools`` map in the config (``{"delete_file": "deny"}``);
2. the server's ``approve`` (``"allow"`` for all its tools);
3. the top-level ``approval.rules``: ``server/tool`` globs, in file order
   (``{"time/*": "allow", "*/delete_*": "deny"}``);
4. ``approval.default``;
5. the tool's annotation, which is a hint, not trust: a tool its server marks read-only
   (``readOnlyHint``) runs without asking only when the server is ``trusted`` in the config or
   ``approval.readOnly`` is ``"allow"``; everything else asks.

Then, unless the config denies the call:

- a tool that changed since the user approved it (:mod:`bslm.runtime.pinning`: ``changed``)
  asks, whatever ``--approve`` or this session's grants say;
- with ``approval.namedInResults`` set to ``ask`` (or ``deny``), a call of a tool that only a
  tool result named, never the user (``from_results``), asks (or is denied) the same way;
- the command line's ``--approve``: ``all`` turns ``ask`` into ``allow``, ``none`` turns
  ``ask`` into ``deny``, ``ask`` turns ``allow`` into ``ask``;
- a tool the user allowed "always" in this session (:meth:`Policy.always_allow`) is no longer
  asked about.

:meth:`Policy.explain` gives the same decision with who made it (:data:`DecidedBy`), for the
audit log. Asking is the UI's part: the runtime calls an :data:`ApproveFn` with a
:class:`ToolCallRequest` and gets ``True`` (run it), ``False`` (don't) or ``"always"`` (run it,
and don't ask again for this tool in this session).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

from bslm.runtime.mcp_config import DECISIONS, Decision, MCPConfig, MCPConfigError

OVERRIDES = ("ask", "all", "none")
Override = Literal["ask", "all", "none"]
DecidedBy = Literal[
    "config", "server-hint", "default", "command-line", "session", "user", "runtime"
]


@dataclass(frozen=True)
class ToolCallRequest:
    """A call waiting for the user's approval, with what the user needs to judge it."""

    server: str
    tool: str
    """The server's own name for the tool."""
    name: str
    """The name the model sees (``server__tool`` when two servers share a tool name)."""
    arguments: dict = field(default_factory=dict)
    description: str | None = None
    read_only: bool = False
    call_id: str | None = None
    flags: tuple[str, ...] = ()
    """What in the tool's description or parameters looks like instructions to the model."""
    changes: tuple[str, ...] = ()
    """What changed since the user approved this tool (empty: nothing, or never approved)."""
    reason: str = ""
    """Why the user is asked, in a few words."""


ApproveFn = Callable[[ToolCallRequest], Awaitable[bool | Literal["always"]]]


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    by: DecidedBy
    reason: str
    """What decided it, in a few words (``"rule time/*"``, ``"changed since approved"``)."""


class Policy:
    """The approval rules of a config, the ``--approve`` override and this session's grants."""

    def __init__(self, config: MCPConfig | None = None, override: Override | None = None):
        """Raises MCPConfigError for an override other than ask, all, none."""
        if override is not None and override not in OVERRIDES:
            raise MCPConfigError(f"--approve: {override!r} is not one of ask, all, none")
        self.config = config
        self.override = override
        self._granted: set[tuple[str, str]] = set()

    @property
    def named_in_results(self) -> Decision:
        """What a call of a tool named only in tool results needs (``allow``: no check)."""
        return self.config.approval.named_in_results if self.config is not None else "allow"

    def configured(self, server: str, tool: str, *, read_only: bool = False) -> Verdict:
        """The decision from the config and the tool's annotation, before override and grants."""
        if self.config is not None:
            sc = self.config.servers.get(server)
            if sc is not None and tool in sc.tools:
                return Verdict(sc.tools[tool], "config", f"mcpServers.{server}.tools.{tool}")
            if sc is not None and sc.approve is not None:
                return Verdict(sc.approve, "config", f"mcpServers.{server}.approve")
            key = f"{server}/{tool}"
            for pattern, decision in self.config.approval.rules:
                if fnmatchcase(key, pattern):
                    return Verdict(decision, "config", f"rule {pattern}")
            if self.config.approval.default is not None:
                return Verdict(self.config.approval.default, "config", "approval.default")
            if read_only and sc is not None and sc.trusted:
                return Verdict("allow", "server-hint", "read-only, trusted server")
            if read_only:
                return Verdict(self.config.approval.read_only, "config", "approval.readOnly")
        return Verdict("ask", "default", "not approved")

    def explain(
        self,
        server: str,
        tool: str,
        *,
        read_only: bool = False,
        changed: bool = False,
        from_results: bool = False,
    ) -> Verdict:
        """The decision for a call of ``tool`` (the server's own name), and who made it."""
        v = self.configured(server, tool, read_only=read_only)
        assert v.decision in DECISIONS
        if v.decision == "deny":
            return v
        strict = None
        if changed:
            strict = Verdict("ask", "runtime", "changed since approved")
        elif from_results and self.named_in_results != "allow":
            strict = Verdict(self.named_in_results, "config", "named only in a tool result")
        if strict is not None:
            if strict.decision == "ask" and self.override == "none":
                return Verdict("deny", "command-line", f"--approve none ({strict.reason})")
            return strict
        if self.override == "all":
            return Verdict("allow", "command-line", "--approve all")
        if self.override == "ask":
            v = Verdict("ask", "command-line", "--approve ask")
        if v.decision == "ask" and (server, tool) in self._granted:
            return Verdict("allow", "session", "always allowed in this session")
        if v.decision == "ask" and self.override == "none":
            return Verdict("deny", "command-line", "--approve none")
        return v

    def decide(
        self,
        server: str,
        tool: str,
        *,
        read_only: bool = False,
        changed: bool = False,
        from_results: bool = False,
    ) -> Decision:
        """``"allow"``, ``"ask"`` or ``"deny"`` for a call of ``tool`` (the server's own name)."""
        return self.explain(
            server, tool, read_only=read_only, changed=changed, from_results=from_results
        ).decision

    def always_allow(self, server: str, tool: str) -> None:
        """Stop asking about this tool for the rest of the session (a deny still holds)."""
        self._granted.add((server, tool))

    def revoke(self, server: str, tool: str) -> None:
        """Ask about this tool again (it changed)."""
        self._granted.discard((server, tool))

    def forget(self) -> None:
        """Drop this session's grants."""
        self._granted.clear()

    @property
    def granted(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._granted)
