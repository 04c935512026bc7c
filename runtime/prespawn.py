"""Starting the configured stdio MCP servers before the MCP SDK is imported.

A server built on the SDK spends about a second importing it before it answers, and the client
spends as long importing its own half. Spawned by the SDK, the server starts only after the
client's import; spawned here, at the start of the command, both imports run side by side.
The processes are then adopted by the hub (``MCPHub(..., spawned=...)``), which talks to them
as the SDK's stdio transport would (``connection.adopted_stdio``); a server that later restarts
is spawned by the SDK as usual.

This module imports nothing of the SDK. The process is started as the SDK starts it: the same
inherited environment variables (``mcp.client.stdio.DEFAULT_INHERITED_ENV_VARS``, checked by a
test) with the server's own on top, its own session (so that its whole process group can be
stopped), stderr to a file that outlives it (so that a crash can be explained). A server that
cannot be spawned here (a missing command, a missing directory) is left to the SDK, which
reports it. ``BSLM_SPAWN_AHEAD=0`` in the environment leaves every server to the SDK.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import IO

from bslm.runtime.mcp_config import MCPConfig

INHERITED_ENV = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")


@dataclass
class Spawned:
    """A server process started ahead of its connection, and the file its stderr goes to."""

    process: subprocess.Popen
    errlog: IO[str]


def server_environment(env: dict[str, str] | None) -> dict[str, str]:
    """The environment the SDK gives a stdio server: a few safe variables of ours, then its own."""
    inherited = {
        k: v
        for k in INHERITED_ENV
        if (v := os.environ.get(k)) is not None and not v.startswith("()")
    }
    return inherited | (env or {})


def spawn_servers(config: MCPConfig) -> dict[str, Spawned]:
    """Start every stdio server of ``config`` now; the ones that could be started, by name."""
    if sys.platform == "win32":  # the SDK starts Windows servers in a job object
        return {}
    if os.environ.get("BSLM_SPAWN_AHEAD", "1") == "0":
        return {}
    spawned = {}
    for name, c in config.servers.items():
        if c.transport != "stdio" or not c.command:
            continue
        errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        try:
            process = subprocess.Popen(
                [c.command, *c.args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errlog,
                env=server_environment(dict(c.env)),
                cwd=c.cwd,
                start_new_session=True,
            )
        except OSError:
            errlog.close()
            continue
        spawned[name] = Spawned(process, errlog)
    return spawned


def discard(spawned: dict[str, Spawned]) -> None:
    """Stop the processes no hub adopted (the command ended before its hub started; a hub
    takes the ones it adopts out of ``spawned``)."""
    for s in spawned.values():
        if s.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(s.process.pid, signal.SIGKILL)  # its group: it leads its session
            s.process.wait()
        for f in (s.process.stdin, s.process.stdout):
            if f is not None and not f.closed:
                f.close()
        s.errlog.close()
    spawned.clear()
