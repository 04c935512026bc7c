"""The third-party mcp-server-sqlite over stdio: per-tool approval from the config, and the
plain command, written for mcp 1.x, failing cleanly at start under mcp 2."""

import shutil
import sys
from pathlib import Path

import pytest

from bslm.models.tools import ToolCall
from bslm.runtime.approval import Policy
from bslm.runtime.mcp_client import MCPHub, error_kind
from bslm.runtime.mcp_config import parse_config

pytest.importorskip("mcp_server_sqlite")
pytestmark = pytest.mark.anyio
ADAPTER = str(Path(__file__).parent / "servers" / "sqlite_v1.py")


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_sqlite_server_with_per_tool_approval(tmp_path):
    db = tmp_path / "shop.db"
    cfg = parse_config(
        {
            "mcpServers": {
                "sqlite": {
                    "command": sys.executable,
                    "args": [ADAPTER, "--db-path", str(db)],
                    "tools": {
                        "read_query": "allow",
                        "list_tables": "allow",
                        "append_insight": "deny",
                    },
                }
            }
        }
    )
    asked = []

    async def approve(request):
        asked.append(request.tool)
        return "always" if request.tool == "create_table" else True

    async with MCPHub(cfg, policy=Policy(cfg), approve=approve) as hub:
        [status] = hub.status()
        assert status.state == "ready" and status.tool_count == 6
        create = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL)"
        r = await hub.call(ToolCall("create_table", {"query": create}))
        assert not r.is_error and "created" in r.text()
        results = await hub.call_many(
            [
                ToolCall(
                    "write_query", {"query": "INSERT INTO items (name, price) VALUES ('tea', 3.5)"}
                ),
                ToolCall(
                    "write_query", {"query": "INSERT INTO items (name, price) VALUES ('jam', 4)"}
                ),
            ]
        )
        assert [r.text() for r in results] == ["[{'affected_rows': 1}]"] * 2
        r = await hub.call(
            ToolCall("read_query", {"query": "SELECT name FROM items ORDER BY price"})
        )
        assert r.text() == "[{'name': 'tea'}, {'name': 'jam'}]"
        assert asked == ["create_table", "write_query", "write_query"]
        r = await hub.call(ToolCall("create_table", {"query": "CREATE TABLE t2 (x INTEGER)"}))
        assert not r.is_error and asked.count("create_table") == 1  # "always"
        r = await hub.call(ToolCall("append_insight", {"insight": "tea sells"}))
        assert error_kind(r) == "denied"
        r = await hub.call(ToolCall("read_query", {"sql": "SELECT 1"}))
        assert error_kind(r) == "invalid_arguments" and "'query' is a required property" in r.text()
    assert db.exists()


@pytest.mark.skipif(
    shutil.which("mcp-server-sqlite", path=str(Path(sys.executable).parent)) is None,
    reason="not installed",
)
async def test_plain_sqlite_command_fails_cleanly_under_mcp2(tmp_path):
    command = shutil.which("mcp-server-sqlite", path=str(Path(sys.executable).parent))
    cfg = parse_config(
        {
            "mcpServers": {
                "sqlite": {"command": command, "args": ["--db-path", str(tmp_path / "x.db")]}
            }
        }
    )
    async with MCPHub(cfg) as hub:
        [status] = hub.status()
        assert status.state == "failed" and "has no attribute 'list_resources'" in status.error
        assert hub.tools() == []
        r = await hub.call(ToolCall("read_query", {"query": "SELECT 1"}))
        assert error_kind(r) == "unknown_tool"
