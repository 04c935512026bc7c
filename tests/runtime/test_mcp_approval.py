"""Approval policy: config layers, read-only defaults, --approve overrides, session grants."""

import pytest

from bslm.runtime.approval import Policy
from bslm.runtime.mcp_config import parse_config

CONFIG = parse_config(
    {
        "mcpServers": {
            "files": {
                "command": "f",
                "approve": "allow",
                "tools": {"delete": "deny", "move": "ask"},
            },
            "time": {"command": "t"},
            "db": {"command": "d"},
            "web": {"command": "w"},
        },
        "approval": {"rules": {"time/*": "allow", "*/drop_*": "deny", "db/read_*": "allow"}},
    }
)
OPEN = parse_config({"mcpServers": {"x": {"command": "x"}}, "approval": {"default": "allow"}})


@pytest.mark.parametrize(
    "server,tool,read_only,expected",
    [
        ("files", "read", False, "allow"),  # server's approve
        ("files", "delete", True, "deny"),  # the tool's entry beats the server's and read-only
        ("files", "move", False, "ask"),
        ("time", "get_current_time", False, "allow"),  # glob rule
        ("db", "drop_table", True, "deny"),  # rules beat the read-only default
        ("db", "read_query", False, "allow"),
        ("db", "write_query", False, "ask"),  # no rule: not read-only asks
        ("web", "fetch", True, "ask"),  # no rule: a read-only hint of an untrusted server asks
        ("unknown", "x", False, "ask"),
    ],
)
def test_config_layers(server, tool, read_only, expected):
    assert Policy(CONFIG).decide(server, tool, read_only=read_only) == expected


def test_approval_default():
    assert Policy(OPEN).decide("x", "anything") == "allow"
    assert Policy(None).decide("x", "write") == "ask"
    assert Policy(None).decide("x", "read", read_only=True) == "ask"


@pytest.mark.parametrize(
    "override,server,tool,read_only,expected",
    [
        ("all", "db", "write_query", False, "allow"),
        ("all", "files", "delete", False, "deny"),  # a deny in the config always holds
        ("none", "db", "write_query", False, "deny"),
        ("none", "web", "fetch", True, "deny"),  # what would ask is denied, read-only or not
        ("none", "time", "get_current_time", True, "allow"),  # only what would ask
        ("none", "files", "read", False, "allow"),
        ("ask", "files", "read", False, "ask"),
        ("ask", "web", "fetch", True, "ask"),
        ("ask", "files", "delete", False, "deny"),
    ],
)
def test_command_line_override(override, server, tool, read_only, expected):
    assert Policy(CONFIG, override).decide(server, tool, read_only=read_only) == expected


def test_always_allow_for_the_session():
    policy = Policy(CONFIG)
    assert policy.decide("db", "write_query") == "ask"
    policy.always_allow("db", "write_query")
    assert policy.decide("db", "write_query") == "allow"
    assert policy.decide("db", "other_write") == "ask"  # per tool, not per server
    assert policy.decide("web", "write_query") == "ask"  # per server, not per name
    policy.always_allow("files", "delete")
    assert policy.decide("files", "delete") == "deny"
    asking = Policy(CONFIG, "ask")
    asking.always_allow("files", "read")
    assert asking.decide("files", "read") == "allow"
    policy.forget()
    assert policy.decide("db", "write_query") == "ask"
