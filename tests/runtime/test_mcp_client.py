"""The MCP hub against real stdio servers: the demo server, mcp-server-time, and a deliberately
broken server (tests/runtime/servers/broken.py)."""

import asyncio
import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from bslm.models.tools import ToolCall, ToolResult
from bslm.runtime.approval import Policy
from bslm.runtime.mcp_client import (
    HubSettings,
    MCPHub,
    error_kind,
    truncate_result,
    validation_error,
)
from bslm.runtime.mcp_config import demo_config, parse_config
from bslm.runtime.prespawn import spawn_servers

pytestmark = pytest.mark.anyio
BROKEN = str(Path(__file__).parent / "servers" / "broken.py")
TIME_SERVER = shutil.which("mcp-server-time", path=str(Path(sys.executable).parent))


@pytest.fixture
def anyio_backend():
    return "asyncio"


def config(servers: dict, **extra) -> "object":
    return parse_config({"mcpServers": servers, **extra})


AHEAD = pytest.mark.parametrize("ahead", [False, True], ids=["sdk-spawned", "spawned-ahead"])


def open_hub(cfg, ahead: bool, **kw) -> MCPHub:
    """A hub whose stdio servers the SDK spawns, or that were spawned ahead and adopted."""
    return MCPHub(cfg, spawned=spawn_servers(cfg) if ahead else None, **kw)


def broken(*args: str, **keys) -> dict:
    # trusted: these tests are about failures, not annotations (see test_hostile.py)
    return {"command": sys.executable, "args": [BROKEN, *args], "trusted": True, **keys}


def demo() -> dict:
    return {"command": sys.executable, "args": ["-m", "bslm.runtime.demo_server"], "trusted": True}


# --- pure parts --------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer", "minimum": 1},
        "unit": {"type": "string", "enum": ["c", "f"]},
    },
    "required": ["city"],
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    "args,message",
    [
        ({"city": "Paris"}, None),
        ({"city": "Paris", "days": 3, "unit": "f"}, None),
        ({}, "'city' is a required property"),
        ({"city": 5}, "city: 5 is not of type 'string'"),
        ({"city": "P", "days": 0}, "days: 0 is less than the minimum of 1"),
        ({"city": "P", "days": 2.5}, "days: 2.5 is not of type 'integer'"),
        ({"city": "P", "unit": "k"}, "unit: 'k' is not one of ['c', 'f']"),
        ({"city": "P", "when": "now"}, "Additional properties are not allowed ('when'"),
        (["Paris"], "arguments must be a JSON object, got list"),
    ],
)
def test_validation_error(args, message):
    got = validation_error(SCHEMA, args)
    assert got == message if message is None else message in got


def test_validation_lets_broken_or_missing_schemas_through():
    assert validation_error(None, {"x": 1}) is None
    assert validation_error({"type": "object", "properties": {"x": {"type": 5}}}, {"x": 1}) is None


def test_truncate_result():
    small = ToolResult.from_text("short")
    assert truncate_result(small, 100) is small
    big = ToolResult(
        [
            {"type": "text", "text": "a" * 150},
            {"type": "image", "data": "x" * 500, "mime_type": "image/png"},
        ],
        structured={"result": "a" * 150},
    )
    cut = truncate_result(big, 100)
    assert cut.content[0]["text"] == "a" * 100
    assert cut.content[1]["text"].startswith("[image/png omitted")
    assert cut.structured is None
    assert "characters cut]" in cut.content[-1]["text"]
    assert big.content[0]["text"] == "a" * 150  # the original is untouched


# --- the demo server and a third-party server ----------------------------------------------


@AHEAD
async def test_demo_server_tools_and_calls(tmp_path, monkeypatch, ahead):
    monkeypatch.setenv("BSLM_DEMO_DATA", str(tmp_path))
    async with open_hub(demo_config(), ahead) as hub:
        [status] = hub.status()
        assert (status.name, status.state, status.error) == ("demo", "ready", None)
        specs = {s.name: s for s in hub.tools()}
        assert status.tool_count == len(specs) >= 8
        assert specs["calculate"].read_only and not specs["add_note"].read_only
        assert specs["convert_units"].parameters["properties"]["from_unit"]["enum"]
        r = await hub.call(ToolCall("calculate", {"expression": "(17.5 * 3) / 4"}, id="c1"))
        assert (r.is_error, r.text(), r.name, r.call_id) == (False, "13.125", "calculate", "c1")
        # add_note is not read-only: with no one to ask, it is denied and never runs
        r = await hub.call(ToolCall("add_note", {"text": "milk"}))
        assert r.is_error and error_kind(r) == "denied"
        assert not (tmp_path / "notes.json").exists()


@pytest.mark.skipif(TIME_SERVER is None, reason="mcp-server-time is not installed")
async def test_third_party_time_server_and_name_clash():
    cfg = config(
        {
            "demo": demo(),
            "time": {"command": TIME_SERVER, "args": ["--local-timezone", "UTC"], "trusted": True},
        }
    )
    async with MCPHub(cfg) as hub:
        names = {s.name for s in hub.tools()}
        # both servers have convert_time: both get prefixed, the rest keep their names
        assert {
            "demo__convert_time",
            "time__convert_time",
            "get_current_time",
            "calculate",
        } <= names
        assert "convert_time" not in names
        assert hub.lookup("time__convert_time") == ("time", "convert_time")
        r = await hub.call(ToolCall("get_current_time", {"timezone": "Asia/Tokyo"}))
        assert not r.is_error and r.structured["timezone"] == "Asia/Tokyo"
        args = {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        r = await hub.call(ToolCall("time__convert_time", args))
        assert not r.is_error and r.structured["target"]["datetime"].startswith(
            r.structured["source"]["datetime"][:10]
        )
        r = await hub.call(
            ToolCall("demo__convert_time", {"time": "12:00", "target_timezone": "Asia/Tokyo"})
        )
        assert not r.is_error and "+09:00" in json.loads(r.text())["target"]["datetime"]
        r = await hub.call(ToolCall("convert_time", args))
        assert error_kind(r) == "unknown_tool" and "time__convert_time" in r.text()


# --- validation and approval before the server ---------------------------------------------


async def test_invalid_arguments_never_reach_the_server():
    async with MCPHub(config({"b": broken()}), policy=Policy(None, "all")) as hub:
        for bad in ({}, {"n": "three"}, {"n": 1.5}):
            r = await hub.call(ToolCall("count", bad))
            assert r.is_error and error_kind(r) == "invalid_arguments"
            assert r.text().startswith("invalid arguments for count: ")
        assert (await hub.call(ToolCall("calls"))).text() == "0"
        assert (await hub.call(ToolCall("count", {"n": 3}))).text() == "1"


async def test_approval_callback():
    asked = []
    answers = iter([False, "always"])

    async def approve(request):
        asked.append(request)
        return next(answers)

    cfg = config({"b": broken(tools={"crash": "deny"})})
    async with MCPHub(cfg, approve=approve) as hub:
        r = await hub.call(ToolCall("count", {"n": 1}, id="x"))
        assert error_kind(r) == "declined" and r.call_id == "x"
        assert (await hub.call(ToolCall("calls"))).text() == "0"  # read-only: not asked
        assert [(q.server, q.tool, q.arguments, q.call_id) for q in asked] == [
            ("b", "count", {"n": 1}, "x")
        ]
        assert (await hub.call(ToolCall("count", {"n": 1}))).text() == "1"  # "always"
        assert (await hub.call(ToolCall("count", {"n": 1}))).text() == "2"  # not asked again
        assert len(asked) == 2
        r = await hub.call(ToolCall("crash"))
        assert error_kind(r) == "denied" and hub.status()[0].state == "ready"
        assert len(asked) == 2


async def test_approval_override_none_and_a_failing_callback():
    async def approve(request):
        raise RuntimeError("dialog closed")

    async with MCPHub(config({"b": broken()}), approve=approve) as hub:
        r = await hub.call(ToolCall("count", {"n": 1}))
        assert error_kind(r) == "declined" and "dialog closed" in r.text()
        hub.policy = Policy(hub.config, "none")
        r = await hub.call(ToolCall("count", {"n": 1}))
        assert error_kind(r) == "denied"
        assert (await hub.call(ToolCall("echo", {"text": "ok"}))).text() == "ok"


# --- failures ----------------------------------------------------------------------------------


@AHEAD
async def test_servers_that_fail_to_start_leave_the_others_running(ahead):
    cfg = config(
        {
            "ok": broken(),
            "exits": broken("--fail-start"),
            "missing": {"command": "bslm-no-such-server"},
            "slow": broken("--slow-start", "30", startupTimeout=1),
        }
    )
    t0 = time.monotonic()
    async with open_hub(cfg, ahead) as hub:
        assert time.monotonic() - t0 < 10
        status = {s.name: s for s in hub.status()}
        assert status["ok"].state == "ready" and status["ok"].tool_count > 5
        assert status["exits"].state == "failed"
        assert "refusing to start (--fail-start)" in status["exits"].error
        assert (
            status["missing"].state == "failed" and "bslm-no-such-server" in status["missing"].error
        )
        assert (
            status["slow"].state == "failed" and "did not start within 1 s" in status["slow"].error
        )
        assert (await hub.call(ToolCall("echo", {"text": "hi"}))).text() == "hi"


@AHEAD
async def test_crash_mid_call_then_automatic_and_manual_restart(ahead):
    changes = []
    cfg = config({"b": broken(), "other": demo()})
    policy = Policy(None, "all")
    async with open_hub(cfg, ahead, policy=policy, on_status=lambda: changes.append(1)) as hub:
        pid = (await hub.call(ToolCall("pid"))).text()
        r = await hub.call(ToolCall("crash"))
        assert r.is_error and error_kind(r) == "crashed" and "'b' crashed" in r.text()
        status = {s.name: s for s in hub.status()}
        assert status["b"].state == "crashed" and status["other"].state == "ready"
        assert "b__calculate" not in {s.name for s in hub.tools()}  # names stay put
        assert not (await hub.call(ToolCall("other__calculate", {"expression": "1+1"}))).is_error
        # the next call restarts the server once
        new_pid = (await hub.call(ToolCall("pid"))).text()
        assert new_pid != pid and hub.status()[0].state == "ready" and hub.status()[0].restarts == 1
        status = await hub.restart("b")
        assert status.state == "ready" and status.restarts == 2
        assert (await hub.call(ToolCall("pid"))).text() not in (pid, new_pid)
        assert changes


@AHEAD
async def test_a_server_dying_while_idle_shows_at_once(ahead):
    import os
    import signal

    async with open_hub(config({"b": broken()}), ahead) as hub:
        pid = int((await hub.call(ToolCall("pid"))).text())
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            if hub.status()[0].state != "ready":
                break
            await asyncio.sleep(0.1)
        assert hub.status()[0].state == "crashed"
        assert hub.status()[0].error == "the server closed the connection"
        assert int((await hub.call(ToolCall("pid"))).text()) != pid  # restarted


async def test_no_second_automatic_restart_without_a_good_call():
    async with MCPHub(config({"b": broken()}), policy=Policy(None, "all")) as hub:
        assert error_kind(await hub.call(ToolCall("crash"))) == "crashed"
        assert error_kind(await hub.call(ToolCall("crash"))) == "crashed"  # restarted once
        r = await hub.call(ToolCall("echo", {"text": "x"}))
        assert error_kind(r) == "unavailable" and "crashed" in r.text()
        await hub.restart("b")
        assert (await hub.call(ToolCall("echo", {"text": "x"}))).text() == "x"


@AHEAD
async def test_hang_times_out_error_and_huge_results(ahead):
    # 3 s: long enough that a loaded machine does not time out the calls that answer at once
    settings = HubSettings(call_timeout=3.0, max_result_chars=1000)
    async with open_hub(config({"b": broken()}), ahead, settings=settings) as hub:
        assert hub.status()[0].state == "ready"  # the call timeout does not bound the start
        t0 = time.monotonic()
        r = await hub.call(ToolCall("hang"))
        assert error_kind(r) == "timeout" and "within 3 s" in r.text()
        assert time.monotonic() - t0 < 8
        assert (await hub.call(ToolCall("echo", {"text": "still here"}))).text() == "still here"
        r = await hub.call(ToolCall("fail", {"message": "disk full"}))
        assert r.is_error and error_kind(r) is None  # the server's own error result
        r = await hub.call(ToolCall("huge", {"size": 2_000_000}))
        assert not r.is_error and r.structured is None
        assert r.content[0]["text"] == "x" * 1000
        assert r.content[-1]["text"] == "[… 1,999,000 of 2,000,000 characters cut]"


async def test_control_token_lookalikes_come_back_as_plain_text(tok):
    from tests.runtime.servers.broken import CONTROL_LOOKALIKES

    async with MCPHub(config({"b": broken()})) as hub:
        r = await hub.call(ToolCall("tokens"))
    assert not r.is_error and r.text() == CONTROL_LOOKALIKES
    # what the model will read of it: text tokens only, none of them a control token
    ids = tok.encode_text(r.text())
    assert not any(tok.is_tool(i) for i in ids)
    assert not set(ids) & set(tok.base.all_special_ids)
    assert tok.decode_text(ids) == CONTROL_LOOKALIKES


async def test_call_many_runs_concurrently_in_order():
    async with MCPHub(config({"b": broken(), "c": broken()})) as hub:
        calls = [
            ToolCall(f"{s}__sleep", {"seconds": d}, id=str(i))
            for i, (s, d) in enumerate([("b", 1.0), ("b", 1.0), ("c", 1.0), ("c", 0.5)])
        ]
        calls.append(ToolCall("nope"))
        t0 = time.monotonic()
        results = await hub.call_many(calls)
        assert time.monotonic() - t0 < 1.8  # one server's calls overlap too
        assert [r.text() for r in results[:4]] == ["1.0", "1.0", "1.0", "0.5"]
        assert [r.call_id for r in results[:4]] == ["0", "1", "2", "3"]
        assert error_kind(results[4]) == "unknown_tool"


async def test_call_many_asks_one_at_a_time_in_order():
    asked, active = [], []

    async def approve(request):
        active.append(1)
        assert len(active) == 1
        await asyncio.sleep(0.05)
        asked.append(request.arguments["n"])
        active.pop()
        return request.arguments["n"] != 2

    async with MCPHub(config({"b": broken()}), approve=approve) as hub:
        results = await hub.call_many([ToolCall("count", {"n": n}) for n in (1, 2, 3)])
        assert asked == [1, 2, 3]
        assert [error_kind(r) for r in results] == [None, "declined", None]
        assert (await hub.call(ToolCall("calls"))).text() == "2"


# --- streamable HTTP ---------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_streamable_http_server():
    import socket
    import subprocess

    port, dead = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bslm.runtime.demo_server", "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not listen"
                await asyncio.sleep(0.2)
        cfg = config(
            {
                "web": {
                    "url": f"http://127.0.0.1:{port}/mcp",
                    "headers": {"X-Client": "test"},
                    "trusted": True,
                },
                "gone": {"url": f"http://127.0.0.1:{dead}/mcp", "startupTimeout": 5},
            }
        )
        async with MCPHub(cfg) as hub:
            status = {s.name: s for s in hub.status()}
            assert status["web"].state == "ready" and status["web"].transport == "http"
            assert status["gone"].state == "failed" and status["gone"].error
            r = await hub.call(ToolCall("calculate", {"expression": "6 * 7"}))
            assert (r.is_error, r.text()) == (False, "42")
    finally:
        proc.terminate()
        proc.wait(10)


async def test_select_tools_and_unknown_tool_hints():
    from bslm.runtime.mcp_client import HubSettings

    settings = HubSettings(retrieval_threshold=5)
    async with MCPHub(demo_config(), settings=settings) as hub:
        everything = hub.tools()
        assert len(everything) > 5
        chosen = hub.select_tools([{"role": "user", "content": "convert 3 miles to km"}], k=3)
        assert len(chosen) == 3 and chosen[0].name in {s.name for s in everything}
        assert "convert_units" in [s.name for s in chosen]
        hub.settings = HubSettings(retrieval_threshold=100)
        assert hub.select_tools("anything", k=3) == everything
        r = await hub.call(ToolCall("calculator", {"expression": "1"}))
        assert error_kind(r) == "unknown_tool" and "did you mean calculate" in r.text()


# --- servers spawned ahead (runtime/prespawn.py) ----------------------------------------------


def test_servers_spawned_ahead_get_the_sdks_environment(monkeypatch):
    from mcp.client.stdio import DEFAULT_INHERITED_ENV_VARS, get_default_environment

    from bslm.runtime.prespawn import INHERITED_ENV, discard

    assert tuple(DEFAULT_INHERITED_ENV_VARS) == INHERITED_ENV
    monkeypatch.setenv("BSLM_NOT_PASSED", "secret")
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    cfg = config({"env": {"command": sys.executable, "args": ["-c", dump], "env": {"X": "1"}}})
    spawned = spawn_servers(cfg)
    out, _ = spawned["env"].process.communicate(timeout=30)
    env = json.loads(out)
    env.pop("LC_CTYPE", None)  # set by Python itself at start on some systems
    assert env == get_default_environment() | {"X": "1"}
    discard(spawned)


async def test_a_server_spawned_ahead_is_stopped_with_its_hub_or_discarded(monkeypatch):
    from bslm.runtime.prespawn import discard

    cfg = config({"b": broken(), "missing": {"command": "bslm-no-such-server"}})
    spawned = spawn_servers(cfg)
    assert set(spawned) == {"b"}  # the missing command is left to the SDK to report
    process = spawned["b"].process
    async with MCPHub(cfg, spawned=spawned) as hub:
        assert spawned == {}  # adopted
        assert int((await hub.call(ToolCall("pid"))).text()) == process.pid
        assert "bslm-no-such-server" in {s.name: s for s in hub.status()}["missing"].error
    assert process.poll() is not None
    monkeypatch.setenv("BSLM_SPAWN_AHEAD", "0")
    assert spawn_servers(cfg) == {}
    monkeypatch.delenv("BSLM_SPAWN_AHEAD")
    unused = spawn_servers(config({"b": broken("--slow-start", "30")}))
    process = unused["b"].process
    discard(unused)
    assert process.poll() is not None and unused == {}


@AHEAD
async def test_a_message_over_the_output_limit_stops_the_server(ahead):
    from bslm.runtime.limits import Limits

    notices = []
    settings = HubSettings(limits=Limits(max_bytes_per_s=50_000))
    cfg = config({"b": broken(), "other": demo()})
    async with open_hub(cfg, ahead, settings=settings, on_notice=notices.append) as hub:
        r = await hub.call(ToolCall("huge", {"size": 200_000}))
        status = {s.name: s for s in hub.status()}
        assert r.is_error
        assert status["b"].state == "failed" and status["b"].error.startswith("stopped: the server")
        assert any("b was stopped" in n for n in notices)
        assert (await hub.call(ToolCall("other__calculate", {"expression": "1+1"}))).text() == "2"


def test_spawning_ahead_imports_nothing_of_the_sdk():
    """The point of spawning ahead: the servers start before the client pays for the SDK."""
    from tests.imports import modules_loaded

    code = "from bslm.runtime.prespawn import spawn_servers"
    assert modules_loaded(code, ("mcp", "mcp_types", "pydantic")) == []
