"""Conversations on disk: one SQLite file in the user's data directory.

    store = Store()                                   # $BSLM_DATA/chats.sqlite3
    cid = store.create(model="default.q8_0.gguf", system=None, mask="hard")
    store.add(cid, {"role": "user", "content": "hi"})  # committed at once
    conv = store.load(store.latest())                 # Conversation(..., messages=[...])

Every message is committed as it is added, so a crash or a killed terminal loses nothing that
was already said. Messages are the agent's own dicts (OpenAI style); an assistant message that
keeps its ``parts`` (text, ``Thought``, ``ToolCall``, in order) is stored with tagged parts and
comes back with the same objects. ``BSLM_DATA`` overrides the directory (default: the
platform's user data directory for bslm, e.g. ``~/.local/share/bslm``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from platformdirs import user_data_dir

from bslm.models.errors import BslmError
from bslm.models.parser import Thought
from bslm.models.tools import ToolCall

ENV_VAR = "BSLM_DATA"
DB_NAME = "chats.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL DEFAULT '',
    model TEXT,
    system TEXT,
    mask TEXT NOT NULL DEFAULT 'hard',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    body TEXT NOT NULL,
    meta TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (conversation, seq)
);
"""


class StoreError(BslmError, ValueError):
    """A conversation that does not exist, or a store that cannot be opened; one line."""


def data_dir() -> Path:
    """``$BSLM_DATA``, else the platform's user data directory for bslm."""
    value = os.environ.get(ENV_VAR)
    return Path(value).expanduser() if value else Path(user_data_dir("bslm", appauthor=False))


@dataclass
class Conversation:
    id: int
    title: str
    model: str | None
    system: str | None
    mask: str
    created: float
    updated: float
    messages: list[dict] = field(default_factory=list)
    meta: list[dict | None] = field(default_factory=list)
    """Per message, what the UI showed beside it (a call's server and time), or None."""


def encode_message(msg: dict) -> str:
    """A message as JSON text (``parts`` objects tagged so that they come back as objects)."""
    if "parts" in msg:
        msg = {**msg, "parts": [_encode_part(p) for p in msg["parts"]]}
    return json.dumps(msg, ensure_ascii=False, default=str)


def decode_message(text: str) -> dict:
    msg = json.loads(text)
    if "parts" in msg:
        msg["parts"] = [_decode_part(p) for p in msg["parts"]]
    return msg


def _encode_part(part) -> dict:
    if isinstance(part, Thought):
        return {"type": "thought", "text": part.text}
    if isinstance(part, ToolCall):
        return {"type": "call", "name": part.name, "arguments": part.arguments, "id": part.id}
    return {"type": "text", "text": str(part)}


def _decode_part(part: dict):
    kind = part.get("type")
    if kind == "thought":
        return Thought(part["text"])
    if kind == "call":
        return ToolCall(part["name"], part.get("arguments") or {}, part.get("id"))
    return part.get("text", "")


def title_of(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Store:
    """The conversations database. Raises StoreError when the file cannot be opened."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else data_dir() / DB_NAME
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the conversation store {self.path}: {e}") from e

    def close(self) -> None:
        self.db.close()

    def create(
        self, *, model: str | None = None, system: str | None = None, mask: str = "hard"
    ) -> int:
        now = time.time()
        cur = self.db.execute(
            "INSERT INTO conversations (model, system, mask, created, updated) "
            "VALUES (?, ?, ?, ?, ?)",
            (model, system, mask, now, now),
        )
        return int(cur.lastrowid)

    def add(self, conversation: int, message: dict, meta: dict | None = None) -> None:
        """Append one message (committed before this returns)."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN")
            (seq,) = self.db.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation = ?",
                (conversation,),
            ).fetchone()
            self.db.execute(
                "INSERT INTO messages (conversation, seq, role, body, meta, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation,
                    seq,
                    message.get("role", ""),
                    encode_message(message),
                    None if meta is None else json.dumps(meta, ensure_ascii=False, default=str),
                    now,
                ),
            )
            title = ""
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                title = title_of(message["content"])
            self.db.execute(
                "UPDATE conversations SET updated = ?, "
                "title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
                (now, title, conversation),
            )

    def update(self, conversation: int, **fields) -> None:
        """Change ``system``, ``mask`` or ``model`` of a conversation."""
        allowed = {"system", "mask", "model"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"can update only {', '.join(sorted(allowed))}")
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(
            f"UPDATE conversations SET {sets}, updated = ? WHERE id = ?",
            (*fields.values(), time.time(), conversation),
        )

    def latest(self) -> int | None:
        """The conversation changed last that has at least one message."""
        row = self.db.execute(
            "SELECT c.id FROM conversations c WHERE EXISTS "
            "(SELECT 1 FROM messages m WHERE m.conversation = c.id) "
            "ORDER BY c.updated DESC, c.id DESC LIMIT 1"
        ).fetchone()
        return int(row[0]) if row else None

    def load(self, conversation: int) -> Conversation:
        """Raises StoreError when there is no such conversation."""
        row = self.db.execute(
            "SELECT id, title, model, system, mask, created, updated FROM conversations "
            "WHERE id = ?",
            (conversation,),
        ).fetchone()
        if row is None:
            raise StoreError(
                f"no conversation {conversation} in {self.path} (bslm chat --list shows them)"
            )
        rows = self.db.execute(
            "SELECT body, meta FROM messages WHERE conversation = ? ORDER BY seq", (conversation,)
        ).fetchall()
        return Conversation(
            *row,
            messages=[decode_message(body) for body, _ in rows],
            meta=[json.loads(meta) if meta else None for _, meta in rows],
        )

    def conversations(self, limit: int = 20) -> list[Conversation]:
        """The most recently changed conversations that hold messages (without them)."""
        rows = self.db.execute(
            "SELECT c.id, c.title, c.model, c.system, c.mask, c.created, c.updated "
            "FROM conversations c WHERE EXISTS "
            "(SELECT 1 FROM messages m WHERE m.conversation = c.id) "
            "ORDER BY c.updated DESC, c.id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [Conversation(*r) for r in rows]

    def count(self, conversation: int) -> int:
        (n,) = self.db.execute(
            "SELECT COUNT(*) FROM messages WHERE conversation = ?", (conversation,)
        ).fetchone()
        return int(n)


def to_markdown(conv: Conversation) -> str:
    """A readable export: the turns, reasoning as quotes, calls and results as code."""
    from bslm.models.chat import assistant_parts

    out = [f"# {conv.title or f'Conversation {conv.id}'}", ""]
    if conv.system:
        out += ["**System:** " + conv.system, ""]
    for msg in conv.messages:
        role = msg.get("role")
        if role == "user":
            out += ["## You", "", str(msg.get("content", "")), ""]
        elif role == "assistant":
            out += ["## Model", ""]
            for part in assistant_parts(msg):
                if isinstance(part, Thought):
                    out += ["> " + line for line in part.text.splitlines() or [""]] + [""]
                elif isinstance(part, ToolCall):
                    args = json.dumps(part.arguments, ensure_ascii=False)
                    out += [f"Call `{part.name}` `{args}`", ""]
                elif part:
                    out += [str(part), ""]
        elif role == "tool":
            content = msg.get("content")
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            label = "Error" if msg.get("is_error") else "Result"
            out += [f"{label} of `{msg.get('name', '?')}`:", "", "```", text, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def to_json(conv: Conversation) -> dict:
    return {
        "id": conv.id,
        "title": conv.title,
        "model": conv.model,
        "system": conv.system,
        "mask": conv.mask,
        "created": conv.created,
        "updated": conv.updated,
        "messages": [json.loads(encode_message(m)) for m in conv.messages],
    }


def export(conv: Conversation, path: Path) -> None:
    """Write ``conv`` to ``path``: JSON for a ``.json`` file, else Markdown. Raises OSError."""
    if path.suffix.lower() == ".json":
        text = json.dumps(to_json(conv), ensure_ascii=False, indent=2) + "\n"
    else:
        text = to_markdown(conv)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
