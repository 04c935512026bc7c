"""``bslm chat`` in a real terminal: tmux runs it, the test types keys and reads the screen.

The model is a tiny random one saved to a directory (its answers are noise, but they stream);
the MCP server is the real demo server. Needs the ``tmux`` program (Debian/Ubuntu package
``tmux``); skipped without it.
"""

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from bslm.tui.store import Store

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (apt install tmux)"
    ),
]


class Tmux:
    def __init__(self, command: list[str], env: dict[str, str], size=(120, 36)):
        self.name = f"bslm-{uuid.uuid4().hex[:8]}"
        assignments = [f"{k}={v}" for k, v in env.items()]
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                self.name,
                "-x",
                str(size[0]),
                "-y",
                str(size[1]),
                "env",
                *assignments,
                *command,
            ],
            check=True,
        )
        # a detached session may keep the server's default size
        subprocess.run(
            ["tmux", "resize-window", "-t", self.name, "-x", str(size[0]), "-y", str(size[1])],
            capture_output=True,
        )

    def screen(self) -> str:
        r = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return r.stdout

    def alive(self) -> bool:
        return (
            subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode
            == 0
        )

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def type(self, text: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", text], check=True)

    def wait_for(self, text: str, timeout: float = 60) -> str:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            screen = self.screen()
            if text in screen:
                return screen
            if not self.alive():
                break
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear; the screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def answered(db, timeout: float = 60) -> None:
    """Until the store holds the model's answer to the first message."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if db.exists():
            store = Store(db)
            try:
                latest = store.latest()
                if latest is not None and any(
                    m["role"] == "assistant" for m in store.load(latest).messages
                ):
                    return
            finally:
                store.close()
        time.sleep(0.3)
    raise AssertionError("the model's answer was never saved")


@pytest.fixture
def tiny_model_dir(tmp_path):
    from bslm.models.build import fresh_model, save_model

    model, tok = fresh_model("tiny")
    return save_model(model, tok, tmp_path / "tiny")


def test_chat_in_tmux(tiny_model_dir, tmp_path):
    env = {
        "BSLM_DATA": str(tmp_path),
        "BSLM_DEMO_DATA": str(tmp_path),
        "BSLM_DEMO_ROOT": str(tmp_path),
        "HF_HUB_OFFLINE": "1",
        "PATH": os.environ.get("PATH", ""),
        "TERM": "xterm-256color",
    }
    command = [
        sys.executable,
        "-m",
        "bslm.cli",
        "chat",
        "--model",
        str(tiny_model_dir),
        "--backend",
        "torch",
        "--max-new-tokens",
        "12",
        "--approve",
        "none",
    ]
    term = Tmux(command, env)
    try:
        term.wait_for("ready · Enter sends", timeout=120)
        screen = term.wait_for("demo ● ready · 11 tools")
        assert "backend    torch" in screen
        term.type("/tools")
        term.keys("Enter")
        term.wait_for("read_file  [not approved; allow]")
        term.type("hello there")
        term.keys("Enter")
        term.wait_for("hello there")
        answered(tmp_path / "chats.sqlite3")
        term.wait_for("ready · Enter sends")
        term.type("/quit")
        term.keys("Enter")
        t0 = time.monotonic()
        while term.alive() and time.monotonic() - t0 < 30:
            time.sleep(0.2)
        assert not term.alive(), term.screen()
    finally:
        term.kill()
    store = Store(tmp_path / "chats.sqlite3")
    conv = store.load(store.latest())
    assert conv.messages[0] == {"role": "user", "content": "hello there"}
    assert conv.messages[1]["role"] == "assistant"
