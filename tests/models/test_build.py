"""Tool-token embeddings, the tiny model, sliding-window config through save/load."""

import torch
from transformers import AutoModelForCausalLM

from bslm.models.build import load_model, save_model
from bslm.models.chat import encode_chat
from bslm.models.embeddings import attach_tool_vocabulary
from bslm.models.files import is_model_dir
from bslm.models.tiny import TinyPreset, build_tiny


def test_tool_rows_start_as_mean_of_their_surface(tiny):
    model, tok = tiny
    w = model.get_input_embeddings().weight
    assert w.shape[0] == len(tok)
    for symbol in ["call", "req", "string", "eot"]:
        local = tok.tool.sym_id[symbol]
        src = tok.surface_ids(local)
        assert torch.allclose(w[tok.offset + local], w[src].mean(0))
    weather = tok.tool.piece_id["weather"]
    assert tok.surface_ids(weather) == tok.encode_text("weather")
    assert torch.allclose(w[tok.offset + weather], w[tok.encode_text("weather")].mean(0))


def test_attach_extends_a_model_in_place(tok):
    model, _ = build_tiny(tok=tok)
    model.resize_token_embeddings(tok.offset)  # back to a text-only model
    before = model.get_input_embeddings().weight[:100].clone()
    dual = attach_tool_vocabulary(model, tok.base, "smollm2-135m")
    w = model.get_input_embeddings().weight
    assert w.shape[0] == len(dual) and torch.equal(w[:100], before)
    assert model.generation_config.eos_token_id == dual.eot_id
    assert model.get_output_embeddings().weight.data_ptr() == w.data_ptr()  # still tied


def test_tiny_forward_and_loss(tiny):
    model, tok = tiny
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    enc = encode_chat(tok, messages)
    ids = torch.tensor([enc.ids])
    labels = torch.where(torch.tensor([enc.learn]) == 1, ids, torch.tensor(-100))
    out = model(input_ids=ids, labels=labels)
    assert out.logits.shape == (1, len(enc), len(tok))
    assert torch.isfinite(out.loss)
    n = sum(p.numel() for p in model.parameters())
    assert 1e6 < n < 10e6


def test_tiny_has_sliding_and_global_layers():
    from bslm.models.tiny import tiny_config

    cfg = tiny_config(1000, TinyPreset(num_hidden_layers=6, global_every=3, sliding_window=16))
    assert cfg.layer_types == ["sliding_attention"] * 2 + ["full_attention"] + [
        "sliding_attention"
    ] * 2 + ["full_attention"]
    assert cfg.sliding_window == 16 and cfg.query_pre_attn_scalar == cfg.head_dim


def test_sliding_window_survives_save_and_load(tiny, tmp_path):
    model, tok = tiny
    save_model(model, tok, tmp_path / "m")
    assert is_model_dir(tmp_path / "m")
    back, back_tok = load_model(tmp_path / "m")
    assert back.config.sliding_window == model.config.sliding_window
    assert back.config.layer_types == model.config.layer_types
    assert back_tok.offset == tok.offset
    ids = torch.tensor([list(range(5, 5 + 3 * model.config.sliding_window))])  # past the window
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, back(ids).logits, atol=1e-5)
    plain = AutoModelForCausalLM.from_pretrained(tmp_path / "m")  # a plain HF checkpoint
    assert plain.config.layer_types == model.config.layer_types


def test_sliding_window_changes_attention(tiny):
    """Tokens beyond the window stop influencing sliding layers: with every layer sliding, the
    last position cannot see the first token."""
    from bslm.models.tiny import tiny_config

    _, tok = tiny
    from transformers import Gemma3ForCausalLM

    torch.manual_seed(0)
    cfg = tiny_config(500, TinyPreset(num_hidden_layers=2, global_every=99, sliding_window=4))
    model = Gemma3ForCausalLM(cfg).eval()
    a = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])
    b = a.clone()
    b[0, 0] = 11
    with torch.no_grad():
        la, lb = model(a).logits[0, -1], model(b).logits[0, -1]
    assert torch.allclose(la, lb)  # the first token is 9 positions back: out of the window
    with torch.no_grad():
        assert not torch.allclose(model(a).logits[0, 1], model(b).logits[0, 1])


def test_save_refuses_to_overwrite(tiny, tmp_path):
    import pytest

    model, tok = tiny
    (tmp_path / "m").mkdir()
    with pytest.raises(FileExistsError, match="--force"):
        save_model(model, tok, tmp_path / "m")
    assert list((tmp_path / "m").iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary left behind
