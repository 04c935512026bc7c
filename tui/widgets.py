"""The widgets of ``bslm chat``: the prompt, the turns of a conversation, tool-call cards, the
approval dialog and the side panel. Styles are in ``chat.tcss``."""

from __future__ import annotations

import json
import time
from collections import deque
from pathlib import Path

from rich.markup import escape
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Collapsible, Markdown, Static, TextArea

from bslm.models.chat import assistant_parts
from bslm.models.parser import Thought
from bslm.models.tools import ToolCall
from bslm.runtime.approval import ToolCallRequest
from bslm.runtime.mcp_client.status import ServerStatus
from bslm.runtime.screening import printable
from bslm.tui.store import Conversation

# a result longer than this is shown collapsed
LONG_RESULT_LINES = 6
LONG_RESULT_CHARS = 400


def format_ms(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def format_rate(tokens_per_second: float) -> str:
    return f"{tokens_per_second:.1f} tok/s" if tokens_per_second else "–"


def format_arguments(arguments: dict) -> str:
    if not arguments:
        return "(no arguments)"
    return "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())


# --- the prompt ----------------------------------------------------------------------------


class PromptInput(TextArea):
    """Multi-line input: Enter sends; Shift+Enter, Alt+Enter or Ctrl+J start a new line; Up and
    Down on the first and last line walk through what was sent before."""

    NEWLINE_KEYS = ("shift+enter", "alt+enter", "ctrl+j")

    class Submitted(Message):
        def __init__(self, text: str):
            super().__init__()
            self.text = text
            self.at = time.perf_counter()  # when Enter was pressed

    def __init__(self, history: list[str] | None = None, **kw):
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kw)
        self.sent: list[str] = list(history or [])
        self._at = len(self.sent)
        self._draft = ""

    def remember(self, text: str) -> None:
        if text and (not self.sent or self.sent[-1] != text):
            self.sent.append(text)
        self._at = len(self.sent)
        self._draft = ""

    def _show(self, text: str, at_end: bool) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end if at_end else (0, len(text.split("\n")[0])))

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        if key == "enter":
            event.stop()
            event.prevent_default()
            if self.text.strip():
                self.post_message(self.Submitted(self.text))
            return
        if key in self.NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        row = self.cursor_location[0]
        if key == "up" and row == 0 and self._at > 0:
            event.stop()
            event.prevent_default()
            if self._at == len(self.sent):
                self._draft = self.text
            self._at -= 1
            self._show(self.sent[self._at], at_end=False)
            return
        if key == "down" and row == self.document.line_count - 1 and self._at < len(self.sent):
            event.stop()
            event.prevent_default()
            self._at += 1
            text = self.sent[self._at] if self._at < len(self.sent) else self._draft
            self._show(text, at_end=True)
            return
        await super()._on_key(event)


# --- the conversation ------------------------------------------------------------------------


class UserMessage(Static):
    def __init__(self, text: str):
        super().__init__(text, markup=False)


class NoteLine(Static):
    """A line from the app or the runtime (a stopped turn, a command's output...)."""

    def __init__(self, text: str, kind: str = "info"):
        super().__init__(text, markup=False, classes=kind)


class Reasoning(Collapsible):
    """The model's reasoning, dimmed; open while it streams, folded once the turn goes on."""

    def __init__(self, text: str = ""):
        self.body = Static(text, markup=False, classes="reasoning-text")
        self.text = text
        super().__init__(self.body, title="reasoning", collapsed=False)

    def append(self, text: str) -> None:
        self.text += text
        self.body.update(self.text)


class AnswerText(Markdown):
    """The model's answer, as Markdown, streamed in."""

    def __init__(self, text: str = ""):
        super().__init__(text)
        self.text = text
        self._stream = None

    async def append_text(self, text: str) -> None:
        self.text += text
        if self._stream is None:
            self._stream = Markdown.get_stream(self)
        await self._stream.write(text)

    async def finish(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None


class ToolCard(Vertical):
    """One tool call: server and tool in the border, the arguments, the status and time, then
    the result (folded when long)."""

    STATES = ("running", "approval", "ok", "error", "declined")

    def __init__(
        self, call_id: str, name: str, arguments: dict, server: str | None, state: str = "running"
    ):
        super().__init__(classes="tool-card")
        self.call_id, self.tool_name, self.server = call_id, name, server
        self.arguments = arguments
        self.state = ""
        self.result: str | None = None
        self.ms = 0.0
        self.border_title = f"{server} › {name}" if server else name
        self._initial_state = state

    def compose(self) -> ComposeResult:
        yield Static(format_arguments(self.arguments), markup=False, classes="tool-args")

    def on_mount(self) -> None:
        self.set_state(self._initial_state)

    def set_state(self, state: str) -> None:
        if self.result is not None and state in ("running", "approval"):
            return  # a late status must not overwrite a finished call
        for s in self.STATES:
            self.set_class(s == state, f"-{s}")
        self.state = state
        label = {
            "running": "… running",
            "approval": "? waiting for approval",
            "ok": "✓ done",
            "error": "✗ error",
            "declined": "✗ declined",
        }[state]
        if self.result is not None:
            label += f" · {format_ms(self.ms)}"
        self.border_subtitle = label

    def finish(self, result: str, is_error: bool, ms: float, declined: bool = False) -> None:
        self.result, self.ms = result, ms
        self.set_state("declined" if declined else "error" if is_error else "ok")
        lines = result.splitlines() or [""]
        if len(lines) > LONG_RESULT_LINES or len(result) > LONG_RESULT_CHARS:
            first = lines[0] if len(lines[0]) <= 50 else lines[0][:49] + "…"
            title = f"result ({len(lines)} lines, {len(result):,} characters): {first}"
            body = Static(result, markup=False, classes="tool-result")
            self.mount(Collapsible(body, title=title, collapsed=True, classes="tool-result-fold"))
        else:
            self.mount(Static("→ " + result, markup=False, classes="tool-result"))


class ModelTurn(Vertical):
    """One model turn: reasoning, answer text and tool calls, in the order they came."""

    def __init__(self):
        super().__init__(classes="model-turn")
        self.last: Reasoning | AnswerText | ToolCard | None = None

    async def add_text(self, text: str, kind: str) -> None:
        if kind == "think":
            if not isinstance(self.last, Reasoning):
                self.last = Reasoning()
                await self.mount(self.last)
            self.last.append(text)
            return
        if not isinstance(self.last, AnswerText):
            await self.fold_reasoning()
            self.last = AnswerText()
            await self.mount(self.last)
        await self.last.append_text(text)

    async def add_card(self, card: ToolCard) -> None:
        await self.fold_reasoning()
        self.last = card
        await self.mount(card)

    async def fold_reasoning(self) -> None:
        if isinstance(self.last, AnswerText):
            await self.last.finish()
        for r in self.query(Reasoning):
            r.collapsed = True

    async def finish(self) -> None:
        await self.fold_reasoning()

    @property
    def answer(self) -> str:
        return "".join(a.text for a in self.query(AnswerText))


# --- approval ----------------------------------------------------------------------------------


class ApprovalScreen(ModalScreen[bool | str]):
    """Allow a tool call once, always (this tool, this session), or deny it. Shows the server,
    the tool, why it is asked, what changed since it was approved, what in its description
    looks like instructions to the model, the description and the full arguments."""

    BINDINGS = [
        Binding("y", "answer('yes')", "allow"),
        Binding("a", "answer('always')", "always allow this tool"),
        Binding("n,escape", "answer('no')", "deny"),
    ]

    def __init__(self, request: ToolCallRequest):
        super().__init__()
        self.request = request

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(id="approval"):
            yield Static("Allow this tool call?", classes="approval-title")
            reason = f"  ({r.reason})" if r.reason else ""
            yield Static(
                printable(f"{r.server} › {r.tool}{reason}"), markup=False, classes="approval-tool"
            )
            with VerticalScroll(classes="approval-body"):
                for warning in (*r.changes, *r.flags):
                    yield Static(
                        f"⚠ {printable(warning)}", markup=False, classes="approval-warning"
                    )
                if r.description:
                    yield Static(
                        printable(r.description), markup=False, classes="approval-description"
                    )
                yield Static(
                    printable(format_arguments(r.arguments)), markup=False, classes="approval-args"
                )
            with Horizontal(classes="approval-buttons"):
                yield Button("Allow (y)", id="allow", variant="success")
                yield Button("Always allow this tool (a)", id="always", variant="primary")
                yield Button("Deny (n)", id="deny", variant="error")

    def on_mount(self) -> None:
        self.query_one("#allow", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer({"allow": "yes", "always": "always", "deny": "no"}[event.button.id])

    def action_answer(self, answer: str) -> None:
        self.dismiss({"yes": True, "always": "always", "no": False}[answer])


# --- the side panel ---------------------------------------------------------------------------


class ServerRow(Horizontal):
    """One MCP server: name, state, tool count, and a restart button."""

    class Restart(Message):
        def __init__(self, server: str):
            super().__init__()
            self.server = server

    def __init__(self, status: ServerStatus):
        super().__init__(classes="server-row")
        self.server = status.name
        self.label = Static("", classes="server-label")
        self.status = status

    def compose(self) -> ComposeResult:
        yield self.label
        yield Button("restart", compact=True, classes="restart")

    def on_mount(self) -> None:
        self.show(self.status)

    def show(self, status: ServerStatus) -> None:
        self.status = status
        mark = {"ready": "●", "starting": "◌"}.get(status.state, "✗")
        text = f"[b]{escape(status.name)}[/b] [{_STATE_STYLE.get(status.state, 'red')}]{mark} {status.state}[/]"
        if status.state == "ready":
            text += f" · {status.tool_count} tool{'s' if status.tool_count != 1 else ''}"
        if status.restarts:
            text += f" · restarted {status.restarts}×"
        if status.error:
            text += f"\n[red]{escape(status.error)}[/]"
        self.label.update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Restart(self.server))


_STATE_STYLE = {"ready": "green", "starting": "yellow", "stopped": "yellow"}


class ModelInfo(Static):
    """Name, backend, quantization, context used of the window, speed."""

    def __init__(self):
        super().__init__("loading the model…", id="model-info")
        self.info: dict = {}
        self.n_ctx = 0
        self.used = 0
        self.rate = 0.0
        self.error: str | None = None

    def set_model(self, info: dict, n_ctx: int) -> None:
        self.info, self.n_ctx = dict(info), n_ctx
        self.refresh_text()

    def set_error(self, message: str) -> None:
        self.error = message
        self.refresh_text()

    def set_usage(self, used: int | None = None, rate: float | None = None) -> None:
        if used is not None:
            self.used = used
        if rate is not None:
            self.rate = rate
        self.refresh_text()

    def lines(self) -> list[str]:
        if self.error:
            return [f"[red]{escape(self.error)}[/]"]
        if not self.info:
            return ["loading the model…"]
        name = Path(str(self.info.get("model", "?"))).name or "?"
        pct = f" ({100 * self.used / self.n_ctx:.0f} %)" if self.n_ctx else ""
        return [
            f"[b]{escape(name)}[/b]",
            f"backend    {escape(str(self.info.get('backend', '?')))}",
            f"quant      {escape(str(self.info.get('quantization', '?')))}",
            f"context    {self.used:,} / {self.n_ctx:,}{pct}",
            f"speed      {format_rate(self.rate)}",
        ]

    def refresh_text(self) -> None:
        self.update("\n".join(self.lines()))


class SidePanel(VerticalScroll):
    def compose(self) -> ComposeResult:
        yield Static("MCP servers", classes="panel-title")
        yield Vertical(id="servers")
        yield Static("Model", classes="panel-title")
        yield ModelInfo()

    async def show_servers(self, statuses: list[ServerStatus]) -> None:
        box = self.query_one("#servers", Vertical)
        rows = {r.server: r for r in box.query(ServerRow)}
        for st in statuses:
            if st.name in rows:
                rows[st.name].show(st)
            else:
                await box.mount(ServerRow(st))
        if not statuses and not box.query(Static):
            await box.mount(Static("none configured", classes="dim"))


# --- a stored conversation ------------------------------------------------------------------


async def show_conversation(log: Widget, conv: Conversation) -> None:
    """Mount the turns of a stored conversation into ``log``, as they looked."""
    pending: deque[ToolCard] = deque()
    for msg, meta in zip(conv.messages, conv.meta, strict=True):
        role = msg.get("role")
        if role == "user":
            await log.mount(UserMessage(str(msg.get("content", ""))))
        elif role == "assistant":
            turn = ModelTurn()
            await log.mount(turn)
            for part in assistant_parts(msg):
                if isinstance(part, Thought):
                    r = Reasoning(part.text)
                    r.collapsed = True
                    await turn.mount(r)
                elif isinstance(part, ToolCall):
                    card = ToolCard(part.id or "", part.name, part.arguments, None, "ok")
                    pending.append(card)
                    await turn.mount(card)
                elif part:
                    await turn.mount(AnswerText(str(part)))
        elif role == "tool" and pending:
            card = pending.popleft()
            meta = meta or {}
            card.server = meta.get("server")
            if card.server:
                card.border_title = f"{card.server} › {card.tool_name}"
            content = msg.get("content")
            text = content if isinstance(content, str) else json.dumps(content)
            card.finish(
                text,
                bool(msg.get("is_error")),
                float(meta.get("ms") or 0),
                bool(meta.get("declined")),
            )
