"""The audit log: every tool call, appended to a JSONL file before it runs.

    log = AuditLog.default()                     # $BSLM_DATA/audit.jsonl
    entry = log.call(server, tool, arguments, decision="allow", decided_by="user", reason=...)
    log.result(entry, size=1234, is_error=False)

Each call writes one line before anything reaches the server (also for calls that are denied
and never run)::

    {"event": "call", "id": "…", "time": "2026-…", "server": "db", "tool": "drop_table",
     "name": "drop_table", "arguments": {…}, "decision": "allow", "decided_by": "user",
     "reason": "not approved"}

and, once it finished, one more with the same ``id``::

    {"event": "result", "id": "…", "time": "…", "size": 1234, "is_error": false}

``decided_by`` is who made the approval decision: ``config``, ``server-hint`` (a trusted
server's read-only annotation), ``default``, ``command-line`` (``--approve``), ``session`` (an
earlier "always"), ``user`` (answered the question) or ``runtime`` (an unknown tool, invalid
arguments, no one to ask). Lines are flushed and synced as written; a log that cannot be
written is reported once (``on_error``) and the calls go on.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bslm.runtime.mcp_config import data_dir

AUDIT_FILE = "audit.jsonl"
log = logging.getLogger(__name__)


def _now() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


class AuditLog:
    """Appends call records to ``path`` (JSONL)."""

    def __init__(self, path: str | os.PathLike, on_error: Callable[[str], None] | None = None):
        self.path = Path(path)
        self.on_error = on_error
        self._lock = threading.Lock()
        self._failed = False

    @classmethod
    def default(cls, on_error: Callable[[str], None] | None = None) -> AuditLog:
        """``audit.jsonl`` in the user data directory."""
        return cls(data_dir() / AUDIT_FILE, on_error)

    def _write(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(line)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                if not self._failed and self.on_error is not None:
                    self.on_error(f"cannot write the audit log {self.path}: {e.strerror or e}")
                self._failed = True
                log.debug("audit log write failed", exc_info=True)

    def call(
        self,
        server: str | None,
        tool: str | None,
        name: str,
        arguments: Any,
        *,
        decision: str,
        decided_by: str,
        reason: str = "",
    ) -> str:
        """Record a call before it runs; returns its id, for :meth:`result`."""
        entry = uuid.uuid4().hex[:16]
        self._write(
            {
                "event": "call",
                "id": entry,
                "time": _now(),
                "server": server,
                "tool": tool,
                "name": name,
                "arguments": arguments,
                "decision": decision,
                "decided_by": decided_by,
                "reason": reason,
            }
        )
        return entry

    def result(self, entry: str, *, size: int, is_error: bool) -> None:
        """Record how a call ended: the result's size in characters and its error flag."""
        self._write(
            {"event": "result", "id": entry, "time": _now(), "size": size, "is_error": is_error}
        )


def read_log(path: str | os.PathLike) -> list[dict]:
    """The records of an audit log, oldest first (a torn last line is skipped)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
