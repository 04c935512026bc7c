"""A server's state as the hub reports it: what a UI needs to show the servers, importable
without the MCP SDK (``bslm chat`` shows its servers starting before it has imported it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bslm.runtime.mcp_config import MCPConfig

State = Literal["starting", "ready", "failed", "crashed", "stopped"]


@dataclass(frozen=True)
class ServerStatus:
    """One server, as a side panel shows it."""

    name: str
    state: State
    error: str | None = None
    tool_count: int = 0
    transport: str = "stdio"
    restarts: int = 0


def starting(config: MCPConfig) -> list[ServerStatus]:
    """Every server of ``config`` about to start (what the hub reports once it starts them)."""
    return [
        ServerStatus(s.name, "starting", transport=s.transport) for s in config.servers.values()
    ]
