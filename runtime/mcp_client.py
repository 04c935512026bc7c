"""The MCP side of the agent: start the configured servers, list their tools, run calls.

    config = resolve_config(args.mcp_config)              # bslm.runtime.mcp_config
    policy = Policy(config, override=args.approve)        # bslm.runtime.approval
    async with MCPHub(config, policy=policy, approve=ui.ask) as hub:
        specs = hub.tools()                               # list[ToolSpec], names as the model sees them
        specs = hub.select_tools(messages, k=10)          # only the relevant ones, when there are many
        results = await hub.call_many(calls)              # list[ToolCall] -> list[ToolResult]
        hub.status()                                      # list[ServerStatus], for a side panel
        await hub.restart("time")

:class:`MCPHub` starts every server at once (stdio subprocesses or streamable HTTP), each
bounded by a startup timeout; one that fails is reported in :meth:`MCPHub.status` and the
others go on. Tool names are exposed as the servers give them, except that names two servers
share become ``server__tool`` (characters outside ``[A-Za-z0-9_.-]`` become ``_``).

A call never raises: every outcome is a :class:`~bslm.models.tools.ToolResult`, to show the
model. Before a call reaches its server the arguments are checked against the tool's JSON
Schema and the approval policy is applied (asking the UI's ``approve`` callback when it says
``ask``); a call that fails either never reaches the server. Results longer than
``max_result_chars`` are cut with a note saying how much. Failures come back as error results
(``is_error``) whose :func:`error_kind` is one of ``unknown_tool``, ``invalid_arguments``,
``denied``, ``declined``, ``unavailable``, ``timeout``, ``crashed``, ``protocol``.

Servers are not trusted (:mod:`bslm.runtime.guard`): their tool lists are checked against
:mod:`bslm.runtime.limits` (a tool over a limit is left out with a notice), pinned at their first
approved use (:mod:`bslm.runtime.pinning`; a tool that changes asks again, also after
``notifications/tools/list_changed``, which makes the hub list the server's tools again), and
every call is written to the audit log (:mod:`bslm.runtime.audit`) before it runs. A server
that sends more than the output limits allow is stopped (``failed``). ``on_notice`` is called
with a sentence for each thing the user should know (also kept in :attr:`MCPHub.notices`).

A server that dies (during a call or while idle) is marked ``crashed`` with its last words on
stderr; the next call to it restarts it once (``auto_restart``); :meth:`MCPHub.restart`
restarts any server by hand. ``on_status`` is called at every change of a server's status.
The hub needs an asyncio event loop; its methods may be awaited from any task of that loop.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from jsonschema import SchemaError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from mcp import types as mcp_types
from mcp.shared.exceptions import MCPError

from bslm.models.tools import ToolCall, ToolResult, ToolSpec, from_mcp_result
from bslm.runtime.approval import ApproveFn, Policy
from bslm.runtime.audit import AuditLog
from bslm.runtime.guard import Guard
from bslm.runtime.limits import bound_result
from bslm.runtime.mcp_config import MCPConfig, demo_config
from bslm.runtime.mcp_connection import Connection, HubSettings, ServerStatus, State, describe
from bslm.runtime.pinning import Pins
from bslm.runtime.retrieval import DEFAULT_K, ToolSelector

__all__ = [
    "HubSettings",
    "MCPHub",
    "ServerStatus",
    "State",
    "error_kind",
    "error_result",
    "truncate_result",
    "validation_error",
]

log = logging.getLogger(__name__)
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
PREFIX_SEPARATOR = "__"
_NAME_BAD_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")
# Grace beyond the SDK's own read timeout, for a transport that stops answering altogether.
_CALL_GRACE_S = 5.0


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
