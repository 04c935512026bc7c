"""MCP config: where it is found, what a good file gives, and one-line errors for bad ones."""

import json
import sys

import pytest

from bslm.runtime.approval import Policy
from bslm.runtime.mcp_config import (
    ENV_VAR,
    MCPConfigError,
    default_config_path,
    load_config,
    parse_config,
    resolve_config,
    resolve_config_path,
)


def write(path, data):
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


GOOD = {
    "mcpServers": {
        "time": {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]},
        "files": {
            "command": "python",
            "args": ["-m", "srv"],
            "env": {"ROOT": "/srv"},
            "cwd": "~/work",
            "approve": "allow",
            "tools": {"delete_file": "deny"},
            "timeout": 5,
            "startupTimeout": 2.5,
            "autoApprove": ["x"],
        },
        "remote": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer t"}},
        "legacy": {"url": "https://example.org/sse", "type": "sse"},
        "off": {"command": "nothing", "disabled": True},
    },
    "approval": {"default": "ask", "rules": {"time/*": "allow", "*/delete_*": "deny"}},
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty user config directory and no BSLM_MCP_CONFIG."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    return tmp_path


def test_good_file(tmp_path):
    cfg = load_config(write(tmp_path / "mcp.json", GOOD))
    assert list(cfg.servers) == ["time", "files", "remote", "legacy"]
    files = cfg.servers["files"]
    assert (
        files.transport == "stdio" and files.args == ("-m", "srv") and files.env == {"ROOT": "/srv"}
    )
    assert files.cwd.endswith("work") and "~" not in files.cwd
    assert (files.approve, files.tools, files.call_timeout, files.startup_timeout) == (
        "allow",
        {"delete_file": "deny"},
        5.0,
        2.5,
    )
    assert cfg.servers["remote"].transport == "http"
    assert cfg.servers["remote"].headers == {"Authorization": "Bearer t"}
    assert cfg.servers["legacy"].transport == "sse"
    assert cfg.approval.rules == (("time/*", "allow"), ("*/delete_*", "deny"))
    assert cfg.source == tmp_path / "mcp.json"


def test_resolution_order(home, monkeypatch):
    user = default_config_path()
    assert user == home / "xdg" / "bslm" / "mcp.json"
    assert resolve_config_path() is None
    demo = resolve_config()
    assert list(demo.servers) == ["demo"]
    assert demo.servers["demo"].command == sys.executable

    user.parent.mkdir(parents=True)
    write(user, {"mcpServers": {"u": {"command": "u"}}})
    assert resolve_config_path() == user
    env_file = write(home / "env.json", {"mcpServers": {"e": {"command": "e"}}})
    monkeypatch.setenv(ENV_VAR, str(env_file))
    assert resolve_config_path() == env_file
    cli_file = write(home / "cli.json", {"mcpServers": {"c": {"command": "c"}}})
    assert resolve_config_path(cli_file) == cli_file
    assert list(resolve_config(cli_file).servers) == ["c"]
    assert list(resolve_config().servers) == ["e"]


def test_named_file_must_exist(home, monkeypatch):
    with pytest.raises(MCPConfigError, match="--mcp-config: .*missing.json does not exist"):
        resolve_config_path(home / "missing.json")
    monkeypatch.setenv(ENV_VAR, str(home / "gone.json"))
    with pytest.raises(MCPConfigError, match=f"{ENV_VAR}: .*gone.json"):
        resolve_config_path()


@pytest.mark.parametrize(
    "data,message",
    [
        ("{oops", "not valid JSON"),
        ([], "expected a JSON object"),
        ({"servers": {}}, 'expected "mcpServers"'),
        ({"mcpServers": {"a": "cmd"}}, "mcpServers.a: expected an object"),
        ({"mcpServers": {"a": {}}}, "exactly one of 'command'"),
        ({"mcpServers": {"a": {"command": "x", "url": "http://h"}}}, "exactly one of"),
        ({"mcpServers": {"a b": {"command": "x"}}}, "server names"),
        (
            {"mcpServers": {"a": {"command": "x", "args": "-v"}}},
            "mcpServers.a.args: expected a list",
        ),
        ({"mcpServers": {"a": {"command": "x", "env": {"K": 1}}}}, "a.env: expected an object"),
        ({"mcpServers": {"a": {"command": ["x"]}}}, "a.command: expected a string"),
        ({"mcpServers": {"a": {"command": "x", "approve": "yes"}}}, "a.approve: 'yes' is not"),
        ({"mcpServers": {"a": {"command": "x", "tools": {"t": "maybe"}}}}, "a.tools: expected"),
        ({"mcpServers": {"a": {"command": "x", "timeout": -1}}}, "a.timeout: expected a positive"),
        ({"mcpServers": {"a": {"command": "x", "type": "ws"}}}, "a.type: 'ws' is not one of"),
        ({"mcpServers": {"a": {"url": "http://h", "type": "stdio"}}}, "does not match url"),
        (
            {"mcpServers": {}, "approval": {"rules": {"time": "allow"}}},
            "needs the form 'server/tool'",
        ),
        ({"mcpServers": {}, "approval": {"default": "sure"}}, "approval.default: 'sure'"),
        ({"mcpServers": {}, "approval": {"allow": ["x"]}}, "approval: expected"),
    ],
)
def test_bad_files_say_what_is_wrong_in_one_line(tmp_path, data, message):
    path = write(tmp_path / "bad.json", data)
    with pytest.raises(MCPConfigError) as e:
        load_config(path)
    assert message in str(e.value)
    assert str(e.value).startswith(str(path)) and "\n" not in str(e.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(MCPConfigError, match="cannot read it"):
        load_config(tmp_path)


def test_policy_rejects_unknown_override():
    with pytest.raises(MCPConfigError, match="--approve: 'some'"):
        Policy(parse_config({"mcpServers": {}}), override="some")
