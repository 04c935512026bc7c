"""Start ``bslm chat`` from the command line: check what the user asked for, then run the app.

Both functions raise BslmError with one line for bad input (an unknown conversation, a bad
MCP config, a model path that does not exist); the CLI prints it.
"""

from __future__ import annotations

import time
from pathlib import Path

from bslm.models.errors import BslmError
from bslm.tui.app import ChatApp, ChatOptions
from bslm.tui.store import Store, StoreError


def run(options: ChatOptions) -> int:
    """Run the app in this terminal (``options.resume`` -1: the latest conversation)."""
    from bslm.runtime.mcp_config import resolve_config

    if options.model is not None and not Path(options.model).exists():
        raise BslmError(f"--model: {options.model} does not exist")
    config = resolve_config(options.mcp_config)
    store = Store()
    try:
        if options.resume == -1:
            latest = store.latest()
            if latest is None:
                raise StoreError(f"no conversation to resume in {store.path}")
            options.resume = latest
        elif options.resume is not None:
            store.load(options.resume)
    except BslmError:
        store.close()
        raise
    ChatApp(options, store=store, config=config).run()
    return 0


def list_conversations() -> int:
    """Print the saved conversations, the latest first."""
    store = Store()
    try:
        convs = store.conversations()
        if not convs:
            print(f"no conversations yet ({store.path})")
        for c in convs:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated))
            print(f"{c.id:>5}  {when}  {c.title}")
    finally:
        store.close()
    return 0
