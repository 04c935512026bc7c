"""The MCP side of the agent: start the configured servers, list their tools, run calls.

- ``connection.py``: one server's life cycle (start, list, call, restart, its status);
- ``hub.py``: ``MCPHub``, every server behind one tool list, with approval and validation;
- ``results.py``: error results, argument validation, truncation.

    config = resolve_config(args.mcp_config)              # bslm.runtime.mcp_config
    policy = Policy(config, override=args.approve)        # bslm.runtime.approval
    async with MCPHub(config, policy=policy, approve=ui.ask) as hub:
        specs = hub.tools()                               # list[ToolSpec], names as the model sees them
        specs = hub.select_tools(messages, k=10)          # only the relevant ones, when there are many
        results = await hub.call_many(calls)              # list[ToolCall] -> list[ToolResult]
        hub.status()                                      # list[ServerStatus], for a side panel
        await hub.restart("time")

:class:`MCPHub` starts every server at once (stdio subprocesses or streamable HTTP), each
bounded by a startup timeout; one that fails is reported in :meth:`MCPHub.status` and the
others go on. Tool names are exposed as the servers give them, except that names two servers
share become ``server__tool`` (characters outside ``[A-Za-z0-9_.-]`` become ``_``).

A call never raises: every outcome is a :class:`~bslm.models.tools.ToolResult`, to show the
model. Before a call reaches its server the arguments are checked against the tool's JSON
Schema and the approval policy is applied (asking the UI's ``approve`` callback when it says
``ask``); a call that fails either never reaches the server. Results longer than
``max_result_chars`` are cut with a note saying how much. Failures come back as error results
(``is_error``) whose :func:`error_kind` is one of ``unknown_tool``, ``invalid_arguments``,
``denied``, ``declined``, ``unavailable``, ``timeout``, ``crashed``, ``protocol``.

Servers are not trusted (:mod:`bslm.runtime.guard`): their tool lists are checked against
:mod:`bslm.runtime.limits` (a tool over a limit is left out with a notice), pinned at their first
approved use (:mod:`bslm.runtime.pinning`; a tool that changes asks again, also after
``notifications/tools/list_changed``, which makes the hub list the server's tools again), and
every call is written to the audit log (:mod:`bslm.runtime.audit`) before it runs. A server
that sends more than the output limits allow is stopped (``failed``). ``on_notice`` is called
with a sentence for each thing the user should know (also kept in :attr:`MCPHub.notices`).

A server that dies (during a call or while idle) is marked ``crashed`` with its last words on
stderr; the next call to it restarts it once (``auto_restart``); :meth:`MCPHub.restart`
restarts any server by hand. ``on_status`` is called at every change of a server's status.
The hub needs an asyncio event loop; its methods may be awaited from any task of that loop.
"""

import importlib

from bslm.runtime.mcp_client.status import ServerStatus, State

# the hub and its connections import the MCP SDK (a second or two): only when first used
_LAZY = {
    "HubSettings": "connection",
    "MCPHub": "hub",
    "error_kind": "results",
    "error_result": "results",
    "truncate_result": "results",
    "validation_error": "results",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "HubSettings",
    "MCPHub",
    "ServerStatus",
    "State",
    "error_kind",
    "error_result",
    "truncate_result",
    "validation_error",
]
