"""Pinned tool lists: what the user approved, so that a server cannot change it behind their back.

    pins = Pins.default()                          # $BSLM_DATA/pins.json; Pins() keeps them in memory
    pins.check(server_config, specs)               # -> {tool: Change} for what differs from the pin
    pins.pin(server_config, specs)                 # record the whole list (first approval or use)
    pins.accept(server_config, spec)               # the user accepted one new or changed tool

The first time the user approves or uses a server, its whole tool list (each tool's name,
description, input schema, output schema and annotations) is recorded as one digest per tool,
with a copy to say what changed. A tool whose digest later differs, or that a pinned server
adds, is *unapproved* again until the user accepts it (:class:`~bslm.runtime.approval.Policy`
asks about it whatever the config allows, and a run without a terminal does not run it).
A pin belongs to the server's name and to how it is started (command and arguments, or URL):
a server started another way is a new server. Writes are atomic (a temporary file, renamed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bslm.models.tools import ToolSpec
from bslm.runtime.mcp_config import ServerConfig, data_dir

PINS_FILE = "pins.json"
FORMAT = 1


def tool_record(spec: ToolSpec) -> dict:
    """What a pin holds of a tool: everything that tells the model or the user what it does."""
    extra = spec.extra or {}
    return {
        "name": spec.name,
        "title": extra.get("title"),
        "description": spec.description,
        "parameters": spec.parameters,
        "output_schema": extra.get("output_schema"),
        "annotations": extra.get("annotations"),
    }


def tool_digest(spec: ToolSpec) -> str:
    text = json.dumps(tool_record(spec), sort_keys=True, ensure_ascii=False, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def server_source(config: ServerConfig) -> str:
    """How a server is reached: its command line, or its URL."""
    if config.url is not None:
        return config.url
    return " ".join([config.command or "", *config.args]).strip()


@dataclass(frozen=True)
class Change:
    """How a tool differs from its pin: ``new`` (not in the pinned list) or ``changed``."""

    tool: str
    kind: str
    details: tuple[str, ...] = ()

    def describe(self, server: str) -> str:
        if self.kind == "new":
            return f"server {server} added the tool {self.tool}; it asks until you accept it"
        what = "; ".join(self.details) or "changed"
        return f"server {server}: the tool {self.tool} changed since you approved it ({what})"


def differences(old: dict, new: dict) -> tuple[str, ...]:
    """What changed between two :func:`tool_record`, in words."""
    out = []
    for key, label in (
        ("title", "title"),
        ("description", "description"),
        ("output_schema", "output schema"),
        ("annotations", "annotations"),
    ):
        if old.get(key) != new.get(key):
            out.append(f"{label} changed")
    a, b = old.get("parameters") or {}, new.get("parameters") or {}
    if a != b:
        pa, pb = a.get("properties") or {}, b.get("properties") or {}
        added = [k for k in pb if k not in pa]
        removed = [k for k in pa if k not in pb]
        altered = [k for k in pb if k in pa and pa[k] != pb[k]]
        parts = [f"parameter {k} added" for k in added]
        parts += [f"parameter {k} removed" for k in removed]
        parts += [f"parameter {k} changed" for k in altered]
        out += parts or ["input schema changed"]
    return tuple(out)


class Pins:
    """Pinned tool lists, in ``path`` (JSON) or, with ``path=None``, in memory only."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else None
        self._servers: dict[str, dict] = {}
        if self.path is not None and self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._servers = dict(data.get("servers") or {})
            except (OSError, ValueError, AttributeError):
                # An unreadable file pins nothing: every tool is asked about again.
                self._servers = {}

    @classmethod
    def default(cls) -> Pins:
        """The user's pins: ``pins.json`` in the user data directory."""
        return cls(data_dir() / PINS_FILE)

    def _entry(self, config: ServerConfig) -> dict | None:
        entry = self._servers.get(config.name)
        return entry if entry and entry.get("source") == server_source(config) else None

    def pinned(self, config: ServerConfig) -> bool:
        """Whether the user ever approved or used this server (started this way)."""
        return self._entry(config) is not None

    def check(self, config: ServerConfig, specs: list[ToolSpec]) -> dict[str, Change]:
        """The tools of ``specs`` that are new or changed since the pin (none without a pin)."""
        entry = self._entry(config)
        if entry is None:
            return {}
        tools = entry.get("tools") or {}
        out = {}
        for spec in specs:
            old = tools.get(spec.name)
            if old is None:
                out[spec.name] = Change(spec.name, "new")
            elif old.get("digest") != tool_digest(spec):
                out[spec.name] = Change(
                    spec.name, "changed", differences(old.get("record") or {}, tool_record(spec))
                )
        return out

    def removed(self, config: ServerConfig, specs: list[ToolSpec]) -> list[str]:
        """Pinned tools the server no longer lists."""
        entry = self._entry(config)
        names = {s.name for s in specs}
        return [t for t in (entry or {}).get("tools") or {} if t not in names]

    def pin(self, config: ServerConfig, specs: list[ToolSpec]) -> None:
        """Record the server's whole tool list as approved (replacing an older pin)."""
        self._servers[config.name] = {
            "source": server_source(config),
            "pinned": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "tools": {s.name: self._tool(s) for s in specs},
        }
        self.save()

    def accept(self, config: ServerConfig, spec: ToolSpec) -> None:
        """The user accepted this tool as it is now."""
        entry = self._entry(config)
        if entry is None:
            self.pin(config, [spec])
            return
        entry.setdefault("tools", {})[spec.name] = self._tool(spec)
        self.save()

    @staticmethod
    def _tool(spec: ToolSpec) -> dict:
        return {"digest": tool_digest(spec), "record": tool_record(spec)}

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "servers": self._servers}
        fd, tmp = tempfile.mkstemp(prefix=".pins.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1, default=str)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
