"""Fixtures for the chat app: a scripted model (each turn a token sequence written in
advance), the real demo MCP server, a conversation store in a temporary directory, and a
driver that waits for the app instead of sleeping a fixed time."""

import asyncio
import time
from pathlib import Path

import pytest

from bslm.models.language import Sym, Text
from bslm.runtime.mcp_config import demo_config
from bslm.tui.app import ChatApp, ChatOptions
from bslm.tui.store import Store
from tests.runtime.test_agent import Scripted, call, turn

__all__ = ["Scripted", "Sym", "Text", "call", "turn"]

SIZE = (110, 34)
SNAPSHOTS = Path(__file__).parent / "snapshots"


class Slow(Scripted):
    """A scripted model that takes ``delay`` seconds per token, to be stopped mid-answer."""

    def __init__(self, tok, turns, delay: float = 0.02):
        super().__init__(tok, turns)
        self.delay = delay

    def _logits(self):
        time.sleep(self.delay)
        return super()._logits()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Where the demo server keeps notes and files and the store its database."""
    monkeypatch.setenv("BSLM_DEMO_ROOT", str(tmp_path))
    monkeypatch.setenv("BSLM_DEMO_DATA", str(tmp_path))
    monkeypatch.setenv("BSLM_DATA", str(tmp_path))
    return tmp_path


@pytest.fixture
def make_app(tok, data_dir):
    """``make_app(script, **options)``: a ChatApp on a scripted model and the demo server."""

    def make(script, backend=None, **options) -> ChatApp:
        model = backend if backend is not None else Scripted(tok, script)
        return ChatApp(
            ChatOptions(**options),
            store=Store(data_dir / "chats.sqlite3"),
            config=demo_config(),
            open_model=lambda: model,
        )

    return make


async def until(pilot, check, timeout: float = 20.0, what: str = "the app"):
    """Let the app run until ``check()`` is true."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)
    await pilot.pause()


async def ready(pilot):
    await until(pilot, pilot.app.ready.is_set, what="the model and the servers")


async def idle(pilot):
    """Until the turn is over and every event has been shown."""
    await until(pilot, lambda: pilot.app.turn_task is None, what="the turn to end")
    await pilot.pause(0.1)


async def send(pilot, text: str, wait: bool = True):
    """Put ``text`` in the prompt and press Enter."""
    from bslm.tui.widgets import PromptInput

    pilot.app.query_one(PromptInput).insert(text)
    await pilot.press("enter")
    if wait:
        await idle(pilot)


def run(coro):
    return asyncio.run(coro)
