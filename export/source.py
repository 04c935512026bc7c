"""What an export starts from: a bslm model directory (or the default model), checked before
any work, and the temporary files an export writes before renaming them into place."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .metadata import ExportError


@dataclass
class Source:
    path: Path
    name: str
    record: str  # what ``bslm.source`` says: the directory and its build record

    def load(self):
        """(model, dual tokenizer) in float32. Raises ExportError."""
        from bslm.models.bases import BaseModelError
        from bslm.models.build import load_model

        try:
            model, tok = load_model(self.path)
        except (BaseModelError, OSError, ValueError) as e:
            raise ExportError(f"cannot load {self.path}: {str(e).splitlines()[0]}") from e
        return model.float().eval(), tok


def build_record(path: Path) -> str:
    """``bslm.source``: the model directory and its ``bslm_build.json`` (which says whether a
    build of the default model is still the one an export was made from)."""
    from bslm.models.shipped import BUILD_FILE

    build = path / BUILD_FILE
    record = {"path": str(path), "build": None}
    if build.is_file():
        with contextlib.suppress(OSError, json.JSONDecodeError):
            record["build"] = json.loads(build.read_text())
    return json.dumps(record, sort_keys=True)


def ensure_default_model(say: Callable[[str], None] = lambda s: None) -> Path:
    """The default model directory, built (or rebuilt when stale) first if needed."""
    from bslm.models.build import build_model, default_model_dir, is_model_dir, stale_reason

    out = default_model_dir()
    if out.exists() and not is_model_dir(out):
        raise ExportError(f"{out} exists and is not a bslm model: run `bslm build --force`")
    reason = stale_reason(out)
    if reason is not None:
        say(f"building the default model ({reason})...")
        build_model(None, out, force=out.exists())
    return out


def load_source(model: str | Path | None, say: Callable[[str], None] = lambda s: None) -> Source:
    """Check that ``model`` is a bslm model directory (None: the default model). Raises
    ExportError with what was wrong."""
    from bslm.models.build import is_model_dir

    if model is None:
        path = ensure_default_model(say)
        return Source(path, "default", build_record(path))
    path = Path(model).expanduser()
    if not path.exists():
        raise ExportError(f"{path} does not exist")
    if not path.is_dir() or not is_model_dir(path):
        raise ExportError(
            f"{path} is not a bslm model directory (expected config.json or bslm_adapter.json "
            "beside bslm_tokenizer.json)"
        )
    return Source(path, path.resolve().name, build_record(path))


def partial_path(target: Path) -> Path:
    """A fresh temporary file beside ``target`` (renamed over it when complete)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    os.chmod(name, 0o644)  # mkstemp's 0600 would make the export private
    return Path(name)
