"""Prompt heads on disk: llama.cpp's state after a prompt head, saved once and loaded by every
later process, so that ``bslm run`` does not evaluate the system prompt and the tool schemas
again each time.

A head is the part of the prompt that recurs from one request to the next: the system prompt
and the tools' schemas. Its state (the KV cache after it) is a file named by its length and a
digest of what decides its content: the GGUF (path, size, modification time), the context
settings that shape the cache, and the head's token ids. Loading one is a read of a few tens of
MB instead of seconds of prefill. The folder keeps the most recently used files, at most
``max_files`` and ``max_bytes``; a file that fails to load is deleted.

    store = PromptStore(cache_dir() / "prompts", identity)
    n = store.longest(tokens)      # the longest stored head that ``tokens`` starts with
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import numpy as np

SUFFIX = ".state"
MIN_TOKENS = 64  # shorter heads cost less to evaluate than to look up and load


def default_dir() -> Path:
    from bslm.models.files import cache_dir

    return cache_dir() / "prompts"


def identity(gguf: Path, **settings) -> str:
    """What a stored state depends on besides its tokens: the file and the context settings."""
    st = gguf.stat()
    parts = [str(gguf.resolve()), str(st.st_size), str(st.st_mtime_ns)]
    parts += [f"{k}={settings[k]}" for k in sorted(settings)]
    return "\n".join(parts)


class PromptStore:
    def __init__(self, folder: Path, identity: str, max_files: int = 16, max_bytes: int = 1 << 30):
        self.folder = Path(folder)
        self.identity = identity
        self.max_files = max_files
        self.max_bytes = max_bytes

    def path(self, tokens: list[int]) -> Path:
        h = hashlib.sha256(self.identity.encode())
        h.update(np.asarray(tokens, dtype=np.int32).tobytes())
        return self.folder / f"{len(tokens)}-{h.hexdigest()[:32]}{SUFFIX}"

    def lengths(self) -> list[int]:
        """Lengths of the stored heads (of any model), longest first."""
        out = set()
        try:
            for p in self.folder.glob(f"*{SUFFIX}"):
                n, _, _ = p.name.partition("-")
                if n.isdigit():
                    out.add(int(n))
        except OSError:
            return []
        return sorted(out, reverse=True)

    def longest(self, tokens: list[int]) -> int:
        """Length of the longest stored head that ``tokens`` starts with, 0 for none."""
        for n in self.lengths():
            if MIN_TOKENS <= n <= len(tokens) and self.path(tokens[:n]).is_file():
                return n
        return 0

    def touch(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            os.utime(path)

    def prune(self) -> None:
        """Keep the most recently used files within the limits."""
        try:
            files = sorted(
                (p for p in self.folder.glob(f"*{SUFFIX}") if p.is_file()),
                key=lambda p: p.stat().st_mtime,
                reverse=True,
            )
            total = 0
            for i, p in enumerate(files):
                total += p.stat().st_size
                if i >= self.max_files or total > self.max_bytes:
                    p.unlink(missing_ok=True)
        except OSError:
            pass
