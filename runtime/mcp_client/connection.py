"""One MCP server's connection: start it, keep it, list its tools, watch what it sends.

:class:`Connection` holds a server's session open in its own task (the SDK's task groups
are entered and left in one task), bounded by a startup timeout; it lists the tools within
:mod:`bslm.runtime.limits` (and again on ``notifications/tools/list_changed``), stops a server
that sends more than the output limits allow, and keeps the server's stderr in a file so that a
crash can be explained. :class:`~bslm.runtime.mcp_client.MCPHub` puts the connections together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp import types as mcp_types
from mcp.client.sse import sse_client
from mcp.client.stdio import FORCE_KILL_TIMEOUT, PROCESS_TERMINATION_TIMEOUT
from mcp.client.streamable_http import streamable_http_client
from mcp.os.posix.utilities import terminate_posix_process_tree
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from bslm.models.tools import ToolSpec, from_mcp_tool
from bslm.runtime.limits import Limits, RateMeter, check_tool
from bslm.runtime.mcp_client.status import ServerStatus, State
from bslm.runtime.mcp_config import ServerConfig
from bslm.runtime.prespawn import Spawned
from bslm.runtime.retrieval import DEFAULT_THRESHOLD

log = logging.getLogger(__name__)


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
    limits: Limits = Limits()
    """What a server's tools, results and output may not exceed (:mod:`bslm.runtime.limits`)."""


def _root_cause(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe(exc: BaseException) -> str:
    exc = _root_cause(exc)
    if isinstance(exc, MCPError):
        return exc.message
    if isinstance(exc, FileNotFoundError | PermissionError):
        return f"cannot run {exc.filename or 'the command'}: {exc.strerror}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


class Connection:
    """One server's connection, held open by its own task so that the SDK's task groups are
    entered and left in the same task. ``notify`` is called at every change of state,
    ``listed(connection, previous_tools)`` after each listing of its tools, ``warn`` with a
    sentence when the server is stopped for its output."""

    def __init__(
        self,
        config: ServerConfig,
        settings: HubSettings,
        notify: Callable[[], None],
        listed: Callable[[Connection, list[ToolSpec] | None], None],
        warn: Callable[[str], None],
    ):
        self.config = config
        self.settings = settings
        self.notify = notify
        self.listed = listed
        self.warn = warn
        self.state: State = "stopped"
        self.error: str | None = None
        self.specs: list[ToolSpec] = []
        self.refused: list[tuple[str, str]] = []  # (tool name, why it is left out)
        self.session: ClientSession | None = None
        self.restarts = 0
        self.crash_restarted = False
        self.lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self._errlog = None
        self._adopted: Spawned | None = None

    def adopt(self, spawned: Spawned) -> None:
        """Talk to a process started ahead of the connection (``runtime/prespawn.py``) on
        its first start, instead of spawning the server then."""
        self._adopted = spawned

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
                        message_handler=self._on_message,
                    )
                )
                await session.initialize()
                self.specs, self.refused = await list_tools(session, self.settings.limits)
                self.session = session
                self.crash_restarted = False
                self._set("ready")
                self.listed(self, None)
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
                    self._set("failed", f"{describe(e)}{self._stderr_tail(': ')}")
            elif self.state == "ready":
                self._set("crashed", f"{describe(e)}{self._stderr_tail(': ')}")
            log.debug("server %s ended", self.config.name, exc_info=True)
        finally:
            self.session = None
            ready.set()

    async def _on_message(self, message) -> None:
        if isinstance(message, mcp_types.ToolListChangedNotification):
            # Not inline: the listing's answer comes through the loop that called us.
            asyncio.get_running_loop().create_task(self._relist())

    async def _relist(self) -> None:
        session = self.session
        if session is None:
            return
        try:
            specs, refused = await list_tools(session, self.settings.limits)
        except Exception as e:  # noqa: BLE001 (the old list stays)
            log.debug("relisting %s failed: %s", self.config.name, e)
            return
        previous, self.specs, self.refused = self.specs, specs, refused
        self.notify()
        self.listed(self, previous)

    async def _watch(self, read, stack: contextlib.AsyncExitStack):
        """Relay the transport's messages to the session and notice when they end: a server
        that dies while idle shows as crashed at once, not at the next call. A server that
        sends more than the output limits allow is cut off (``failed``)."""
        send, receive = anyio.create_memory_object_stream(0)
        meter = RateMeter(self.settings.limits)

        async def relay() -> None:
            async with send:
                async for message in read:
                    if isinstance(message, LineTooLong):
                        over = str(message)
                    else:
                        over = meter.add(_message_size(message))
                    if over is not None:
                        self._set("failed", f"stopped: the server {over}")
                        self.warn(f"server {self.config.name} was stopped: it {over}")
                        self.session = None
                        self._stop.set()
                        return
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
        if c.transport == "stdio" and self._adopted is not None:
            process, self._adopted = self._adopted.process, None
            return adopted_stdio(process, self.settings.limits.max_bytes_per_s)
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
        if self._adopted is not None:
            self._errlog = self._adopted.errlog
        elif self.config.transport == "stdio":
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


class LineTooLong(ConnectionError):
    """Sent by :func:`adopted_stdio` in place of a message too long to hold, before the
    stream ends: the connection stops the server, as for too much output."""


@contextlib.asynccontextmanager
async def adopted_stdio(
    process: subprocess.Popen, max_line: int
) -> AsyncIterator[tuple[anyio.abc.ObjectReceiveStream, anyio.abc.ObjectSendStream]]:
    """The SDK's stdio transport (``mcp.client.stdio.stdio_client``) for a server process that
    is already running: newline-delimited JSON-RPC both ways, a line that does not parse
    handed to the session as an exception (as the SDK does), and the SDK's shutdown: stdin
    closed, a grace period, then the process group terminated and, failing that, killed. A
    line longer than ``max_line`` bytes ends the stream with a :class:`LineTooLong`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=max_line)
    out_pipe, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), process.stdout
    )
    in_pipe, _ = await loop.connect_write_pipe(asyncio.Protocol, process.stdin)
    to_session, from_server = anyio.create_memory_object_stream(0)
    to_server, from_session = anyio.create_memory_object_stream(0)

    async def read() -> None:
        async with to_session:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # asyncio.LimitOverrunError: no newline within the limit
                    await to_session.send(LineTooLong(f"sent a message over {max_line:,} bytes"))
                    return
                if not line:
                    return  # the server closed its stdout
                if line.strip():
                    await to_session.send(_parse_line(line))

    async def write() -> None:
        async with from_session:
            async for message in from_session:
                if in_pipe.is_closing():
                    return  # the server is gone; reading will see it end
                data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                in_pipe.write(data.encode() + b"\n")  # small messages: no flow control

    class Reaped:  # what terminate_posix_process_tree reads, for a Popen
        pid = process.pid

        @property
        def returncode(self):
            return process.poll()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        tg.start_soon(write)
        try:
            yield from_server, to_server
        finally:
            with anyio.CancelScope(shield=True):
                in_pipe.close()
                with anyio.move_on_after(PROCESS_TERMINATION_TIMEOUT):
                    while process.poll() is None:
                        await anyio.sleep(0.01)
                if process.poll() is None:
                    await terminate_posix_process_tree(Reaped(), FORCE_KILL_TIMEOUT)
                out_pipe.close()
                await anyio.to_thread.run_sync(process.wait)
            tg.cancel_scope.cancel()


def _parse_line(line: bytes) -> SessionMessage | Exception:
    try:
        return SessionMessage(mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as e:
        log.debug("unparsable line from an MCP server: %s", e)
        return e


async def list_tools(
    session: ClientSession, limits: Limits
) -> tuple[list[ToolSpec], list[tuple[str, str]]]:
    """The server's tools within the limits, and (name, why) for those left out."""
    specs, refused, cursor, seen = [], [], None, 0
    while True:
        params = mcp_types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        for t in page.tools:
            seen += 1
            spec = from_mcp_tool(t)
            why = check_tool(spec, limits)
            if why is not None:
                refused.append((str(spec.name), why))
            elif len(specs) < limits.max_tools:
                specs.append(spec)
        cursor = page.next_cursor
        if not cursor or seen > limits.max_tools + len(refused):
            break
    if seen - len(refused) > limits.max_tools:
        refused.append(
            (f"{seen - len(refused) - limits.max_tools} more", f"at most {limits.max_tools} tools")
        )
    return specs, refused


def _message_size(message: Any) -> int:
    inner = getattr(message, "message", None)
    if inner is None:  # a transport exception (a line that is not JSON-RPC)
        return len(str(message))
    try:
        return len(inner.model_dump_json())
    except Exception:  # noqa: BLE001
        return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bslm")
    except PackageNotFoundError:
        return "0"
