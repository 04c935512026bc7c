"""The conversation store, the exports, slash-command parsing and ``bslm chat``'s errors."""

import json

import pytest

from bslm.cli.main import main
from bslm.models.parser import Thought
from bslm.models.tools import ToolCall
from bslm.tui.commands import Command, CommandError, is_command, parse
from bslm.tui.store import Store, StoreError, export, to_markdown

MESSAGES = [
    {"role": "user", "content": "Add 2 and 3, then note it."},
    {
        "role": "assistant",
        "parts": [
            "First I add.",
            Thought("2+3"),
            ToolCall("calculate", {"expression": "2+3"}, "call_1"),
        ],
    },
    {"role": "tool", "name": "calculate", "content": "5", "structured_content": {"result": "5"}},
    {"role": "assistant", "content": "It is 5.", "reasoning": "easy"},
]


def test_messages_round_trip_with_their_parts(tmp_path):
    store = Store(tmp_path / "c.sqlite3")
    cid = store.create(model="m.gguf", system="Be brief.", mask="soft")
    for i, m in enumerate(MESSAGES):
        store.add(cid, m, {"ms": 3.5, "server": "demo"} if i == 2 else None)
    store.close()
    conv = Store(tmp_path / "c.sqlite3").load(cid)  # a new connection: all was committed
    assert conv.messages == MESSAGES
    assert conv.meta == [None, None, {"ms": 3.5, "server": "demo"}, None]
    assert (conv.title, conv.system, conv.mask, conv.model) == (
        "Add 2 and 3, then note it.",
        "Be brief.",
        "soft",
        "m.gguf",
    )


def test_latest_unknown_and_listing(tmp_path):
    store = Store(tmp_path / "c.sqlite3")
    assert store.latest() is None
    a = store.create()
    store.add(a, {"role": "user", "content": "first"})
    b = store.create()  # empty: never the latest, never listed
    assert store.latest() == a
    c = store.create()
    store.add(c, {"role": "user", "content": "second " * 20})
    assert store.latest() == c
    store.add(a, {"role": "user", "content": "again"})
    assert store.latest() == a
    assert [x.id for x in store.conversations()] == [a, c]
    assert store.conversations()[1].title.endswith("…")
    with pytest.raises(StoreError, match=f"no conversation {b + 10}"):
        store.load(b + 10)


def test_exports(tmp_path):
    store = Store(tmp_path / "c.sqlite3")
    cid = store.create(system="Be brief.")
    for m in MESSAGES:
        store.add(cid, m)
    conv = store.load(cid)
    md = to_markdown(conv)
    assert "**System:** Be brief." in md and "> 2+3" in md and "Call `calculate`" in md
    assert "Result of `calculate`" in md and "It is 5." in md
    export(conv, tmp_path / "out" / "c.json")
    data = json.loads((tmp_path / "out" / "c.json").read_text())
    assert data["messages"][1]["parts"][2] == {
        "type": "call",
        "name": "calculate",
        "arguments": {"expression": "2+3"},
        "id": "call_1",
    }


@pytest.mark.parametrize(
    "line,command",
    [
        ("/help", Command("help")),
        ("/TOOLS", Command("tools")),
        ("/mask soft", Command("mask", "soft")),
        ("/system Answer in French.  ", Command("system", "Answer in French.")),
        ("/save out.json", Command("save", "out.json")),
        ("/quit", Command("quit")),
    ],
)
def test_commands_accepted(line, command):
    assert is_command(line) and parse(line) == command


@pytest.mark.parametrize(
    "line,message",
    [
        ("/mask", "hard, soft or off"),
        ("/mask strict", "hard, soft or off"),
        ("/nope", "unknown command /nope"),
        ("/clear now", "takes no argument"),
    ],
)
def test_commands_refused(line, message):
    with pytest.raises(CommandError, match=message):
        parse(line)


@pytest.mark.parametrize("line", ["/etc/hosts is a file", "hello /help", "/", "  "])
def test_not_commands(line):
    assert not is_command(line)


def test_chat_cli_bad_input_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BSLM_DATA", str(tmp_path))
    assert main(["chat", "--resume", "42"]) == 2
    assert main(["chat", "--resume"]) == 2
    assert main(["chat", "--resume", "last-week"]) == 2
    assert main(["chat", "--model", str(tmp_path / "missing.gguf")]) == 2
    assert main(["chat", "--mcp-config", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 5 and all(e.startswith("bslm: error:") for e in err)
    assert "no conversation 42" in err[0] and "no conversation to resume" in err[1]
    assert "conversation number" in err[2] and "does not exist" in err[3]
    assert main(["chat", "--list"]) == 0
    assert "no conversations yet" in capsys.readouterr().out
