"""The shipped default model, as files: where it is built, the artifact that ships in the
package, and the digest that tells a build (or an export) whether it is still current. Reading
them needs neither PyTorch nor transformers, so the runtime can check a GGUF cheaply.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

META = "artifact.json"
ROWS = "tool_rows.safetensors"
LORA = "lora.safetensors"
BUILD_FILE = "bslm_build.json"


def default_model_dir() -> Path:
    """Where ``bslm build`` puts the default model."""
    from .bases import cache_dir

    return cache_dir() / "models" / "default"


def shipped_artifact() -> Path | None:
    """The default model's artifact shipped in the package (``models/default``), if any."""
    path = Path(str(resources.files("bslm.models").joinpath("default")))
    return path if (path / META).is_file() else None


def digest(artifact: str | Path) -> str:
    """A short hash of the artifact's files (tells a build whether it is up to date)."""
    h = hashlib.sha256()
    for name in (META, LORA, ROWS):
        p = Path(artifact) / name
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def shipped_digest() -> str | None:
    """The digest of the shipped artifact (None when none ships)."""
    art = shipped_artifact()
    return digest(art) if art is not None else None
