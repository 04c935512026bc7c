"""Slash commands of ``bslm chat``: what they are called, what they take, their help line.

:func:`parse` turns a line that starts with ``/`` into a :class:`Command`, or raises
:class:`CommandError` with a sentence for the user; the app carries the commands out.
"""

from __future__ import annotations

from dataclasses import dataclass

from bslm.models.choice import MASKS
from bslm.models.errors import BslmError

# name -> (argument, help)
COMMANDS: dict[str, tuple[str, str]] = {
    "tools": ("", "list every MCP server's tools, their descriptions and approval"),
    "model": ("", "show the model: name, backend, quantization, context, speed"),
    "system": ("[TEXT]", 'show the system prompt, or set it ("/system off" removes it)'),
    "mask": ("hard|soft|off", "how tool calls are constrained while decoding"),
    "clear": ("", "start a new conversation (the current one stays saved)"),
    "save": ("[FILE]", "export the conversation (.json, else Markdown)"),
    "help": ("", "keys and commands"),
    "quit": ("", "quit (as a second Ctrl-C does)"),
}

KEYS = (
    ("Enter", "send"),
    ("Shift/Alt+Enter, Ctrl+J", "new line"),
    ("Up / Down", "previous / next input (on the first / last line)"),
    ("Ctrl+C", "stop generating; twice: quit"),
    ("Ctrl+B", "show or hide the side panel"),
)


class CommandError(BslmError, ValueError):
    """A slash command that is unknown or misused; the message says what to type."""


@dataclass(frozen=True)
class Command:
    name: str
    arg: str = ""


def is_command(text: str) -> bool:
    """A line meant as a command: ``/word``, but not a path such as ``/etc/hosts``."""
    head = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    return head.startswith("/") and "/" not in head[1:] and len(head) > 1


def parse(text: str) -> Command:
    """Raises CommandError for an unknown command or a bad argument."""
    head, _, arg = text.strip().partition(" ")
    name, arg = head[1:].lower(), arg.strip()
    if name not in COMMANDS:
        raise CommandError(f"unknown command /{name}; /help lists the commands")
    if name == "mask":
        if arg not in MASKS:
            raise CommandError("/mask takes hard, soft or off")
        return Command(name, arg)
    if name in ("tools", "model", "clear", "help", "quit") and arg:
        raise CommandError(f"/{name} takes no argument")
    return Command(name, arg)


def help_text() -> str:
    lines = ["Commands:"]
    for name, (arg, text) in COMMANDS.items():
        lines.append(f"  /{name}{' ' + arg if arg else ''}  {text}")
    lines.append("Keys:")
    lines += [f"  {k}  {v}" for k, v in KEYS]
    return "\n".join(lines)
