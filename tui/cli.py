"""``bslm chat``: the terminal agent's command (the agent's flags: ``runtime/cli.py``).

bslm chat [--model PATH] [--backend llama|onnx|torch] [--mcp-config FILE]
          [--mask hard|soft|off] [--system TEXT] [--approve ask|all|none] [--resume [ID]]
          [--list]
"""

from __future__ import annotations

from bslm.models.errors import BslmError
from bslm.runtime.cli import add_agent_options, agent_options


def _chat(args) -> int:
    from bslm.tui.launch import ChatOptions, list_conversations, run

    if args.list:
        return list_conversations()
    resume = None
    if args.resume is not None:
        if args.resume != "latest" and not args.resume.isdigit():
            raise BslmError(f"--resume takes a conversation number, not {args.resume!r}")
        resume = -1 if args.resume == "latest" else int(args.resume)
    return run(ChatOptions(resume=resume, **agent_options(args)))


def add_parsers(sub) -> None:
    """The terminal app's subcommand, on the ``bslm`` parser's subparsers."""
    p = sub.add_parser("chat", help="the terminal agent: chat with the model and the MCP tools")
    add_agent_options(p)
    p.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="ID",
        help="reopen the latest conversation, or conversation ID",
    )
    p.add_argument("--list", action="store_true", help="list the saved conversations and exit")
    p.set_defaults(run=_chat, lean=True)
