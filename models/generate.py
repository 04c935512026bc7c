"""Greedy decoding with a KV cache over token ids (transformers backend).

The loop knows nothing about tokenization: ids in, ids out, stop on a set of ids.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch


@torch.inference_mode()
def greedy(model, prompt: list[int], stop: set[int], max_new_tokens: int = 256) -> Iterator[int]:
    """Yield generated ids one at a time (the stop id included, then it ends)."""
    past = None
    ids = torch.tensor([prompt], dtype=torch.long)
    for _ in range(max_new_tokens):
        # only the last position's logits: projecting a whole prompt onto the vocabulary is
        # most of a small model's prefill
        out = model(input_ids=ids, past_key_values=past, use_cache=True, logits_to_keep=1)
        past = out.past_key_values
        nxt = int(out.logits[0, -1].argmax())
        yield nxt
        if nxt in stop:
            return
        ids = torch.tensor([[nxt]], dtype=torch.long)
