"""``bslm tools``: every server's tools, with their descriptions, for a user to audit them.

    bslm tools [--mcp-config FILE] [--accept SERVER ...]

Each tool shows its server, its name, whether the user approved it (its pin: ``approved``,
``changed``, ``new``, or ``not approved`` for a server never used), what the approval policy
decides for it, its whole description and what in it (or in its parameters) looks like
instructions to the model. Tools left out by the limits are listed with the reason. ``--accept``
pins the named servers' tool lists as they are now (``all`` for every server), which is how a
change is accepted without a terminal. ``/tools`` in ``bslm chat`` shows the same.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bslm.runtime.screening import flags, printable


@dataclass(frozen=True)
class ToolEntry:
    server: str
    tool: str
    """The server's own name."""
    name: str
    """The name the model sees ("" when the tool is left out)."""
    description: str
    state: str
    """approved, changed, new, not approved, or left out."""
    decision: str
    """What the approval policy decides for a call of it now (allow, ask, deny)."""
    detail: str = ""
    flags: tuple[str, ...] = ()


def inventory(hub) -> list[ToolEntry]:
    """The tools of every ready server of ``hub`` (an MCPHub), and those left out."""
    exposed = {hub.lookup(t.name): t.name for t in hub.tools()}
    out = []
    for st in hub.status():
        specs, refused = hub.server_tools(st.name)
        config = hub.config.servers[st.name]
        pinned = hub.pins.pinned(config)
        changes = hub.pins.check(config, specs)
        names = list(exposed.values())
        for spec in specs:
            change = changes.get(spec.name)
            state = "not approved" if not pinned else change.kind if change else "approved"
            verdict, _ = hub.guard.verdict(config, spec, spec.name, False)
            out.append(
                ToolEntry(
                    st.name,
                    spec.name,
                    exposed.get((st.name, spec.name), spec.name),
                    spec.description or "",
                    state,
                    verdict.decision,
                    "; ".join(change.details) if change else "",
                    tuple(flags(spec, names)),
                )
            )
        for name, why in refused:
            out.append(ToolEntry(st.name, name, "", "", "left out", "deny", why))
    return out


def format_inventory(hub) -> str:
    """The inventory as text (server by server), safe to print on a terminal."""
    lines = []
    entries = inventory(hub)
    for st in hub.status():
        mine = [e for e in entries if e.server == st.name]
        head = f"{st.name} ({st.state}"
        head += f", {len([e for e in mine if e.name])} tools)" if st.state == "ready" else ")"
        lines.append(printable(head + (f": {st.error}" if st.error else "")))
        for e in mine:
            shown = e.name if e.name == e.tool or not e.name else f"{e.name} ({e.tool})"
            state = e.state + (f": {e.detail}" if e.detail else "")
            lines.append(printable(f"  {shown or e.tool[:80]}  [{state}; {e.decision}]"))
            for ln in e.description.strip().splitlines():
                lines.append("      " + printable(ln))
            lines += ["    ! " + printable(f) for f in e.flags]
        lines.append("")
    return "\n".join(lines).rstrip() or "no MCP servers"


async def tools_main(mcp_config: str | None, accept: list[str]) -> str:
    """Start the configured servers, accept (pin) the named ones, and describe every tool.
    Raises MCPConfigError for a server name the config does not have."""
    from bslm.runtime.approval import Policy
    from bslm.runtime.mcp_client import MCPHub
    from bslm.runtime.mcp_config import MCPConfigError, resolve_config
    from bslm.runtime.pinning import Pins

    config = resolve_config(mcp_config)
    names = list(config.servers) if accept == ["all"] else accept
    unknown = [n for n in names if n not in config.servers]
    if unknown:
        raise MCPConfigError(
            f"--accept: no server named {unknown[0]!r} (the servers: {', '.join(config.servers)})"
        )
    notes = []
    async with MCPHub(config, policy=Policy(config), pins=Pins.default()) as hub:
        ready = {st.name for st in hub.status() if st.state == "ready"}
        for name in names:
            if name not in ready:
                notes.append(f"server {name} is not running: nothing accepted")
                continue
            n = hub.accept(name)
            notes.append(f"accepted {n} tools of {name} as they are now")
        text = format_inventory(hub)
    return "\n".join([text, *notes])


def run(mcp_config: str | None, accept: list[str]) -> int:
    print(asyncio.run(tools_main(mcp_config, accept)))
    return 0
