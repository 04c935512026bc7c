"""The tool vocabulary in a base model's embeddings: the dual tokenizer of a base, and the new
rows, each starting as the mean of the base rows of its surface text (``weather_`` starts as
"weather_", ``⟨req⟩`` as "required"), so the two modalities start fused.
"""

from __future__ import annotations

import torch

from .bases import DEFAULT_BASE, base_tokenizer
from .tokenizer import DualTokenizer


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
