"""Start ``bslm chat`` from the command line: check what the user asked for, then run the app.

Both functions raise BslmError with one line for bad input (an unknown conversation, a bad
MCP config, a model path that does not exist); the CLI prints it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bslm.models.errors import BslmError
from bslm.runtime.options import AgentOptions
from bslm.tui.store import Store, StoreError


@dataclass(kw_only=True)
class ChatOptions(AgentOptions):
    resume: int | None = None  # a conversation to reopen (-1: the latest)


def start_opening(options: ChatOptions) -> Callable:
    """Open the model in a thread from now on, while the app is imported and starts (the
    model's loading, in llama.cpp and the tokenizers library, leaves the interpreter free for
    the interface's imports); the function returned waits for the backend and returns it, or
    raises what opening it raised."""
    from concurrent.futures import Future

    from bslm.runtime.backends import open_backend

    future: Future = Future()

    def opening() -> None:
        try:
            future.set_result(open_backend(options.model, options.backend, options.n_ctx))
        except BaseException as e:  # noqa: BLE001 (raised again in the app's worker)
            future.set_exception(e)

    threading.Thread(target=opening, name="bslm-open-model", daemon=True).start()
    return future.result


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
    from bslm.runtime.prespawn import discard

    opened = start_opening(options)
    from bslm.tui.app import ChatApp

    app = ChatApp(options, store=store, config=config, open_model=opened, spawn_ahead=True)
    try:
        app.run()
    finally:
        discard(app.spawned)  # the servers no hub adopted, even when the app itself failed
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
