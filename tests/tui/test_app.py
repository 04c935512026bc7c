"""The chat app driven by Textual pilots: a scripted model, the real demo MCP server."""

import asyncio
import json

import pytest

from bslm.models.language import render
from bslm.tui.app import ChatApp, ChatOptions
from bslm.tui.store import Store
from bslm.tui.widgets import (
    AnswerText,
    ApprovalScreen,
    NoteLine,
    PromptInput,
    Reasoning,
    ServerRow,
    ToolCard,
    UserMessage,
)

from .conftest import SIZE, Scripted, Slow, Sym, Text, call, idle, ready, run, send, turn, until


def notes(app) -> str:
    return "\n".join(str(n.render()) for n in app.query(NoteLine))


def test_a_message_streams_an_answer_and_is_saved(tok, make_app):
    app = make_app([turn(tok, Text("Hello! I can use tools."))])

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "hi there")
            assert [str(u.render()) for u in app.query(UserMessage)] == ["hi there"]
            [answer] = app.query(AnswerText)
            assert answer.text == "Hello! I can use tools."
            assert app.query_one(PromptInput).text == ""
            assert app.latencies[0]["first"] > app.latencies[0]["sent"]
            return app.conversation

    cid = run(go())
    conv = Store(app.store.path).load(cid)
    assert [m["role"] for m in conv.messages] == ["user", "assistant"]
    assert conv.title == "hi there"


def test_a_tool_call_is_a_card(tok, make_app):
    script = [
        turn(
            tok,
            Sym("think"),
            Text("I should compute it."),
            Sym("end"),
            *call("calculate", expression="6*7"),
        ),
        turn(tok, Text("It is 42.")),
    ]
    app = make_app(script)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "six times seven?")
            [card] = app.query(ToolCard)
            assert (card.server, card.tool_name, card.arguments) == (
                "demo",
                "calculate",
                {"expression": "6*7"},
            )
            assert card.state == "ok" and card.result == "42" and card.ms > 0
            assert card.border_title == "demo › calculate" and "done" in card.border_subtitle
            [reasoning] = app.query(Reasoning)
            assert reasoning.text == "I should compute it." and reasoning.collapsed
            assert app.query_one(AnswerText).text == "It is 42."

    run(go())


def test_a_long_result_is_folded(tok, make_app, data_dir):
    (data_dir / "long.txt").write_text("\n".join(f"line {i}" for i in range(40)))
    script = [turn(tok, *call("read_file", path="long.txt")), turn(tok, Text("Read."))]
    app = make_app(script)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "read long.txt")
            card = app.query_one(ToolCard)
            assert card.state == "ok" and "line 39" in card.result
            fold = card.query_one(".tool-result-fold")
            assert fold.collapsed and "lines" in str(fold.title)

    run(go())


def _note_turns(tok, n: int):
    turns = []
    for i in range(n):
        turns += [turn(tok, *call("add_note", text=f"note {i}")), turn(tok, Text(f"Saved {i}."))]
    return turns


def test_approve_deny_and_always(tok, make_app, data_dir):
    """add_note changes something, so the demo's policy asks: allow once, deny, then allow
    always (the third call is not asked about again)."""
    app = make_app(_note_turns(tok, 4))

    async def answer(pilot, key: str):
        await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the dialog")
        dialog = app.screen
        assert dialog.request.tool == "add_note" and dialog.request.server == "demo"
        card = app.query(ToolCard).last()
        assert card.state == "approval"
        await pilot.press(key)
        await idle(pilot)
        assert not isinstance(app.screen, ApprovalScreen)
        return app.query(ToolCard).last()

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "remember note 0", wait=False)
            card = await answer(pilot, "y")
            assert card.state == "ok"
            await send(pilot, "remember note 1", wait=False)
            card = await answer(pilot, "n")
            assert card.state == "declined" and "declined" in card.result
            await send(pilot, "remember note 2", wait=False)
            card = await answer(pilot, "a")
            assert card.state == "ok"
            assert ("demo", "add_note") in app.policy.granted
            await send(pilot, "remember note 3")
            assert app.query(ToolCard).last().state == "ok"
            assert not isinstance(app.screen, ApprovalScreen)

    run(go())
    saved = json.loads((data_dir / "notes.json").read_text())
    texts = sorted(n["text"] for n in (saved["notes"] if isinstance(saved, dict) else saved))
    assert texts == ["note 0", "note 2", "note 3"]


def test_ctrl_c_stops_generation_then_quits(tok, make_app):
    long = turn(tok, *[Text(f"word{i} ") for i in range(300)])
    app = make_app(None, backend=Slow(tok, [long], delay=0.01))

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "talk", wait=False)
            await until(
                pilot, lambda: len(app.query(AnswerText)) and app.query_one(AnswerText).text
            )
            await pilot.press("ctrl+c")
            await idle(pilot)
            assert app.is_running
            answer = app.query_one(AnswerText).text
            assert answer and len(answer.split()) < 300
            assert "stopped" in notes(app)
            assert app.store.load(app.conversation).messages[-1]["role"] == "assistant"
            await pilot.press("ctrl+c")
            await until(pilot, lambda: app.return_code == 0, what="the app to quit")

    run(go())


def test_one_ctrl_c_when_idle_does_not_quit(tok, make_app):
    app = make_app([])

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await pilot.press("ctrl+c")
            await pilot.pause(0.1)
            assert app.return_code is None
            await send(pilot, "/quit", wait=False)
            await until(pilot, lambda: app.return_code == 0, what="the app to quit")

    run(go())


def test_slash_commands(tok, make_app, tmp_path):
    app = make_app([turn(tok, Text("Hi."))])

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "/help")
            assert "/mask hard|soft|off" in notes(app) and "Ctrl+C" in notes(app)
            await send(pilot, "/tools")
            assert "demo (ready, 11 tools)" in notes(app) and "  calculate  [" in notes(app)
            assert f"audit log: {app.audit.path}" in notes(app)
            await send(pilot, "/model")
            assert "model: scripted" in notes(app) and "context:" in notes(app)
            await send(pilot, "/mask soft")
            assert app.agent.mask == "soft"
            await send(pilot, "/mask sometimes")
            assert "/mask takes hard, soft or off" in notes(app) and app.agent.mask == "soft"
            await send(pilot, "/system Answer in French.")
            assert app.agent.system == "Answer in French."
            await send(pilot, "/frobnicate")
            assert "unknown command /frobnicate" in notes(app)
            await send(pilot, "/save")
            assert "nothing to save yet" in notes(app)
            await send(pilot, "hello")
            conv = app.store.load(app.conversation)
            assert (conv.system, conv.mask) == ("Answer in French.", "soft")
            await send(pilot, f"/save {tmp_path / 'chat.json'}")
            await send(pilot, f"/save {tmp_path / 'chat.md'}")
            first = app.conversation
            await send(pilot, "/clear")
            assert not app.query(UserMessage) and app.agent.messages == []
            assert app.conversation is None and "new conversation" in notes(app)
            await send(pilot, "/system off")
            assert app.agent.system is None
            return first

    first = run(go())
    data = json.loads((tmp_path / "chat.json").read_text())
    assert data["id"] == first and [m["role"] for m in data["messages"]] == ["user", "assistant"]
    md = (tmp_path / "chat.md").read_text()
    assert "## You" in md and "hello" in md and "Hi." in md


def test_input_history_and_multiline(tok, make_app):
    app = make_app([turn(tok, Text("one")), turn(tok, Text("two"))])

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            prompt = app.query_one(PromptInput)
            await pilot.press("a", "ctrl+j", "b")
            assert prompt.text == "a\nb"
            await pilot.press("enter")
            await idle(pilot)
            assert str(app.query(UserMessage).first().render()) == "a\nb"
            await send(pilot, "second")
            await pilot.press("up")
            assert prompt.text == "second"
            await pilot.press("up")
            assert prompt.text == "a\nb"
            await pilot.press("down", "down")  # from the first line to the last, then on
            assert prompt.text == "second"
            await pilot.press("down")
            assert prompt.text == ""

    run(go())


def test_resume_shows_and_continues_a_conversation(tok, make_app, data_dir):
    script = [turn(tok, *call("calculate", expression="2+3")), turn(tok, Text("Five."))]
    first = make_app(script)

    async def talk():
        async with first.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "/system Be brief.")
            await send(pilot, "two plus three?")
            return first.conversation

    cid = run(talk())
    again = make_app([turn(tok, Text("Still five."))], resume=cid)

    async def resume():
        async with again.run_test(size=SIZE) as pilot:
            await ready(pilot)
            assert again.conversation == cid and again.agent.system == "Be brief."
            assert [m["role"] for m in again.agent.messages] == [
                "user",
                "assistant",
                "tool",
                "assistant",
            ]
            [card] = again.query(ToolCard)
            assert (card.server, card.result, card.state) == ("demo", "5", "ok")
            assert again.query_one(AnswerText).text == "Five."
            assert f"resumed conversation {cid}" in notes(again)
            await pilot.press("up")
            assert again.query_one(PromptInput).text == "two plus three?"
            await pilot.press("down")
            await send(pilot, "and again?")
            # the model saw the whole conversation
            prompt = render(tok.decode(again.backend.prompts[-1]))
            assert "two plus three?" in prompt and "and again?" in prompt

    run(resume())
    conv = Store(data_dir / "chats.sqlite3").load(cid)
    assert len(conv.messages) == 6 and conv.messages[-1]["content"] == "Still five."


def test_a_model_that_cannot_open_is_reported(data_dir):
    from bslm.runtime.backends import BackendError
    from bslm.runtime.mcp_config import demo_config

    def fail():
        raise BackendError("model.gguf is not a GGUF file")

    app = ChatApp(
        ChatOptions(), store=Store(data_dir / "c.sqlite3"), config=demo_config(), open_model=fail
    )

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            assert "not a GGUF file" in notes(app)
            await send(pilot, "hello")
            assert "no model to answer" in notes(app)

    run(go())


def test_the_dialog_shows_a_poisoned_tool_and_the_audit_log(tok, data_dir):
    """A hostile server's tool: the dialog shows its description with the instructions hidden
    in it flagged, and the full arguments; the call is in the audit log before it runs."""
    import sys

    from bslm.runtime.audit import read_log
    from bslm.runtime.mcp_config import parse_config
    from tests.runtime.test_hostile import HOSTILE

    config = parse_config(
        {"mcpServers": {"hostile": {"command": sys.executable, "args": [HOSTILE]}}}
    )
    script = [
        turn(tok, *call("add_numbers", a=2, b=3, sidenote="ssh-rsa AAAA")),
        turn(tok, Text("5")),
    ]
    app = ChatApp(
        ChatOptions(),
        store=Store(data_dir / "chats.sqlite3"),
        config=config,
        open_model=lambda: Scripted(tok, script),
    )

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            assert f"tool calls are logged in {app.audit.path}" in notes(app)
            await send(pilot, "add_numbers 2 and 3", wait=False)
            await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the dialog")
            from textual.widgets import Static

            shown = "\n".join(str(w.render()) for w in app.screen.query(Static))
            await pilot.press("n")
            await idle(pilot)
            return shown

    shown = run(go())
    assert "hostile › add_numbers" in shown and "~/.ssh/id_rsa" in shown
    assert "⚠ description: hidden instructions" in shown and 'sidenote: "ssh-rsa AAAA"' in shown
    [record, result] = read_log(data_dir / "audit.jsonl")
    assert (record["tool"], record["decision"], record["decided_by"]) == (
        "add_numbers",
        "deny",
        "user",
    )
    assert record["arguments"]["sidenote"] == "ssh-rsa AAAA" and result["is_error"]


def test_the_model_opens_in_a_thread_started_before_the_app(tmp_path, monkeypatch):
    """``bslm chat`` starts opening the model before it imports the app; the app's worker
    gets the backend, or what opening it raised, from that thread."""
    import threading

    from bslm.runtime import backends
    from bslm.runtime.backends import BackendError
    from bslm.tui.launch import start_opening

    started, release = threading.Event(), threading.Event()

    def opening(model, backend, n_ctx):
        started.set()
        release.wait(10)
        if model == "bad.gguf":
            raise BackendError("bad.gguf is not a GGUF file")
        return ("backend", model, backend, n_ctx)

    monkeypatch.setattr(backends, "open_backend", opening)
    opened = start_opening(ChatOptions(model="m.gguf", backend="llama", n_ctx=512))
    assert started.wait(10)  # under way before anyone asks for it
    release.set()
    assert opened() == ("backend", "m.gguf", "llama", 512)
    failed = start_opening(ChatOptions(model="bad.gguf"))
    with pytest.raises(BackendError, match="not a GGUF file"):
        failed()


def test_the_chat_app_imports_nothing_of_the_mcp_sdk_until_it_runs():
    """The input box comes before the MCP SDK (a second or two of imports): importing the
    app and its launcher loads none of it."""
    from tests.imports import modules_loaded

    assert modules_loaded("import bslm.tui.launch, bslm.tui.app", ("mcp", "mcp_types")) == []


def test_the_input_box_is_ready_before_the_servers_and_a_message_waits_for_them(
    tok, make_app, monkeypatch
):
    """Once the model is open the status says ready while the servers still start (shown
    starting in the side panel); a message sent then waits for them, and is answered."""
    from bslm.runtime.mcp_client.hub import MCPHub
    from bslm.tui.app import READY

    gate = asyncio.Event()
    start = MCPHub.start

    async def held(self):
        await gate.wait()
        await start(self)

    monkeypatch.setattr(MCPHub, "start", held)
    app = make_app([turn(tok, Text("Hello."))])

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            status = app.query_one("#status")
            await until(pilot, lambda: str(status.render()) == READY, what="the input box")
            assert not app.ready.is_set() and app.agent is None
            assert [r.status.state for r in app.query(ServerRow)] == ["starting"]
            await send(pilot, "hi", wait=False)
            await until(pilot, lambda: app.turn_task is not None)
            await pilot.pause(0.2)
            assert str(status.render()) == "starting the MCP servers…" and not app.query(AnswerText)
            gate.set()
            await idle(pilot)
            assert app.ready.is_set() and app.query_one(AnswerText).text == "Hello."
            assert [r.status.state for r in app.query(ServerRow)] == ["ready"]

    run(go())
