"""What an export starts from: a bslm model directory (or the default model, built first when
missing or stale), checked before any work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .metadata import ExportError


@dataclass
class Source:
    path: Path
    name: str
    record: str  # what ``bslm.source`` says: the directory and its build record

    @property
    def decoding(self) -> dict | None:
        """The decoding help calibrated for this build (``bslm.decoding``), if any."""
        from bslm.models.files import read_build_record

        return read_build_record(self.path).get("decoding") or None

    def load(self):
        """(model, dual tokenizer) in float32. Raises ExportError."""
        from bslm.models.build import load_model
        from bslm.models.errors import BslmError

        try:
            model, tok = load_model(self.path)
        except (BslmError, OSError, ValueError) as e:
            raise ExportError(f"cannot load {self.path}: {str(e).splitlines()[0]}") from e
        return model.float().eval(), tok


def load_source(model: str | Path | None, say: Callable[[str], None] = lambda s: None) -> Source:
    """Check that ``model`` is a bslm model directory (None: the default model). Raises
    ExportError with what was wrong."""
    from bslm.models.files import build_record, is_model_dir

    if model is None:
        from bslm.models.build import ensure_default_model

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
