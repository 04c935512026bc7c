"""Shipping a trained run: an adapter (SFT, GRPO, DPO) packed into the small artifact that
``bslm build`` rebuilds the default model from (the format: ``models/artifact.py``).

    bslm pack RUN/final models/default     # or: python -m bslm.models.pack RUN/final OUT

An adapter trained over the default model itself (GRPO, DPO: ``train/rl/policy.py``) is folded
into the shipped artifact it started from: two LoRA updates ``s1·B1A1 + s2·B2A2`` are exactly
one LoRA of rank ``r1 + r2`` with ``A = [A1; A2]``, ``B = [s1·B1, s2·B2]`` and scale 1. An
adapter over a base stores each tool row's change from its initial value as int8 with one
scale per row.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from . import files
from .artifact import tool_offset, tool_row_changes
from .bases import base_tokenizer
from .build import fresh_model
from .errors import BslmError
from .files import (
    ADAPTER_FILE,
    LORA,
    META,
    ROWS,
    TOOL_TOKENIZER_FILE,
    atomic_dir,
    read_adapter_spec,
    read_tool_tokenizer,
)
from .vocab import pruned_name


class PackError(BslmError, ValueError):
    """A directory that cannot be packed (not an adapter, or not one over what ships)."""


def pack(adapter_dir: str | Path, out: str | Path, dtype=torch.bfloat16) -> Path:
    """Adapter directory (SFT output) -> artifact directory. Raises ValueError when the
    directory is not a bslm adapter."""
    src, out = Path(adapter_dir), Path(out)
    spec = read_adapter_spec(src)
    if spec is None:
        raise PackError(f"{src} is not a bslm adapter (no {ADAPTER_FILE})")
    cfg = json.loads((src / "adapter_config.json").read_text())
    weights = load_file(str(src / "adapter_model.safetensors"))
    if spec["base"] == "default":
        return _write(*_stacked(cfg, weights, dtype), src, out)
    base = fresh_model(spec["base"], spec.get("seed", 0))[0]
    emb = base.get_input_embeddings().weight.detach()
    lora, rows_idx, rows = {}, None, None
    for k, v in weights.items():
        if "trainable_tokens_delta" in k:
            rows_idx = torch.tensor(_token_indices(cfg), dtype=torch.long)
            rows = _int8_rows(v.float() - emb[rows_idx].float())
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
        "tool_offset": read_tool_tokenizer(src)["offset"],
    }
    return _write(meta, lora, rows, src, out)


def _stacked(cfg: dict, weights: dict, dtype) -> tuple[dict, dict, dict | None]:
    """(meta, LoRA weights, tool rows): the shipped artifact with an adapter trained over the
    default model folded in. Raises ValueError when the adapter does not fit it."""
    art = files.shipped_artifact()
    if art is None:
        raise PackError("the adapter was trained over the default model, but none is shipped")
    if any("trainable_tokens" in k for k in weights):
        raise PackError("an adapter over the default model must not train tool rows")
    meta = json.loads((art / META).read_text())
    old = load_file(str(art / LORA))
    new = {k: v for k, v in weights.items() if "lora_" in k}
    if sorted(old) != sorted(new):
        raise PackError("the adapter's LoRA modules differ from the shipped artifact's")
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
    meta.pop("decoding", None)  # calibrated on the weights it was stacked onto, not these
    rows = load_file(str(art / ROWS)) if (art / ROWS).is_file() else None
    return meta, lora, rows


def _write(meta: dict, lora: dict, rows: dict | None, src: Path, out: Path) -> Path:
    with atomic_dir(out, replace=True) as tmp:
        save_file(lora, str(tmp / LORA))
        if rows is not None:
            save_file(rows, str(tmp / ROWS))
        (tmp / META).write_text(json.dumps(meta, indent=2))
        shutil.copy(src / TOOL_TOKENIZER_FILE, tmp / TOOL_TOKENIZER_FILE)
        for p in tmp.iterdir():
            p.chmod(0o644)
    return out


def average(
    sources: list[str | Path], out: str | Path, rank: int | None = None
) -> tuple[Path, float]:
    """``(artifact, share)``: the average of ``sources`` (artifacts, or adapters packed first)
    of one run written to ``out``, and the share of the mean LoRA update's energy (squared
    Frobenius norm) that the rank-``rank`` update kept (default: the largest rank among them).
    Raises ValueError when they are not checkpoints of one model."""
    if not sources:
        raise PackError("nothing to average")
    with tempfile.TemporaryDirectory() as tmp:
        arts = []
        for i, src in enumerate(map(Path, sources)):
            if (src / META).is_file():
                arts.append(src)
            else:
                arts.append(pack(src, Path(tmp) / str(i)))
        metas = [json.loads((a / META).read_text()) for a in arts]
        saved = [json.loads((a / TOOL_TOKENIZER_FILE).read_text()) for a in arts]
        for a, m, t in zip(arts[1:], metas[1:], saved[1:], strict=True):
            for key in ("base", "seed", "tool_rows", "tool_offset"):
                if m.get(key) != metas[0].get(key):
                    raise PackError(f"{a} and {arts[0]} differ in {key}: not one run's checkpoints")
            if sorted(m["lora"]["target_modules"]) != sorted(metas[0]["lora"]["target_modules"]):
                raise PackError(f"{a} and {arts[0]} adapt different modules")
            if t != saved[0]:
                raise PackError(f"{a} and {arts[0]} have different tool vocabularies")
        rank = rank or max(m["lora"]["r"] for m in metas)
        loras = [load_file(str(a / LORA)) for a in arts]
        scales = [m["lora"]["lora_alpha"] / m["lora"]["r"] for m in metas]
        if any(sorted(x) != sorted(loras[0]) for x in loras):
            raise PackError("the checkpoints' LoRA weights differ in their modules")
        lora, kept, total = {}, 0.0, 0.0
        for ka in sorted(k for k in loras[0] if "lora_A" in k):
            kb = ka.replace("lora_A", "lora_B")
            a = torch.cat([x[ka].float() for x in loras], 0)
            b = torch.cat(
                [x[kb].float() * s / len(arts) for x, s in zip(loras, scales, strict=True)], 1
            )
            b_new, a_new, k_e, t_e = _truncated(b, a, rank)
            lora[ka], lora[kb] = a_new.bfloat16().contiguous(), b_new.bfloat16().contiguous()
            kept, total = kept + k_e, total + t_e
        rows = _mean_rows(arts)
        meta = dict(metas[0], lora=dict(metas[0]["lora"], r=rank, lora_alpha=rank))
        meta.pop("decoding", None)  # calibrated on other weights
        meta["averaged"] = len(arts)
        return _write(meta, lora, rows, arts[0], Path(out)), (kept / total if total else 1.0)


def _truncated(b: torch.Tensor, a: torch.Tensor, rank: int):
    """(B', A', kept, total): the rank-``rank`` factors closest to ``b @ a`` (Frobenius), with
    the squared norm they keep and the product's, computed through the factors' QR."""
    qb, rb = torch.linalg.qr(b)
    qa, ra = torch.linalg.qr(a.T)
    u, s, vh = torch.linalg.svd(rb @ ra.T)
    r = min(rank, len(s))
    root = s[:r].sqrt()
    b_new = qb @ (u[:, :r] * root)
    a_new = (root[:, None] * vh[:r]) @ qa.T
    if r < rank:  # keep the declared rank: zero directions change nothing
        b_new = torch.cat([b_new, b_new.new_zeros(b_new.shape[0], rank - r)], 1)
        a_new = torch.cat([a_new, a_new.new_zeros(rank - r, a_new.shape[1])], 0)
    return b_new, a_new, float((s[:r] ** 2).sum()), float((s**2).sum())


def _mean_rows(arts: list[Path]) -> dict | None:
    """The tool rows' mean change over the artifacts, as int8 with one scale per row."""
    changes = [tool_row_changes(a) for a in arts]
    if changes[0] is None:
        return None
    if any(not torch.equal(c[0], changes[0][0]) for c in changes):
        raise PackError("the checkpoints train different tool rows")
    mean = sum(c[1] for c in changes) / len(changes)
    return {"indices": changes[0][0] + changes[0][2], **_int8_rows(mean)}


def _int8_rows(change: torch.Tensor) -> dict:
    """Tool-row changes as int8 with one scale per row (``tool_row_changes`` reads them)."""
    scale = change.abs().amax(1).clamp_min(1e-12) / 127
    return {"q": (change / scale[:, None]).round().to(torch.int8), "scale": scale}


def _token_indices(cfg: dict) -> list[int]:
    idx = cfg.get("trainable_token_indices")
    return next(iter(idx.values())) if isinstance(idx, dict) else list(idx)


def retarget(artifact: str | Path, vocab: str, out: str | Path) -> Path:
    """The artifact re-indexed for another text vocabulary of its base (``32k``, ``full``):
    same LoRA weights, tool rows at the new offset, the new base named in its files."""
    art = Path(artifact)
    meta = json.loads((art / META).read_text())
    base = pruned_name(meta["base"], vocab)
    saved = json.loads((art / TOOL_TOKENIZER_FILE).read_text())
    offset = len(base_tokenizer(base))
    rows = load_file(str(art / ROWS)) if (art / ROWS).is_file() else None
    if rows is not None:
        rows = dict(rows, indices=rows["indices"] - tool_offset(meta, rows) + offset)
    lora = load_file(str(art / LORA))
    meta = dict(meta, base=base, tool_offset=offset)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / TOOL_TOKENIZER_FILE).write_text(
            json.dumps(dict(saved, offset=offset, base=base), ensure_ascii=False)
        )
        return _write(meta, lora, rows, Path(tmp), Path(out))


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Pack a trained adapter into a small artifact.")
    ap.add_argument("adapter")
    ap.add_argument("out")
    args = ap.parse_args(argv)
    out = pack(args.adapter, args.out)
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"{out}: {size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
