"""The hub of tools: every configured MCP server behind one tool list (see the package
docstring, ``runtime/mcp_client/__init__.py``): the merged and renamed tool list, approval and
pinning, argument validation, concurrent calls, retrieval over many tools."""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

from mcp import types as mcp_types
from mcp.shared.exceptions import MCPError

from bslm.models.tools import ToolCall, ToolResult, ToolSpec, from_mcp_result
from bslm.runtime.approval import ApproveFn, Policy
from bslm.runtime.audit import AuditLog
from bslm.runtime.guard import Guard
from bslm.runtime.limits import bound_result
from bslm.runtime.mcp_client.connection import (
    Connection,
    HubSettings,
    ServerStatus,
    describe,
)
from bslm.runtime.mcp_client.results import (
    error_result,
    truncate_result,
    validation_error,
)
from bslm.runtime.mcp_config import MCPConfig, demo_config
from bslm.runtime.pinning import Pins
from bslm.runtime.prespawn import Spawned
from bslm.runtime.retrieval import DEFAULT_K, ToolSelector

log = logging.getLogger(__name__)
PREFIX_SEPARATOR = "__"
_NAME_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
# Grace beyond the SDK's own read timeout, for a transport that stops answering altogether.
_CALL_GRACE_S = 5.0


def _clean_name(name: str) -> str:
    return _NAME_BAD_CHARS.sub("_", name) or "_"


@dataclass(frozen=True)
class _Approved:
    call: ToolCall
    server: str
    tool: str
    entry: str | None = None  # the audit log's id of the call


class MCPHub:
    """All configured MCP servers behind one tool list (see the module docstring).

    ``approve`` is the UI's question to the user; without it, calls that need approval are
    denied. ``on_status`` is called (with no arguments) whenever a server's status changes.
    ``spawned``: server processes started ahead (``runtime/prespawn.py``); the hub takes the
    ones of its servers out of the dict and talks to them on their first start.
    """

    def __init__(
        self,
        config: MCPConfig | None = None,
        *,
        policy: Policy | None = None,
        approve: ApproveFn | None = None,
        settings: HubSettings | None = None,
        on_status: Callable[[], None] | None = None,
        pins: Pins | None = None,
        audit: AuditLog | None = None,
        on_notice: Callable[[str], None] | None = None,
        spawned: dict[str, Spawned] | None = None,
    ):
        self.config = config if config is not None else demo_config()
        self.approve = approve
        self.settings = settings or HubSettings()
        self.on_status = on_status
        self.on_notice = on_notice
        self.notices: list[str] = []
        self.pins = pins if pins is not None else Pins()
        self.audit = audit
        policy = policy if policy is not None else Policy(self.config)
        self.guard = Guard(policy, self.pins, audit, self._notice)
        self._servers = {
            name: Connection(sc, self.settings, self._changed, self._listed, self._notice)
            for name, sc in self.config.servers.items()
        }
        for name, s in self._servers.items():  # started ahead (runtime/prespawn.py): adopted
            if spawned and name in spawned:
                s.adopt(spawned.pop(name))
        self._names: dict[str, tuple[str, str]] = {}
        self._specs: dict[str, ToolSpec] = {}
        self._selector: tuple[tuple, ToolSelector] | None = None

    @property
    def policy(self) -> Policy:
        return self.guard.policy

    @policy.setter
    def policy(self, policy: Policy) -> None:
        self.guard.policy = policy

    async def __aenter__(self) -> MCPHub:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start every server concurrently; returns when each is ready or has failed."""
        await asyncio.gather(*(s.start() for s in self._servers.values() if s.state != "ready"))

    def _notice(self, message: str) -> None:
        self.notices.append(message)
        if self.on_notice is not None:
            try:
                self.on_notice(message)
            except Exception:  # a broken UI must not stop the servers
                log.exception("on_notice callback failed")

    def _listed(self, s: Connection, previous: list[ToolSpec] | None) -> None:
        self.guard.review(s.config, s.specs, s.refused, previous)

    def server_tools(self, server: str) -> tuple[list[ToolSpec], list[tuple[str, str]]]:
        """A server's tools under its own names, and (name, why) of those left out."""
        s = self._servers[server]
        return list(s.specs), list(s.refused)

    def accept(self, server: str) -> int:
        """Pin a server's tool list as it is now (the user read and accepted it); returns the
        number of tools. Raises KeyError for an unknown server."""
        s = self._servers[server]
        self.pins.pin(s.config, s.specs)
        for spec in s.specs:
            self.policy.revoke(server, spec.name)
        return len(s.specs)

    async def aclose(self) -> None:
        """Stop every server (their processes end)."""
        await asyncio.gather(*(s.stop() for s in self._servers.values()))
        for s in self._servers.values():
            s.close()

    async def restart(self, server: str) -> ServerStatus:
        """Stop (if running) and start one server again. Raises KeyError for an unknown name."""
        s = self._servers[server]
        async with s.lock:
            await self._restart(s)
        return s.status()

    async def _restart(self, s: Connection) -> None:
        await s.stop()
        s.restarts += 1
        await s.start()

    def status(self) -> list[ServerStatus]:
        return [s.status() for s in self._servers.values()]

    def tools(self) -> list[ToolSpec]:
        """The tools of the servers that are ready, under the names the model should use."""
        return [
            spec
            for name, spec in self._specs.items()
            if self._servers[self._names[name][0]].state == "ready"
        ]

    def lookup(self, name: str) -> tuple[str, str] | None:
        """``(server, tool)`` for an exposed tool name, or ``None``."""
        return self._names.get(name)

    def select_tools(self, messages: Sequence[dict] | str, k: int = DEFAULT_K) -> list[ToolSpec]:
        """The tools to show the model for this conversation: all of them up to
        ``settings.retrieval_threshold``, else the ``k`` most relevant (see
        :mod:`bslm.runtime.retrieval`) plus those already called."""
        specs = self.tools()
        key = (
            tuple(s.name for s in specs),
            self.settings.retrieval,
            self.settings.retrieval_threshold,
        )
        if self._selector is None or self._selector[0] != key:
            selector = ToolSelector(
                specs, self.settings.retrieval, self.settings.retrieval_threshold
            )
            self._selector = (key, selector)
        return self._selector[1].select(messages, k)

    def _unknown(self, name: str) -> str:
        names = [s.name for s in self.tools()]
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        if close:
            return f"unknown tool {name!r}; did you mean {', '.join(close)}?"
        if len(names) <= 20:
            return f"unknown tool {name!r}; the tools are: {', '.join(names) or 'none'}"
        return f"unknown tool {name!r}; call one of the {len(names)} tools offered"

    def _changed(self) -> None:
        self._rename()
        if self.on_status is not None:
            try:
                self.on_status()
            except Exception:  # a broken panel must not stop the servers
                log.exception("on_status callback failed")

    def _rename(self) -> None:
        # Every server that ever listed tools takes part, so names stay put across crashes.
        owners: dict[str, int] = {}
        for s in self._servers.values():
            for spec in s.specs:
                owners[_clean_name(spec.name)] = owners.get(_clean_name(spec.name), 0) + 1
        self._names, self._specs = {}, {}
        for server, s in self._servers.items():
            for spec in s.specs:
                name = _clean_name(spec.name)
                if owners[name] > 1:
                    name = f"{_clean_name(server)}{PREFIX_SEPARATOR}{name}"
                self._names[name] = (server, spec.name)
                self._specs[name] = replace(spec, name=name)

    async def call(self, call: ToolCall, *, from_results: bool = False) -> ToolResult:
        """Validate, approve and run one call. Never raises. ``from_results``: the tool was
        named only in a tool result, never by the user (see :mod:`bslm.runtime.approval`)."""
        ok = await self._approve(call, from_results)
        return ok if isinstance(ok, ToolResult) else await self._finish(ok)

    async def call_many(
        self, calls: Sequence[ToolCall], *, named_in_results: Collection[str] = ()
    ) -> list[ToolResult]:
        """Run the independent calls of one turn: approvals are asked one after another, in
        order, then the approved calls run concurrently. Results come in the calls' order.
        ``named_in_results``: tool names only tool results named, never the user."""
        approved = [await self._approve(c, c.name in named_in_results) for c in calls]
        return list(await asyncio.gather(*(self._finish(a) for a in approved)))

    async def _finish(self, approved: _Approved | ToolResult) -> ToolResult:
        if isinstance(approved, ToolResult):
            return approved
        result = await self._execute(approved)
        self.guard.finished(approved.entry, len(result.text()), result.is_error)
        return result

    async def _approve(self, call: ToolCall, from_results: bool = False) -> _Approved | ToolResult:
        try:
            out, verdict = await self._check(call, from_results)
        except Exception as e:  # the approval callback is the UI's code
            log.exception("approving %s failed", call.name)
            out = error_result(
                f"{call.name}: could not be approved ({describe(e)})", "declined", call
            )
            verdict = ("deny", "runtime", f"approval failed: {describe(e)}")
        where = self._names.get(call.name) or (None, None)
        entry = self.guard.record(where[0], where[1], call, *verdict)
        if isinstance(out, ToolResult):
            self.guard.finished(entry, len(out.text()), True)
            return out
        return replace(out, entry=entry)

    async def _check(
        self, call: ToolCall, from_results: bool
    ) -> tuple[_Approved | ToolResult, tuple[str, str, str]]:
        where = self._names.get(call.name)
        if where is None:
            return error_result(self._unknown(call.name), "unknown_tool", call), (
                "deny",
                "runtime",
                "unknown tool",
            )
        server, tool = where
        spec = self._specs[call.name]
        problem = validation_error(spec.parameters, call.arguments)
        if problem is not None:
            message = f"invalid arguments for {call.name}: {problem}"
            return error_result(message, "invalid_arguments", call), (
                "deny",
                "runtime",
                "invalid arguments",
            )
        s = self._servers[server]
        raw = self._raw_spec(s, tool) or spec  # under the server's own name, as pinned
        verdict, change = self.guard.verdict(s.config, raw, tool, from_results)
        decided = (verdict.decision, verdict.by, verdict.reason)
        if verdict.decision == "deny":
            why = f" ({verdict.reason})" if change is not None or from_results else ""
            return error_result(
                f"{call.name} is not allowed by the approval policy{why}; do not call it again",
                "denied",
                call,
            ), decided
        if verdict.decision == "ask":
            if self.approve is None:
                if change is not None:
                    self._notice(
                        f"{change.describe(server)}: not run; accept it with "
                        f"`bslm tools --accept {server}`"
                    )
                return error_result(
                    f"{call.name} needs the user's approval and no one can be asked",
                    "denied",
                    call,
                ), ("deny", "runtime", f"{verdict.reason}; no one to ask")
            others = [n for n in self._names if n != call.name]
            request = self.guard.request(call, server, tool, spec, others, verdict, change)
            answer = await self.approve(request)
            if answer == "always":
                self.policy.always_allow(server, tool)
            elif answer is not True:
                return error_result(f"the user declined to run {call.name}", "declined", call), (
                    "deny",
                    "user",
                    verdict.reason,
                )
            decided = ("allow", "user", verdict.reason)
        self.guard.approved(s.config, s.specs, raw, decided[1] == "user")
        return _Approved(call, server, tool), decided

    @staticmethod
    def _raw_spec(s: Connection, tool: str) -> ToolSpec | None:
        return next((t for t in s.specs if t.name == tool), None)

    async def _execute(self, a: _Approved) -> ToolResult:
        s = self._servers[a.server]
        if s.state == "crashed" and self.settings.auto_restart and not s.crash_restarted:
            async with s.lock:
                if s.state == "crashed" and not s.crash_restarted:
                    await self._restart(s)
                    s.crash_restarted = True
        session = s.session
        if s.state != "ready" or session is None:
            why = f": {s.error}" if s.error else ""
            return error_result(
                f"{a.call.name} is unavailable: server {a.server!r} is {s.state}{why}",
                "unavailable",
                a.call,
            )
        timeout = s.call_timeout
        stderr_mark = s.stderr_size()
        try:
            raw = await asyncio.wait_for(
                session.call_tool(a.tool, a.call.arguments, read_timeout_seconds=timeout),
                timeout + _CALL_GRACE_S,
            )
        except (MCPError, TimeoutError) as e:
            code = e.code if isinstance(e, MCPError) else mcp_types.REQUEST_TIMEOUT
            if code == mcp_types.REQUEST_TIMEOUT:
                return error_result(
                    f"{a.call.name} did not answer within {timeout:g} s", "timeout", a.call
                )
            if code == mcp_types.CONNECTION_CLOSED and s.session is session:
                s.crashed("the server exited during a call", stderr_mark)
            if code == mcp_types.CONNECTION_CLOSED:
                return error_result(
                    f"{a.call.name} failed: server {a.server!r} crashed ({s.error})",
                    "crashed",
                    a.call,
                )
            return error_result(f"{a.call.name} failed: {e.message}", "protocol", a.call)
        except Exception as e:
            return error_result(f"{a.call.name} failed: {describe(e)}", "protocol", a.call)
        s.crash_restarted = False
        result, cut = bound_result(from_mcp_result(raw, name=a.call.name), self.settings.limits)
        if cut is not None:
            self._notice(f"the result of {a.call.name} was cut: {cut}")
        result = truncate_result(result, self.settings.max_result_chars)
        result.call_id = a.call.id
        return result
