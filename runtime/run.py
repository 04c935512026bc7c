"""``bslm run "PROMPT"``: one request through the agent loop, with the configured MCP servers.

Streams the answer on stdout and the tool calls on stderr; with ``--json``, stdout is exactly
one JSON object (``TurnResult.to_json``, with the time the model and the servers took to be
ready, counted from the start of the run, beside the agent's own timing). The model loads
while the servers start. Calls the policy says to ask about are asked on the
terminal when there is one, and declined when there is not (``--approve all`` to allow them;
a tool that changed since it was approved is still declined: ``bslm tools --accept SERVER``).
The question shows the server, the tool's description with what looks like instructions to the
model flagged, what changed since it was approved, and the full arguments. Tool lists are
pinned in the user data directory and every call goes to the audit log there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from bslm.runtime.agent import Agent
from bslm.runtime.events import Answer, CallEvent, Event, Notice, TextDelta
from bslm.runtime.options import AgentOptions
from bslm.runtime.screening import printable


@dataclass(kw_only=True)
class RunOptions(AgentOptions):
    prompt: str
    json: bool = False
    quiet: bool = False


def _short(value, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = printable(" ".join(text.split()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Printer:
    """Events to the terminal: answer text on stdout, everything else dimmed on stderr."""

    def __init__(self, show_text: bool = True):
        self.err = Console(stderr=True, highlight=False)
        self.show_text = show_text
        self.at_line_start = True
        self.thought_open = False  # a thought on stderr whose line has not ended

    def __call__(self, ev: Event) -> None:
        if not (isinstance(ev, TextDelta) and ev.kind == "think"):
            self._end_thought()
        if isinstance(ev, TextDelta):
            if ev.kind == "think":
                self.err.print(ev.text, style="dim italic", end="")
                if ev.text:
                    self.thought_open = not ev.text.endswith("\n")
            elif self.show_text:
                sys.stdout.write(ev.text)
                sys.stdout.flush()
                self.at_line_start = ev.text.endswith("\n")
        elif isinstance(ev, CallEvent):
            where = escape(f"{ev.server}/") if ev.server else ""
            if not ev.finished:
                self._newline()
                self.err.print(
                    f"[cyan]→ {where}{escape(ev.name)}[/] {escape(_short(ev.arguments))}",
                    markup=True,
                    highlight=False,
                )
            else:
                style = "red" if ev.is_error else "green"
                self.err.print(
                    f"[{style}]← {escape(ev.name)}[/] ({ev.ms:.0f} ms) {escape(_short(ev.result))}",
                    markup=True,
                    highlight=False,
                )
        elif isinstance(ev, Notice):
            self._newline()
            self.err.print(f"[yellow]{escape(printable(ev.message))}[/]", markup=True)
        elif isinstance(ev, Answer) and self.show_text:
            self._newline()

    def _end_thought(self) -> None:
        if self.thought_open:
            self.err.print()
            self.thought_open = False

    def _newline(self) -> None:
        if not self.at_line_start and self.show_text:
            sys.stdout.write("\n")
            sys.stdout.flush()
            self.at_line_start = True


def describe_request(req) -> str:
    """The approval question's text: server, tool, why it is asked, the description, warnings,
    changes and the full arguments, with control and invisible characters made visible."""
    lines = [f"{req.server} › {req.tool}" + (f"  ({req.reason})" if req.reason else "")]
    if req.description:
        lines += ["  " + ln for ln in printable(req.description).splitlines()]
    lines += [f"  ! {printable(c)}" for c in req.changes]
    lines += [f"  ! {printable(f)}" for f in req.flags]
    arguments = json.dumps(req.arguments, ensure_ascii=False, indent=2)
    lines += ["  arguments:"] + ["    " + ln for ln in printable(arguments).splitlines()]
    return "\n".join(lines)


async def ask_on_terminal(req) -> bool | str:
    """Ask on the controlling terminal: y (once), a (always for this tool), anything else no."""
    err = Console(stderr=True, highlight=False)
    q = f"{describe_request(req)}\nallow this call? [y]es / [a]lways / [N]o "

    def ask() -> str:
        err.print(q, end="", markup=False)
        try:
            return input().strip().lower()
        except EOFError:
            return ""

    answer = await asyncio.to_thread(ask)
    return "always" if answer in ("a", "always") else answer in ("y", "yes")


async def run_async(opts: RunOptions) -> dict:
    from bslm.runtime.mcp_config import resolve_config
    from bslm.runtime.prespawn import discard, spawn_servers

    t0 = time.perf_counter()
    config = resolve_config(opts.mcp_config)
    spawned = spawn_servers(config)  # they import their MCP SDK while we import ours
    try:
        return await _run_with(opts, config, spawned, t0)
    finally:
        discard(spawned)


async def _run_with(opts: RunOptions, config, spawned: dict, t0: float) -> dict:
    from bslm.runtime.approval import Policy
    from bslm.runtime.audit import AuditLog
    from bslm.runtime.backends import open_backend
    from bslm.runtime.mcp_client import MCPHub
    from bslm.runtime.pinning import Pins

    policy = Policy(config, override=opts.approve)
    approve = ask_on_terminal if sys.stdin.isatty() and sys.stderr.isatty() else None
    printer = Printer(show_text=not opts.json) if not opts.quiet else None
    timing: dict[str, float] = {}

    def open_model():
        backend = open_backend(opts.model, opts.backend, opts.n_ctx)
        timing["model_s"] = time.perf_counter() - t0
        return backend

    def notice(message: str) -> None:
        if printer is not None:
            printer(Notice(message))

    # the model loads while the servers start
    opening = asyncio.ensure_future(asyncio.to_thread(open_model))
    hub = MCPHub(
        config,
        policy=policy,
        approve=approve,
        pins=Pins.default(),
        audit=AuditLog.default(on_error=notice),
        on_notice=notice,
        spawned=spawned,
    )
    backend = None
    try:
        async with hub:
            timing["servers_s"] = time.perf_counter() - t0
            backend = await opening
            for st in hub.status():
                if st.state != "ready" and printer is not None:
                    printer(Notice(f"MCP server {st.name}: {st.state} ({st.error})"))
            agent = Agent(
                backend,
                hub,
                system=opts.system,
                mask=opts.mask,
                max_steps=opts.max_steps,
                max_new_tokens=opts.max_new_tokens,
                on_event=printer,
                help=opts.help(backend),
            )
            result = await agent.send(opts.prompt)
    finally:
        if backend is None:
            with contextlib.suppress(Exception):  # the error that stopped the run goes on
                backend = await opening
        if backend is not None:
            backend.close()
    report = result.to_json()
    report["timing"] = {k: round(v, 3) for k, v in timing.items()} | report["timing"]
    return report


def run(opts: RunOptions) -> int:
    report = asyncio.run(run_async(opts))
    if opts.json:
        print(json.dumps(report, ensure_ascii=False))
    return 0
