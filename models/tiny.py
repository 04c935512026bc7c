"""A tiny from-scratch bslm model for fast tests: Gemma 3 architecture (sliding-window and
global layers), a few million parameters, random weights, the real dual tokenizer.

    from bslm.models.tiny import build_tiny
    model, tok = build_tiny()            # SmolLM2's text tokenizer + the tool vocabulary
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .embeddings import dual_tokenizer, init_tool_embeddings
from .tokenizer import DualTokenizer


@dataclass(frozen=True)
class TinyPreset:
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 6
    num_attention_heads: int = 2
    num_key_value_heads: int = 1
    head_dim: int = 32
    sliding_window: int = 32
    global_every: int = 3  # every third layer attends globally, the others within the window
    max_position_embeddings: int = 8192


def tiny_config(vocab_size: int, preset: TinyPreset = TinyPreset(), **overrides):
    from transformers import Gemma3TextConfig

    p = preset
    layer_types = [
        "full_attention" if (i + 1) % p.global_every == 0 else "sliding_attention"
        for i in range(p.num_hidden_layers)
    ]
    kwargs = dict(
        vocab_size=vocab_size,
        hidden_size=p.hidden_size,
        intermediate_size=p.intermediate_size,
        num_hidden_layers=p.num_hidden_layers,
        num_attention_heads=p.num_attention_heads,
        num_key_value_heads=p.num_key_value_heads,
        head_dim=p.head_dim,
        # llama.cpp's gemma3 assumes the attention scale is 1/sqrt(head_dim).
        query_pre_attn_scalar=p.head_dim,
        sliding_window=p.sliding_window,
        layer_types=layer_types,
        max_position_embeddings=p.max_position_embeddings,
        tie_word_embeddings=True,
        pad_token_id=0,
        bos_token_id=None,
        eos_token_id=None,
    )
    kwargs.update(overrides)
    return Gemma3TextConfig(**kwargs)


def build_tiny(
    base: str = "smollm2-135m",
    seed: int = 0,
    preset: TinyPreset = TinyPreset(),
    tok: DualTokenizer | None = None,
):
    """(model, dual tokenizer): random Gemma 3 weights sized to the dual vocabulary of
    ``base``'s text tokenizer, tool rows initialised like a real build."""
    from transformers import Gemma3ForCausalLM

    tok = tok or dual_tokenizer(base)
    torch.manual_seed(seed)
    model = Gemma3ForCausalLM(tiny_config(tok.offset, preset, bos_token_id=tok.bos_id))
    init_tool_embeddings(model, tok)
    model.config.eos_token_id = model.generation_config.eos_token_id = tok.eot_id
    model.eval()
    return model, tok
