"""``bslm chat``: the terminal agent, a Textual app on top of the agent loop's events.

    bslm chat [--model PATH] [--backend llama|onnx|torch] [--mcp-config FILE] [--mask hard|soft|off]
              [--system TEXT] [--approve ask|all|none] [--resume [ID]] [--list]

The model runs in a worker thread (the agent's ``send``), the MCP servers on the app's event
loop; events reach the UI as messages, so the screen never waits on the model. Every message
of the conversation is committed to the store (:mod:`bslm.tui.store`) as soon as the agent
has it. Keys and slash commands: :mod:`bslm.tui.commands`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from bslm.runtime.agent import Agent
from bslm.runtime.approval import Policy, ToolCallRequest
from bslm.runtime.audit import AuditLog
from bslm.runtime.backends import Backend
from bslm.runtime.events import Answer, CallEvent, Event, Notice, Step, TextDelta
from bslm.runtime.inventory import format_inventory
from bslm.runtime.mcp_client.status import starting
from bslm.runtime.mcp_config import MCPConfig, resolve_config
from bslm.runtime.pinning import Pins
from bslm.runtime.prespawn import Spawned, discard, spawn_servers
from bslm.runtime.screening import printable
from bslm.tui.commands import CommandError, help_text, is_command, parse
from bslm.tui.launch import ChatOptions
from bslm.tui.store import Conversation, Store, export
from bslm.tui.widgets import (
    ApprovalScreen,
    ModelInfo,
    ModelTurn,
    NoteLine,
    PromptInput,
    ServerRow,
    SidePanel,
    ToolCard,
    UserMessage,
    format_rate,
    show_conversation,
)

if TYPE_CHECKING:
    from bslm.runtime.mcp_client import MCPHub

QUIT_WINDOW_S = 3.0  # a second Ctrl-C within this many seconds quits
READY = "ready · Enter sends, Shift+Enter or Ctrl+J for a new line · /help"


class AgentEvent(Message):
    """An agent event, carried to the app's thread."""

    def __init__(self, event: Event):
        super().__init__()
        self.event = event


class ServersChanged(Message):
    pass


class HubNotice(Message):
    """Something the MCP hub wants the user to know (a changed tool, a limit)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text


class ChatApp(App):
    """The chat. ``open_model`` (a function returning a Backend, called in a worker thread)
    and ``config`` replace what the options name, for tests and benchmarks; ``spawn_ahead``:
    start the stdio servers' processes before the MCP SDK is imported (``runtime/prespawn.py``),
    as ``bslm chat`` does."""

    CSS_PATH = "chat.tcss"
    TITLE = "bslm chat"
    BINDINGS = [
        Binding("ctrl+c", "interrupt", "stop / quit", priority=True),
        Binding("ctrl+b", "toggle_panel", "panel"),
        Binding("ctrl+q", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        options: ChatOptions | None = None,
        *,
        store: Store | None = None,
        config: MCPConfig | None = None,
        open_model: Callable[[], Backend] | None = None,
        spawn_ahead: bool = False,
    ):
        super().__init__()
        self.options = options or ChatOptions()
        self.store = store if store is not None else Store()
        self.config = config if config is not None else resolve_config(self.options.mcp_config)
        self.policy = Policy(self.config, override=self.options.approve)
        self._open_model = open_model or self._open_named_model
        self.system, self.mask = self.options.system, self.options.mask
        self.audit = AuditLog.default(on_error=self._hub_notice_from_anywhere)
        self.spawn_ahead = spawn_ahead
        self.spawned: dict[str, Spawned] = {}
        self.hub: MCPHub | None = None  # made once the MCP SDK is imported, after the model
        self.hub_started = False  # its start has returned: every server is up or failed
        self.backend: Backend | None = None
        self.agent: Agent | None = None
        self.model_error: str | None = None
        self.ready = asyncio.Event()
        self.conversation: int | None = None
        self._saved = 0  # messages of agent.messages already in the store
        self._call_meta: deque[dict] = deque()  # finished calls whose tool message is not saved
        self._restored: Conversation | None = None
        self.turn_task: asyncio.Task | None = None
        self.turn_view: ModelTurn | None = None
        self.cards: dict[str, ToolCard] = {}
        self.approvals: dict[str, str] = {}  # call id -> "approval" | "running" | "declined"
        self._asking: tuple[ApprovalScreen, asyncio.Future] | None = None
        self._armed = 0.0
        self._closed = False
        self.latencies: list[dict] = []  # per message: Enter, first streamed text, turn done
        if self.options.resume is not None:
            self._resume(self.store.load(self.options.resume))

    # --- layout and start-up ---

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield VerticalScroll(id="log")
                yield Static("", id="status")
                yield PromptInput(history=self._history(), id="prompt")
            yield SidePanel(id="side")
        yield Footer()

    def _history(self) -> list[str]:
        msgs = self._restored.messages if self._restored else []
        return [m["content"] for m in msgs if m.get("role") == "user"]

    async def on_mount(self) -> None:
        self.query_one("#log").anchor()
        prompt = self.query_one(PromptInput)
        prompt.cursor_blink = not self.is_headless
        prompt.focus()
        if self._restored is not None:
            conv = self._restored
            await show_conversation(self.query_one("#log"), conv)
            await self._note(f"resumed conversation {conv.id} ({len(conv.messages)} messages)")
            self.sub_title = f"conversation {conv.id}: {conv.title}"
        await self.query_one(SidePanel).show_servers(starting(self.config))
        await self._note(f"tool calls are logged in {self.audit.path}")
        self._set_status("loading the model…")
        self._load_model()

    def _open_named_model(self) -> Backend:
        from bslm.runtime.backends import open_backend

        o = self.options
        return open_backend(o.model, o.backend, o.n_ctx)

    def _hub_notice_from_anywhere(self, text: str) -> None:
        self.post_message(HubNotice(text))

    @work(group="startup")
    async def _start_hub(self) -> None:
        # The MCP SDK costs the interpreter a second or two to import, and each stdio server
        # as much again: both start once the model is open, so that the input box is ready
        # first; the servers are spawned before the SDK is imported (runtime/prespawn.py), so
        # that they start while it imports. A message sent before they are up waits for them.
        if self._closed:
            return
        if self.spawn_ahead:
            self.spawned = spawn_servers(self.config)
        await asyncio.to_thread(importlib.import_module, "bslm.runtime.mcp_client.hub")
        from bslm.runtime.mcp_client import MCPHub

        self.hub = MCPHub(
            self.config,
            policy=self.policy,
            approve=self._approve,
            on_status=lambda: self.post_message(ServersChanged()),
            pins=Pins.default(),
            audit=self.audit,
            on_notice=self._hub_notice_from_anywhere,
            spawned=self.spawned,
        )
        if self._closed:  # quit while the SDK was imported
            await self.hub.aclose()
            return
        try:
            await self.hub.start()
        finally:
            self.hub_started = True
        await self._show_servers()

    @work(group="startup")
    async def _load_model(self) -> None:
        try:
            backend = await asyncio.to_thread(self._open_model)
        except Exception as e:  # noqa: BLE001 (shown to the user; the app stays usable)
            self.model_error = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
            self.query_one(ModelInfo).set_error(f"cannot open the model: {self.model_error}")
            await self._note(f"cannot open the model: {self.model_error}", "error")
        else:
            self.backend = backend
            self.query_one(ModelInfo).set_model(backend.info, backend.n_ctx)
        self._check_ready()
        self.call_after_refresh(self._start_hub)  # the ready input box on screen first

    def _make_agent(self) -> None:
        self.agent = Agent(
            self.backend,
            self.hub,
            system=self.system,
            mask=self.mask,
            max_steps=self.options.max_steps,
            max_new_tokens=self.options.max_new_tokens,
            on_event=lambda ev: self.post_message(AgentEvent(ev)),
            help=self.options.help(self.backend),
        )
        self.agent.messages = list(self._restored.messages) if self._restored else []
        self._saved = len(self.agent.messages)

    def _check_ready(self) -> None:
        """The input box is ready once the model is open (or could not be); the agent exists
        once the servers have started too (``ready``: a message waits for it)."""
        if self.backend is None and not self.model_error:
            return
        if self.turn_task is None:
            self._set_status(READY if self.backend is not None else "no model")
        if not self.hub_started or self.ready.is_set():
            return
        if any(s.state == "starting" for s in self.hub.status()):
            return
        if self.backend is not None:
            self._make_agent()
            self._warm()
        self.ready.set()

    @work(thread=True, group="warm", exclusive=True)
    def _warm(self) -> None:
        # the system prompt and the tools are evaluated while the user types the first message
        with contextlib.suppress(Exception):  # a failed warm-up costs only some time
            self.agent.warm()

    # --- sending ---

    @on(PromptInput.Submitted)
    async def _submitted(self, message: PromptInput.Submitted) -> None:
        sent = message.at
        text = message.text.strip("\n")
        prompt = self.query_one(PromptInput)
        if is_command(text):
            prompt.remember(text)
            prompt.clear()
            await self._command(text)
            return
        if self.turn_task is not None:
            self.notify("The model is still answering; Ctrl-C stops it.", severity="warning")
            return
        prompt.remember(text)
        prompt.clear()
        await self._mount(UserMessage(text))
        self.latencies.append({"sent": sent, "first": None, "done": None})
        self.turn_task = asyncio.create_task(self._turn(text))

    async def _turn(self, text: str) -> None:
        try:
            if not self.ready.is_set():
                loading = self.backend is None and not self.model_error
                self._set_status("loading the model…" if loading else "starting the MCP servers…")
                await self.ready.wait()
            if self.agent is None:
                await self._note(f"no model to answer: {self.model_error}", "error")
                return
            self._set_status("generating… Ctrl-C stops")
            try:
                result = await self.agent.send(text)
            except Exception as e:  # noqa: BLE001 (a failed turn must not end the chat)
                self._persist()
                await self._note(f"the turn failed: {e}", "error")
                return
            self.query_one(ModelInfo).set_usage(
                self.agent.last_prompt_tokens, result.tokens_per_second
            )
        finally:
            self.latencies[-1]["done"] = time.perf_counter()
            self.turn_task = None
            self._set_status(READY if self.agent else "no model")

    # --- agent events (on the app's thread) ---

    @on(AgentEvent)
    async def _agent_event(self, message: AgentEvent) -> None:
        ev = message.event
        if isinstance(ev, TextDelta):
            if self.latencies and self.latencies[-1]["first"] is None:
                self.latencies[-1]["first"] = time.perf_counter()
            if self.turn_view is None:
                await self._new_turn()
            await self.turn_view.add_text(ev.text, ev.kind)
        elif isinstance(ev, Step):
            self._persist()
            if self.turn_view is not None:
                await self.turn_view.finish()
            await self._new_turn()
            self.query_one(ModelInfo).set_usage(ev.prompt_tokens)
        elif isinstance(ev, CallEvent):
            await self._call_event(ev)
        elif isinstance(ev, Notice):
            await self._note(ev.message, "notice")
        elif isinstance(ev, Answer):
            if self.turn_view is not None:
                await self.turn_view.finish()
            self.turn_view = None
            self._persist()

    async def _new_turn(self) -> None:
        self.turn_view = ModelTurn()
        await self._mount(self.turn_view)

    async def _call_event(self, ev: CallEvent) -> None:
        if not ev.finished:
            self._persist()  # the model's turn that made the call
            card = ToolCard(
                ev.id, ev.name, ev.arguments, ev.server, state=self.approvals.get(ev.id, "running")
            )
            self.cards[ev.id] = card
            if self.turn_view is None:
                await self._new_turn()
            await self.turn_view.add_card(card)
            return
        declined = self.approvals.get(ev.id) == "declined"
        self._call_meta.append({"server": ev.server, "ms": ev.ms, "declined": declined})
        card = self.cards.get(ev.id)
        if card is not None:
            card.finish(ev.result or "", ev.is_error, ev.ms, declined)

    async def _approve(self, request: ToolCallRequest) -> bool | str:
        """Asked by the hub (on the app's loop) for a call the policy wants approved."""
        self._set_card(request.call_id, "approval")
        self._set_status("waiting for your approval")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        screen = ApprovalScreen(request)
        self._asking = (screen, future)

        def answered(answer) -> None:
            if not future.done():
                future.set_result(answer)

        await self.push_screen(screen, callback=answered)
        try:
            answer = await future
        finally:
            self._asking = None
        self._set_card(request.call_id, "running" if answer else "declined")
        self._set_status("generating… Ctrl-C stops")
        return answer

    def _set_card(self, call_id: str | None, state: str) -> None:
        if call_id is None:
            return
        self.approvals[call_id] = state
        card = self.cards.get(call_id)
        if card is not None and card.result is None:
            card.set_state(state)

    def _deny_pending(self) -> None:
        if self._asking is not None:
            screen, future = self._asking
            if not future.done():
                future.set_result(False)
            if screen.is_current:
                screen.dismiss(False)

    # --- persistence ---

    def _persist(self) -> None:
        """Commit the messages the agent has and the store has not."""
        if self.agent is None:
            return
        new = self.agent.messages[self._saved :]
        if not new:
            return
        if self.conversation is None:
            model = self.backend.info.get("model") if self.backend else None
            self.conversation = self.store.create(model=model, system=self.system, mask=self.mask)
        for msg in new:
            meta = None
            if msg.get("role") == "tool" and self._call_meta:
                meta = self._call_meta.popleft()
            self.store.add(self.conversation, msg, meta)
        self._saved += len(new)

    def _resume(self, conv: Conversation) -> None:
        self.conversation = conv.id
        self._restored = conv
        self._saved = len(conv.messages)
        if self.options.system is None:
            self.system = conv.system
        if self.options.mask == "hard" and conv.mask:
            self.mask = conv.mask

    # --- commands ---

    async def _command(self, text: str) -> None:
        try:
            cmd = parse(text)
        except CommandError as e:
            await self._note(str(e), "error")
            return
        handler = getattr(self, f"_cmd_{cmd.name}")
        await handler(cmd.arg)

    async def _cmd_help(self, arg: str) -> None:
        await self._note(help_text())

    async def _cmd_tools(self, arg: str) -> None:
        if self.hub is None:
            await self._note("the MCP servers are still starting")
            return
        await self._note(format_inventory(self.hub) + f"\naudit log: {self.audit.path}")

    async def _cmd_model(self, arg: str) -> None:
        if self.backend is None:
            await self._note(self.model_error or "the model is still loading")
            return
        info = self.query_one(ModelInfo)
        extra = [f"{k}: {v}" for k, v in self.backend.info.items() if k not in ("model",)]
        await self._note(
            "\n".join(
                [
                    f"model: {self.backend.info.get('model', '?')}",
                    *extra,
                    f"context: {info.used:,} / {self.backend.n_ctx:,} tokens",
                    f"speed: {format_rate(info.rate)}",
                    f"mask: {self.mask}",
                ]
            )
        )

    async def _cmd_system(self, arg: str) -> None:
        if not arg:
            await self._note(f"system prompt: {self.system}" if self.system else "no system prompt")
            return
        self.system = None if arg.lower() == "off" else arg
        if self.agent is not None:
            self.agent.system = self.system
        if self.conversation is not None:
            self.store.update(self.conversation, system=self.system)
        await self._note("system prompt removed" if self.system is None else "system prompt set")

    async def _cmd_mask(self, arg: str) -> None:
        self.mask = arg
        if self.agent is not None:
            self.agent.mask = arg
        if self.conversation is not None:
            self.store.update(self.conversation, mask=arg)
        await self._note(f"mask: {arg}")

    async def _cmd_clear(self, arg: str) -> None:
        if self.turn_task is not None:
            await self._note("the model is answering; stop it first (Ctrl-C)", "error")
            return
        if self.agent is not None:
            self.agent.clear()
        self._restored, self._saved, self.conversation = None, 0, None
        self.cards.clear()
        self.approvals.clear()
        self._call_meta.clear()
        self.turn_view = None
        self.sub_title = ""
        await self.query_one("#log").remove_children()
        await self._note("new conversation")

    async def _cmd_save(self, arg: str) -> None:
        if self.conversation is None:
            await self._note("nothing to save yet", "error")
            return
        conv = self.store.load(self.conversation)
        path = Path(arg).expanduser() if arg else Path.cwd() / f"bslm-chat-{conv.id}.md"
        try:
            export(conv, path)
        except OSError as e:
            await self._note(f"cannot write {path}: {e.strerror or e}", "error")
            return
        await self._note(f"saved to {path}")

    async def _cmd_quit(self, arg: str) -> None:
        await self.action_quit()

    # --- keys ---

    async def action_interrupt(self) -> None:
        now = time.monotonic()
        if self.turn_task is not None:
            if self.agent is not None:
                self.agent.stop()
            self._deny_pending()
            self._armed = now
            self._set_status("stopping…")
            self.notify("Stopped. Ctrl-C again quits.", timeout=QUIT_WINDOW_S)
            return
        if now - self._armed < QUIT_WINDOW_S:
            await self.action_quit()
            return
        self._armed = now
        self.notify("Press Ctrl-C again to quit.", timeout=QUIT_WINDOW_S)

    def action_toggle_panel(self) -> None:
        side = self.query_one(SidePanel)
        side.display = not side.display

    async def action_quit(self) -> None:
        await self.shutdown()
        self.exit()

    async def shutdown(self) -> None:
        """Stop generating, save, stop the servers and close the model (once)."""
        if self._closed:
            return
        self._closed = True
        if self.agent is not None:
            self.agent.stop()
        self._deny_pending()
        if self.turn_task is not None:
            # the model must be out of its thread before it is closed
            await asyncio.wait([self.turn_task], timeout=30)
        self._persist()
        if self.hub is not None:
            await self.hub.aclose()
        discard(self.spawned)
        if self.agent is not None:
            # a warm-up still evaluating holds the model: wait for it before closing
            await asyncio.to_thread(self.agent.idle, 30)
        if self.backend is not None:
            self.backend.close()
        self.store.close()

    async def on_unmount(self) -> None:
        await self.shutdown()

    # --- helpers ---

    @on(HubNotice)
    async def _hub_notice(self, message: HubNotice) -> None:
        await self._note(printable(message.text), "notice")

    @on(ServersChanged)
    async def _show_servers(self) -> None:
        if self.hub is None:
            return
        await self.query_one(SidePanel).show_servers(self.hub.status())
        self._check_ready()

    @on(ServerRow.Restart)
    def _restart_server(self, message: ServerRow.Restart) -> None:
        self._restart(message.server)

    @work(group="restart")
    async def _restart(self, server: str) -> None:
        if self.hub is None:
            await self._note("the MCP servers are still starting")
            return
        await self._note(f"restarting MCP server {server}…")
        status = await self.hub.restart(server)
        await self._note(
            f"MCP server {server}: {status.state}" + (f" ({status.error})" if status.error else "")
        )

    async def _mount(self, widget) -> None:
        await self.query_one("#log").mount(widget)

    async def _note(self, text: str, kind: str = "info") -> None:
        await self._mount(NoteLine(text, kind))

    def _set_status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)
