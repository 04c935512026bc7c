"""Which MCP servers the runtime talks to: the config file, where it is found, and what it says.

The file is the ``mcpServers`` JSON that most MCP clients share, plus bslm's approval keys::

    {
      "mcpServers": {
        "time":   {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]},
        "files":  {"command": "python", "args": ["-m", "my_server"], "env": {"ROOT": "/srv"},
                   "cwd": "/srv", "approve": "allow", "tools": {"delete_file": "deny"}},
        "remote": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer ..."}},
        "old":    {"command": "old-server", "disabled": true}
      },
      "approval": {"default": "ask", "rules": {"time/*": "allow", "*/delete_*": "deny"}}
    }

A server has either ``command`` (+ ``args``, ``env``, ``cwd``: started over stdio) or ``url``
(+ ``headers``: streamable HTTP; ``"type": "sse"`` for the older SSE transport). A stdio
server sees only ``HOME``, ``PATH``, ``SHELL``, ``TERM``, ``USER``, ``LOGNAME`` of bslm's
environment, plus its ``env``. Optional
per server: ``approve`` (``allow``/``ask``/``deny`` for all its tools), ``tools`` (the same per
tool, by the server's own tool name), ``timeout`` (seconds per call), ``startupTimeout``
(seconds to start and list tools), ``disabled``, ``trusted`` (``true``: believe its
annotations, so its read-only tools run without asking). Keys other clients use
(``autoApprove``, ``description``...) are ignored. ``approval`` (``default``, ``rules``,
``readOnly``, ``namedInResults``) is described in :mod:`bslm.runtime.approval`.

Where the file is found (:func:`resolve_config_path`): ``--mcp-config FILE``, else the
``BSLM_MCP_CONFIG`` environment variable, else ``~/.config/bslm/mcp.json`` (the platform's
user config directory); with none of them, :func:`demo_config` runs bslm's own demo server.
:func:`resolve_config` does all of it. Bad files raise :class:`MCPConfigError`, whose message
is one line naming the file and what to fix. :func:`data_dir` is where bslm keeps what it
writes for the user (pinned tool lists, the audit log, conversations).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_config_dir, user_data_dir

from bslm.models.errors import BslmError

ENV_VAR = "BSLM_MCP_CONFIG"
DATA_ENV_VAR = "BSLM_DATA"
DECISIONS = ("allow", "ask", "deny")
Decision = Literal["allow", "ask", "deny"]
_TRANSPORTS = ("stdio", "http", "streamable-http", "streamable_http", "sse")


class MCPConfigError(BslmError, ValueError):
    """The MCP config is missing, unreadable or malformed; the message is one line."""


@dataclass(frozen=True)
class ServerConfig:
    """One server: how to start or reach it, and its approval settings."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    transport: Literal["stdio", "http", "sse"] = "stdio"
    approve: Decision | None = None
    tools: Mapping[str, Decision] = field(default_factory=dict)
    call_timeout: float | None = None
    startup_timeout: float | None = None
    trusted: bool = False
    """The user trusts this server's annotations (``readOnlyHint``)."""


@dataclass(frozen=True)
class ApprovalConfig:
    """The top-level ``approval`` section: a default and ``server/tool`` glob rules, in order;
    what a read-only hint from an untrusted server decides; what a call of a tool named only in
    tool results (never by the user) needs."""

    default: Decision | None = None
    rules: tuple[tuple[str, Decision], ...] = ()
    read_only: Decision = "ask"
    named_in_results: Decision = "allow"


@dataclass(frozen=True)
class MCPConfig:
    servers: Mapping[str, ServerConfig]
    approval: ApprovalConfig = field(default_factory=ApprovalConfig)
    source: Path | None = None
    """The file it came from (``None``: built in code, e.g. the demo)."""


def default_config_path() -> Path:
    """``~/.config/bslm/mcp.json`` on Linux; the platform's user config directory elsewhere."""
    return Path(user_config_dir("bslm", appauthor=False)) / "mcp.json"


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$BSLM_DATA``, else the platform's user data directory (``~/.local/share/bslm``)."""
    env = os.environ if env is None else env
    value = env.get(DATA_ENV_VAR)
    return Path(value).expanduser() if value else Path(user_data_dir("bslm", appauthor=False))


def resolve_config_path(
    cli_path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None
) -> Path | None:
    """The config file to use: ``cli_path``, else ``$BSLM_MCP_CONFIG``, else the user config
    file if it exists, else ``None`` (use the demo server).

    Raises MCPConfigError when an explicitly named file (argument or variable) does not exist.
    """
    env = os.environ if env is None else env
    for value, origin in ((cli_path, "--mcp-config"), (env.get(ENV_VAR), ENV_VAR)):
        if value:
            path = Path(value).expanduser()
            if not path.is_file():
                raise MCPConfigError(f"{origin}: {path} does not exist or is not a file")
            return path
    path = default_config_path()
    return path if path.is_file() else None


def resolve_config(
    cli_path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None
) -> MCPConfig:
    """Find and load the config (see :func:`resolve_config_path`); the demo without one.

    Raises MCPConfigError for a named file that is missing or for a malformed file.
    """
    path = resolve_config_path(cli_path, env)
    return demo_config() if path is None else load_config(path)


def demo_config(env: Mapping[str, str] | None = None) -> MCPConfig:
    """bslm's own demo server (:mod:`bslm.runtime.demo_server`), run by this Python, with
    ``BSLM_DEMO_ROOT`` and ``BSLM_DEMO_DATA`` passed on when set (a stdio server inherits only
    a few safe variables). It is bslm's own code, so its annotations are trusted."""
    env = os.environ if env is None else env
    passed = {k: env[k] for k in ("BSLM_DEMO_ROOT", "BSLM_DEMO_DATA") if env.get(k)}
    demo = ServerConfig(
        "demo",
        command=sys.executable,
        args=("-m", "bslm.runtime.demo_server"),
        env=passed,
        trusted=True,
    )
    return MCPConfig({"demo": demo})


def load_config(path: str | os.PathLike) -> MCPConfig:
    """Read and check a config file. Raises MCPConfigError with a one-line message."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise MCPConfigError(f"{path}: cannot read it ({e.strerror or e})") from e
    except json.JSONDecodeError as e:
        raise MCPConfigError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e
    return parse_config(data, source=path)


def parse_config(data: Any, source: Path | None = None) -> MCPConfig:
    """Check a config already parsed from JSON. Raises MCPConfigError with a one-line message."""
    where = f"{source}: " if source else ""

    def fail(msg: str) -> MCPConfigError:
        return MCPConfigError(where + msg)

    if not isinstance(data, dict):
        raise fail('expected a JSON object with "mcpServers"')
    servers = data.get("mcpServers")
    if not isinstance(servers, dict):
        raise fail('expected "mcpServers": {"name": {"command": ...} or {"url": ...}}')
    parsed = {}
    for name, entry in servers.items():
        server = _parse_server(name, entry, fail)
        if server is not None:
            parsed[name] = server
    return MCPConfig(parsed, _parse_approval(data.get("approval"), fail), source)


def _parse_server(name: str, entry: Any, fail) -> ServerConfig | None:
    at = f"mcpServers.{name}"
    if not name or any(c in name for c in "/ \t\n"):
        raise fail(f"{at}: server names need letters, digits, '-', '_' or '.', no '/' or spaces")
    if not isinstance(entry, dict):
        raise fail(f"{at}: expected an object with 'command' or 'url'")
    if entry.get("disabled") is True:
        return None
    command, url = entry.get("command"), entry.get("url")
    if (command is None) == (url is None):
        raise fail(f"{at}: give exactly one of 'command' (stdio) or 'url' (HTTP)")
    transport = entry.get("type", entry.get("transport", "stdio" if command else "http"))
    if transport not in _TRANSPORTS:
        raise fail(f"{at}.type: {transport!r} is not one of stdio, http, sse")
    transport = "http" if transport.startswith("streamable") else transport
    if (transport == "stdio") != (command is not None):
        raise fail(f"{at}: type {transport!r} does not match {'command' if command else 'url'}")

    def strings(key: str, kind: type) -> Any:
        value = entry.get(key, kind())
        ok = isinstance(value, kind) and all(
            isinstance(v, str) for v in (value.values() if kind is dict else value)
        )
        if not ok:
            raise fail(
                f"{at}.{key}: expected {'an object' if kind is dict else 'a list'} of strings"
            )
        return value

    for key in ("command", "url", "cwd"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            raise fail(f"{at}.{key}: expected a string")
    approve = entry.get("approve")
    if approve is not None and approve not in DECISIONS:
        raise fail(f"{at}.approve: {approve!r} is not one of allow, ask, deny")
    tools = entry.get("tools", {})
    if not isinstance(tools, dict) or any(v not in DECISIONS for v in tools.values()):
        raise fail(f'{at}.tools: expected {{"tool_name": "allow" | "ask" | "deny"}}')
    timeouts = {}
    for key in ("timeout", "startupTimeout"):
        value = entry.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
        ):
            raise fail(f"{at}.{key}: expected a positive number of seconds")
        timeouts[key] = None if value is None else float(value)
    trusted = entry.get("trusted", False)
    if not isinstance(trusted, bool):
        raise fail(f"{at}.trusted: expected true or false")
    return ServerConfig(
        name,
        command=command,
        args=tuple(strings("args", list)),
        env=dict(strings("env", dict)),
        cwd=str(Path(entry["cwd"]).expanduser()) if entry.get("cwd") else None,
        url=url,
        headers=dict(strings("headers", dict)),
        transport=transport,
        approve=approve,
        tools=dict(tools),
        call_timeout=timeouts["timeout"],
        startup_timeout=timeouts["startupTimeout"],
        trusted=trusted,
    )


def _parse_approval(section: Any, fail) -> ApprovalConfig:
    if section is None:
        return ApprovalConfig()
    keys = {"default", "rules", "readOnly", "namedInResults"}
    if not isinstance(section, dict) or set(section) - keys:
        raise fail(
            'approval: expected {"default": ..., "rules": {"server/tool": ...}, '
            '"readOnly": ..., "namedInResults": ...}'
        )
    for key in ("default", "readOnly", "namedInResults"):
        value = section.get(key)
        if value is not None and value not in DECISIONS:
            raise fail(f"approval.{key}: {value!r} is not one of allow, ask, deny")
    default = section.get("default")
    rules = section.get("rules", {})
    if not isinstance(rules, dict):
        raise fail('approval.rules: expected {"server/tool": "allow" | "ask" | "deny"}')
    for pattern, decision in rules.items():
        if decision not in DECISIONS:
            raise fail(f"approval.rules.{pattern}: {decision!r} is not one of allow, ask, deny")
        if "/" not in pattern:
            raise fail(f"approval.rules: {pattern!r} needs the form 'server/tool' (globs allowed)")
    return ApprovalConfig(
        default,
        tuple(rules.items()),
        read_only=section.get("readOnly") or "ask",
        named_in_results=section.get("namedInResults") or "allow",
    )
