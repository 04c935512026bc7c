"""The hub's gatekeeper for untrusted servers: pins, approval questions, the audit log, notices.

:class:`~bslm.runtime.mcp_client.MCPHub` owns one :class:`Guard`. When a server lists its tools
(at start-up, and again after ``notifications/tools/list_changed``) :meth:`Guard.review` tells
the user what it left out (limits) and what changed since the user approved the server (pins).
For each call, :meth:`Guard.verdict` combines the approval policy with the pin (a new or
changed tool asks again) and with where the tool's name came from (a tool named only in a
tool result, when the policy cares); :meth:`Guard.request` builds the question, with the
tool's description, what looks like instructions in it, and what changed;
:meth:`Guard.approved` pins the server's list at its first approved use, and a tool the user
accepted as it is now. Every decision goes to the audit log before the call runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bslm.models.tools import ToolCall, ToolSpec
from bslm.runtime.approval import Policy, ToolCallRequest, Verdict
from bslm.runtime.audit import AuditLog
from bslm.runtime.mcp_config import ServerConfig
from bslm.runtime.pinning import Change, Pins
from bslm.runtime.screening import flags

log = logging.getLogger(__name__)


class Guard:
    def __init__(
        self,
        policy: Policy,
        pins: Pins,
        audit: AuditLog | None,
        notice: Callable[[str], None],
    ):
        self.policy, self.pins, self.audit, self.notice = policy, pins, audit, notice

    def review(
        self,
        config: ServerConfig,
        specs: list[ToolSpec],
        refused: list[tuple[str, str]],
        previous: list[ToolSpec] | None = None,
    ) -> None:
        """Tell the user what a (new) tool list of a server means: the tools left out, and the
        tools that changed since the user approved the server (or since the last list)."""
        for name, why in refused:
            self.notice(f"server {config.name}: the tool {name[:80]!r} is left out: {why}")
        if self.pins.pinned(config):
            for change in self.pins.check(config, specs).values():
                self.policy.revoke(config.name, change.tool)
                self.notice(change.describe(config.name))
            for name in self.pins.removed(config, specs):
                self.notice(f"server {config.name} no longer lists the tool {name}")
        elif previous is not None:
            before = {s.name for s in previous}
            added = [s.name for s in specs if s.name not in before]
            if added:
                self.notice(f"server {config.name} added tools: {', '.join(added)}")

    def change(self, config: ServerConfig, spec: ToolSpec) -> Change | None:
        return self.pins.check(config, [spec]).get(spec.name)

    def verdict(
        self, config: ServerConfig, spec: ToolSpec, tool: str, from_results: bool
    ) -> tuple[Verdict, Change | None]:
        change = self.change(config, spec)
        v = self.policy.explain(
            config.name,
            tool,
            read_only=spec.read_only,
            changed=change is not None,
            from_results=from_results,
        )
        return v, change

    def request(
        self,
        call: ToolCall,
        server: str,
        tool: str,
        spec: ToolSpec,
        others: list[str],
        verdict: Verdict,
        change: Change | None,
    ) -> ToolCallRequest:
        return ToolCallRequest(
            server,
            tool,
            call.name,
            dict(call.arguments),
            spec.description,
            spec.read_only,
            call.id,
            flags=tuple(flags(spec, others)),
            changes=(change.describe(server),) if change is not None else (),
            reason=verdict.reason,
        )

    def approved(
        self, config: ServerConfig, all_specs: list[ToolSpec], spec: ToolSpec, by_user: bool
    ) -> None:
        """A call of ``spec`` is going to run: pin the server at its first use; a tool the user
        approved as it is now is accepted."""
        if not self.pins.pinned(config):
            self.pins.pin(config, all_specs)
        elif by_user and self.change(config, spec) is not None:
            self.pins.accept(config, spec)

    def record(
        self,
        server: str | None,
        tool: str | None,
        call: ToolCall,
        decision: str,
        by: str,
        reason: str,
    ) -> str | None:
        if self.audit is None:
            return None
        return self.audit.call(
            server, tool, call.name, call.arguments, decision=decision, decided_by=by, reason=reason
        )

    def finished(self, entry: str | None, size: int, is_error: bool) -> None:
        if self.audit is not None and entry is not None:
            self.audit.result(entry, size=size, is_error=is_error)
