"""bslm's files: what a model directory holds, where the default model and its GGUF live,
whether they are current, and the one way files are written (a temporary sibling renamed
into place). Nothing here needs PyTorch or transformers, so the runtime checks a GGUF cheaply.

A bslm model directory is a plain transformers checkpoint (``config.json``) or an adapter
(``bslm_adapter.json`` naming its base, the LoRA weights, the trained tool rows), beside the
dual tokenizer (``bslm_tokenizer.json`` and the base's tokenizer files). ``bslm build`` records
what it built from in ``bslm_build.json``. The shipped artifact (``models/default``) holds
``artifact.json``, ``lora.safetensors`` and ``tool_rows.safetensors``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from platformdirs import user_cache_dir

from bslm.models.errors import BslmError
from bslm.models.language import FORMAT_VERSION, NUM_CHARS, SYMBOLS

# a model directory
TOOL_TOKENIZER_FILE = "bslm_tokenizer.json"
ADAPTER_FILE = "bslm_adapter.json"
BUILD_FILE = "bslm_build.json"
# an artifact directory
META = "artifact.json"
ROWS = "tool_rows.safetensors"
LORA = "lora.safetensors"

DEFAULT_QUANT = "q8_0"


class TargetExistsError(BslmError, FileExistsError):
    """A file or directory that would be replaced without ``--force``."""


# --- writing --------------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_dir(target: Path, *, replace: bool = False, mode: int = 0o755) -> Iterator[Path]:
    """A fresh directory beside ``target`` (same filesystem) to fill in the block; renamed to
    ``target`` when the block ends, removed when it raises. An existing ``target`` is replaced
    when ``replace``, else kept (another process made it first: a cache)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    tmp.chmod(mode)
    try:
        yield tmp
        if replace and target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        try:
            tmp.rename(target)
        except OSError:
            if replace or not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: Path, mode: int = 0o644) -> Iterator[Path]:
    """A fresh file path beside ``target`` (same filesystem) to write in the block; it replaces
    ``target`` when the block ends and is removed when it raises."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    os.chmod(name, mode)  # mkstemp's 0600 would make the file private
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(target: Path, text: str) -> Path:
    """``target`` holds ``text`` (UTF-8), all of it or its old content."""
    with atomic_file(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


# --- a model directory ----------------------------------------------------------------------


def read_tool_tokenizer(directory: str | os.PathLike) -> dict:
    """The tool tokenizer's description in a directory, checked against this bslm's tool
    language (without loading the base tokenizer). Raises FileNotFoundError when there is
    none and ValueError when it was written by a newer bslm or another tool language."""
    d = Path(directory)
    path = d / TOOL_TOKENIZER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{d} has no {TOOL_TOKENIZER_FILE}: not a bslm model or tokenizer")
    meta = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path} uses tool-language format {meta['format_version']}; this bslm reads up "
            f"to {FORMAT_VERSION}: upgrade bslm"
        )
    if tuple(meta["symbols"]) != SYMBOLS or meta["num_chars"] != NUM_CHARS:
        raise ValueError(f"{path}: tool vocabulary does not match this bslm's tool language")
    return meta


def is_model_dir(path: Path) -> bool:
    """A full bslm model, or a bslm adapter (LoRA + tool rows over a named base)."""
    p = Path(path)
    has_weights = (p / "config.json").is_file() or (p / ADAPTER_FILE).is_file()
    return has_weights and (p / TOOL_TOKENIZER_FILE).is_file()


def write_adapter_spec(path: Path, base: str, seed: int = 0) -> None:
    """Record what an adapter applies to: ``base`` is a shipped base name, a checkpoint
    directory, ``default`` (the default model) or ``tiny`` (rebuilt from ``seed``)."""
    (Path(path) / ADAPTER_FILE).write_text(json.dumps({"base": base, "seed": seed}))


def read_adapter_spec(path: Path) -> dict | None:
    """``{"base", "seed"}`` of an adapter directory (None: not an adapter)."""
    spec = Path(path) / ADAPTER_FILE
    return json.loads(spec.read_text()) if spec.is_file() else None


def read_build_record(path: Path) -> dict:
    """What ``bslm build`` built ``path`` from (``{"base", "artifact"}``; empty: not a build)."""
    build = Path(path) / BUILD_FILE
    with contextlib.suppress(OSError, json.JSONDecodeError):
        if build.is_file():
            return json.loads(build.read_text())
    return {}


def build_record(path: Path) -> str:
    """``bslm.source`` of an export: the model directory and its build record (which says
    whether a build of the default model is still the one the export was made from)."""
    record = {"path": str(path), "build": read_build_record(path) or None}
    return json.dumps(record, sort_keys=True)


# --- the default model ----------------------------------------------------------------------


def cache_dir() -> Path:
    """Converted bases and built models: ``$BSLM_CACHE``, else the user cache directory."""
    return Path(os.environ.get("BSLM_CACHE") or user_cache_dir("bslm"))


def default_model_dir() -> Path:
    """Where ``bslm build`` puts the default model."""
    return cache_dir() / "models" / "default"


def default_gguf_path(quant: str = DEFAULT_QUANT) -> Path:
    """Where the runtime keeps the default model's GGUF (exported on first use)."""
    return cache_dir() / "models" / f"default.{quant}.gguf"


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


def stale_reason(path: Path) -> str | None:
    """Why ``path`` is not a usable bslm model directory (None when it is); the default
    model is also stale when the shipped artifact changed since it was built."""
    path = Path(path)
    if not is_model_dir(path):
        return "not a bslm model directory"
    try:
        read_tool_tokenizer(path)
    except (ValueError, OSError, KeyError) as e:
        return str(e)
    if path == default_model_dir() and read_build_record(path).get("artifact") != shipped_digest():
        return "the shipped default model changed since it was built"
    return None


def gguf_is_current(source: str | None) -> bool:
    """Whether a default-model GGUF whose ``bslm.source`` is ``source`` was exported from the
    shipped artifact as it is now (and from the built default model, when there is one)."""
    try:
        record = json.loads(source or "")
    except ValueError:
        return False
    build = record.get("build") if isinstance(record, dict) else None
    if not isinstance(build, dict) or build.get("artifact") != shipped_digest():
        return False
    built = default_model_dir()
    # the build, not where the cache lives: a moved or linked cache stays current
    return not built.exists() or json.loads(build_record(built)).get("build") == build
