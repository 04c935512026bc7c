"""JSONL, the format of every dataset bslm writes and reads: one JSON record a line."""

from __future__ import annotations

import json
from pathlib import Path

from bslm.models.files import atomic_file


def read_jsonl(path: str | Path) -> list[dict]:
    """Records of a JSONL file. Raises ValueError naming the line that is not JSON."""
    out = []
    with Path(path).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}:{n}: not JSON ({e.msg})") from None
    return out


def write_jsonl(path: Path, records: list[dict]) -> None:
    """Atomically: a temporary file beside the target, then a rename."""
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
