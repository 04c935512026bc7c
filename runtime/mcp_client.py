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

A server that dies (during a call or while idle) is marked ``crashed`` with its last words on
stderr; the next call to it restarts it once (``auto_restart``); :meth:`MCPHub.restart`
restarts any server by hand. ``on_status`` is called at every change of a server's status.
The hub needs an asyncio event loop; its methods may be awaited from any task of that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import anyio
import httpx2
from jsonschema import SchemaError
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp import types as mcp_types
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from bslm.models.tools import ToolCall, ToolResult, ToolSpec, from_mcp_result, from_mcp_tool
from bslm.runtime.approval import ApproveFn, Policy, ToolCallRequest
from bslm.runtime.mcp_config import MCPConfig, ServerConfig, demo_config
from bslm.runtime.retrieval import DEFAULT_K, DEFAULT_THRESHOLD, ToolSelector

log = logging.getLogger(__name__)

State = Literal["starting", "ready", "failed", "crashed", "stopped"]
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


@dataclass(frozen=True)
class HubSettings:
    startup_timeout: float = 30.0
    """Seconds for a server to start, initialize and list its tools."""
    call_timeout: float = 60.0
    """Seconds for one call (a server's ``timeout`` in the config overrides it)."""
    max_result_chars: int = 16_000
    """A result's text beyond this many characters is cut, with a note."""
    auto_restart: bool = True
    """Restart a crashed server once, on the next call to it."""
    retrieval: str = "bm25"
    """How :meth:`MCPHub.select_tools` ranks tools: bm25, embedding or hybrid."""
    retrieval_threshold: int = DEFAULT_THRESHOLD
    """Up to this many tools, :meth:`MCPHub.select_tools` offers them all."""


@dataclass(frozen=True)
class ServerStatus:
    """One server, as a side panel shows it."""

    name: str
    state: State
    error: str | None = None
    tool_count: int = 0
    transport: str = "stdio"
    restarts: int = 0


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


def _root_cause(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _describe(exc: BaseException) -> str:
    exc = _root_cause(exc)
    if isinstance(exc, MCPError):
        return exc.message
    if isinstance(exc, FileNotFoundError | PermissionError):
        return f"cannot run {exc.filename or 'the command'}: {exc.strerror}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class _Server:
    """One server's connection, held open by its own task so that the SDK's task groups are
    entered and left in the same task."""

    def __init__(self, config: ServerConfig, settings: HubSettings, notify: Callable[[], None]):
        self.config = config
        self.settings = settings
        self.notify = notify
        self.state: State = "stopped"
        self.error: str | None = None
        self.specs: list[ToolSpec] = []
        self.session: ClientSession | None = None
        self.restarts = 0
        self.crash_restarted = False
        self.lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self._errlog = None

    @property
    def call_timeout(self) -> float:
        return self.config.call_timeout or self.settings.call_timeout

    @property
    def startup_timeout(self) -> float:
        return self.config.startup_timeout or self.settings.startup_timeout

    def status(self) -> ServerStatus:
        return ServerStatus(
            self.config.name,
            self.state,
            self.error,
            len(self.specs) if self.state == "ready" else 0,
            self.config.transport,
            self.restarts,
        )

    def _set(self, state: State, error: str | None = None) -> None:
        self.state, self.error = state, error
        self.notify()

    async def start(self) -> None:
        """Start and wait until ready or failed; never raises."""
        self._stop = asyncio.Event()
        ready = asyncio.Event()
        self._open_errlog()
        self._set("starting")
        self._task = asyncio.create_task(self._run(ready), name=f"mcp:{self.config.name}")
        timeout = self.startup_timeout
        try:
            await asyncio.wait_for(ready.wait(), timeout)
        except TimeoutError:
            await self._cancel()
            self._set("failed", f"did not start within {timeout:g} s{self._stderr_tail(': ')}")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 10)
            except TimeoutError:
                await self._cancel()
        self._task = None
        if self.state in ("starting", "ready"):
            self._set("stopped")

    def close(self) -> None:
        self._close_errlog()

    async def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
            self._task = None

    def crashed(self, message: str, stderr_since: int = 0) -> None:
        """The connection broke during a call: report it and let the task wind down."""
        self._set("crashed", f"{message}{self._stderr_tail(': ', stderr_since)}")
        self.session = None
        self._stop.set()

    async def _run(self, ready: asyncio.Event) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport(stack))
                read = await self._watch(read, stack)
                session = await stack.enter_async_context(
                    ClientSession(
                        read,
                        write,
                        # Bounds the handshake and listing; calls pass their own timeout.
                        read_timeout_seconds=self.startup_timeout,
                        client_info=mcp_types.Implementation(name="bslm", version=_version()),
                    )
                )
                await session.initialize()
                self.specs = await _list_tools(session)
                self.session = session
                self.crash_restarted = False
                self._set("ready")
                ready.set()
                await self._stop.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # noqa: BLE001 (a server's failure must not reach the agent)
            if self.state == "starting":
                closed = _root_cause(e)
                if isinstance(closed, MCPError) and closed.code == mcp_types.CONNECTION_CLOSED:
                    self._set("failed", f"exited while starting{self._stderr_tail(': ')}")
                else:
                    self._set("failed", f"{_describe(e)}{self._stderr_tail(': ')}")
            elif self.state == "ready":
                self._set("crashed", f"{_describe(e)}{self._stderr_tail(': ')}")
            log.debug("server %s ended", self.config.name, exc_info=True)
        finally:
            self.session = None
            ready.set()

    async def _watch(self, read, stack: contextlib.AsyncExitStack):
        """Relay the transport's messages to the session and notice when they end: a server
        that dies while idle shows as crashed at once, not at the next call."""
        send, receive = anyio.create_memory_object_stream(0)

        async def relay() -> None:
            async with send:
                async for message in read:
                    await send.send(message)
            if self.state == "ready" and not self._stop.is_set():
                self.crashed("the server closed the connection")

        tg = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(tg.cancel_scope.cancel)  # runs first on exit: the relay never ends alone
        tg.start_soon(relay)
        stack.push_async_callback(receive.aclose)
        return receive

    def _transport(self, stack: contextlib.AsyncExitStack):
        c = self.config
        if c.transport == "stdio":
            params = StdioServerParameters(
                command=c.command, args=list(c.args), env=dict(c.env) or None, cwd=c.cwd
            )
            return stdio_client(params, errlog=self._errlog)
        if c.transport == "sse":
            return sse_client(c.url, headers=dict(c.headers) or None)
        client = httpx2.AsyncClient(
            headers=dict(c.headers), timeout=httpx2.Timeout(30.0, read=300.0)
        )
        stack.push_async_callback(client.aclose)
        return streamable_http_client(c.url, http_client=client)

    def _open_errlog(self) -> None:
        # A file, not a pipe: the subprocess needs a real descriptor, and a pipe nobody
        # reads would block a chatty server. It outlives the connection so that a crash
        # can still be explained.
        self._close_errlog()
        if self.config.transport == "stdio":
            self._errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115

    def _close_errlog(self) -> None:
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    def stderr_size(self) -> int:
        try:
            return self._errlog.seek(0, 2) if self._errlog is not None else 0
        except (OSError, ValueError):
            return 0

    def _stderr_tail(self, prefix: str = "", since: int = 0) -> str:
        """The server's last words on stderr after offset ``since`` (one line), which usually
        say why it died."""
        f = self._errlog
        if f is None or f.closed:
            return ""
        try:
            f.flush()
            f.seek(max(since, f.seek(0, 2) - 4096))
            lines = [ln.strip(" │╰╯─") for ln in f.read().splitlines()]
        except (OSError, ValueError):
            return ""
        lines = [ln for ln in lines if ln.strip()]
        return f"{prefix}{lines[-1][:300]}" if lines else ""


async def _list_tools(session: ClientSession) -> list[ToolSpec]:
    specs, cursor = [], None
    while True:
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        specs += [from_mcp_tool(t) for t in page.tools]
        cursor = page.next_cursor
        if not cursor:
            return specs


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bslm")
    except PackageNotFoundError:
        return "0"


@dataclass(frozen=True)
class _Approved:
    call: ToolCall
    server: str
    tool: str


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
    ):
        self.config = config if config is not None else demo_config()
        self.policy = policy if policy is not None else Policy(self.config)
        self.approve = approve
        self.settings = settings or HubSettings()
        self.on_status = on_status
        self._servers = {
            name: _Server(sc, self.settings, self._changed)
            for name, sc in self.config.servers.items()
        }
        self._names: dict[str, tuple[str, str]] = {}
        self._specs: dict[str, ToolSpec] = {}
        self._selector: tuple[tuple, ToolSelector] | None = None

    async def __aenter__(self) -> MCPHub:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start every server concurrently; returns when each is ready or has failed."""
        await asyncio.gather(*(s.start() for s in self._servers.values() if s.state != "ready"))

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

    async def _restart(self, s: _Server) -> None:
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

    async def call(self, call: ToolCall) -> ToolResult:
        """Validate, approve and run one call. Never raises."""
        ok = await self._approve(call)
        return ok if isinstance(ok, ToolResult) else await self._execute(ok)

    async def call_many(self, calls: Sequence[ToolCall]) -> list[ToolResult]:
        """Run the independent calls of one turn: approvals are asked one after another, in
        order, then the approved calls run concurrently. Results come in the calls' order."""
        approved = [await self._approve(c) for c in calls]
        return list(await asyncio.gather(*(self._finish(a) for a in approved)))

    async def _finish(self, approved: _Approved | ToolResult) -> ToolResult:
        return approved if isinstance(approved, ToolResult) else await self._execute(approved)

    async def _approve(self, call: ToolCall) -> _Approved | ToolResult:
        try:
            return await self._check(call)
        except Exception as e:  # the approval callback is the UI's code
            log.exception("approving %s failed", call.name)
            return error_result(
                f"{call.name}: could not be approved ({_describe(e)})", "declined", call
            )

    async def _check(self, call: ToolCall) -> _Approved | ToolResult:
        where = self._names.get(call.name)
        if where is None:
            return error_result(self._unknown(call.name), "unknown_tool", call)
        server, tool = where
        spec = self._specs[call.name]
        problem = validation_error(spec.parameters, call.arguments)
        if problem is not None:
            return error_result(
                f"invalid arguments for {call.name}: {problem}", "invalid_arguments", call
            )
        decision = self.policy.decide(server, tool, read_only=spec.read_only)
        if decision == "deny":
            return error_result(
                f"{call.name} is not allowed by the approval policy; do not call it again",
                "denied",
                call,
            )
        if decision == "ask":
            if self.approve is None:
                return error_result(
                    f"{call.name} needs the user's approval and no one can be asked",
                    "denied",
                    call,
                )
            answer = await self.approve(
                ToolCallRequest(
                    server,
                    tool,
                    call.name,
                    dict(call.arguments),
                    spec.description,
                    spec.read_only,
                    call.id,
                )
            )
            if answer == "always":
                self.policy.always_allow(server, tool)
            elif answer is not True:
                return error_result(f"the user declined to run {call.name}", "declined", call)
        return _Approved(call, server, tool)

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
            return error_result(f"{a.call.name} failed: {_describe(e)}", "protocol", a.call)
        s.crash_restarted = False
        result = truncate_result(
            from_mcp_result(raw, name=a.call.name), self.settings.max_result_chars
        )
        result.call_id = a.call.id
        return result
