"""The pruned text vocabulary: lossless on any Unicode, identical tokenization (and logits)
for text made of kept tokens, llama.cpp agreeing with the HF tokenizer, the artifact carried
across vocabularies."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bslm.models.vocab import VocabError, kept_ids, parse_size, pruned_name, split_name

MIXED = [
    "What time is it in Tokyo right now?",
    "def add(a: int, b: int) -> int:\n    return a + b  # sum\n",
    '{"name": "get_weather", "arguments": {"city": "Paris", "units": ["c", "f"]}}',
    "Convert 5 miles to kilometers, then 12,000 ¥ to €.",
    "東京の天気は？ Привет, как дела? مرحبا بالعالم नमस्ते दुनिया",
    "emoji 🚀🔥👍🏽 and ZWJ 👩‍💻, math ∑∫√∞ ≤ ≥",
    "tabs\tand  double  spaces\n\n\nnewlines   trailing ",
    "<start_of_turn>user <bos> <eos> <|call|> ⟨call⟩ literal control text",
    "naïve café façade Zürich São Paulo Kraków Ærøskøbing",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
]


def _toks():
    from bslm.models.bases import base_tokenizer

    if "full" not in _cache:
        _cache["full"] = base_tokenizer("gemma-3-270m")
        _cache["pruned"] = base_tokenizer("gemma-3-270m@32k")
    return _cache["full"], _cache["pruned"]


_cache: dict = {}


def test_names_and_sizes():
    assert split_name("gemma-3-270m@32k") == ("gemma-3-270m", "32k")
    assert split_name("gemma-3-270m") == ("gemma-3-270m", None)
    assert split_name("/some/dir@x/model") == ("/some/dir@x/model", None)
    assert pruned_name("gemma-3-270m@32k", "full") == "gemma-3-270m"
    assert pruned_name("gemma-3-270m", "16k") == "gemma-3-270m@16k"
    assert parse_size("32k") == 32768
    with pytest.raises(VocabError, match="write it as"):
        parse_size("32000")
    with pytest.raises(VocabError, match="no 7k vocabulary"):
        kept_ids("gemma-3-270m", "7k")


def test_kept_list_is_closed_and_keeps_specials_and_bytes():
    from bslm.models.vocab import close, required_ids

    full, pruned = _toks()
    keep = set(kept_ids("gemma-3-270m", "32k"))
    assert required_ids(full) <= keep
    assert close(full, keep) == keep
    assert len(pruned) == len(keep) <= 32768
    assert pruned.bos_token_id == full.bos_token_id and pruned.eos_token_id == full.eos_token_id


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_pruned_tokenizer_is_lossless_on_any_unicode(s):
    from bslm.models.tokenizer import DualTokenizer

    _, pruned = _toks()
    if "dual" not in _cache:
        _cache["dual"] = DualTokenizer(pruned)
    tok = _cache["dual"]
    assert tok.spellable(s) == s
    assert tok.decode_text(tok.encode_text(s)) == s


def test_kept_text_tokenizes_exactly_as_in_the_full_vocabulary():
    full, pruned = _toks()
    keep = kept_ids("gemma-3-270m", "32k")
    new_id = {old: new for new, old in enumerate(keep)}
    english_code_json = {MIXED[0], MIXED[1], MIXED[2]}
    for text in MIXED:
        ids = full.encode(text, add_special_tokens=False, split_special_tokens=True)
        got = pruned.encode(text, add_special_tokens=False, split_special_tokens=True)
        assert pruned.decode(got) == text
        if text in english_code_json:
            assert all(i in new_id for i in ids), text
        if all(i in new_id for i in ids):
            assert got == [new_id[i] for i in ids], text


def test_pruned_model_logits_equal_the_full_models_on_kept_ids():
    import torch

    from bslm.models.tiny import TinyPreset, tiny_config
    from bslm.models.vocab import prune_model

    full, pruned = _toks()
    keep = kept_ids("gemma-3-270m", "32k")
    new_id = {old: new for new, old in enumerate(keep)}
    from transformers import Gemma3ForCausalLM

    torch.manual_seed(0)
    model = Gemma3ForCausalLM(tiny_config(len(full), TinyPreset(hidden_size=32))).eval()
    text = MIXED[0] + " " + MIXED[1]
    ids = full.encode(text, add_special_tokens=False)
    assert all(i in new_id for i in ids)
    with torch.no_grad():
        want = model(torch.tensor([ids])).logits[0][:, list(keep)]
        prune_model(model, keep)
        assert model.get_input_embeddings().weight.shape[0] == len(keep)
        got = model(torch.tensor([[new_id[i] for i in ids]])).logits[0]
    # the kept rows are the same rows; only the softmax's denominator differs
    assert torch.allclose(got, want, atol=1e-5)


@pytest.fixture(scope="module")
def pruned_gguf(tmp_path_factory):
    """A tiny model over the pruned Gemma vocabulary, exported to GGUF."""
    from bslm.export.gguf import export_gguf
    from bslm.models.build import save_model
    from bslm.models.embeddings import dual_tokenizer
    from bslm.models.tiny import TinyPreset, build_tiny

    tok = dual_tokenizer("gemma-3-270m@32k")
    model, tok = build_tiny(tok=tok, preset=TinyPreset(hidden_size=32))
    d = save_model(model, tok, tmp_path_factory.mktemp("pruned") / "model")
    return export_gguf(d, d.parent / "pruned.f16.gguf", "f16").path, tok


def test_llama_cpp_tokenizes_as_the_pruned_hf_tokenizer(pruned_gguf):
    from llama_cpp import Llama

    path, tok = pruned_gguf
    llm = Llama(model_path=str(path), n_ctx=64, verbose=False, vocab_only=True)
    try:
        for text in MIXED:
            assert llm.tokenize(text.encode(), add_bos=False, special=False) == tok.encode_text(
                text
            ), text
            ids = tok.encode_text(text)
            assert llm.detokenize(ids).decode("utf-8", "replace") == text, text
    finally:
        llm.close()


@pytest.mark.slow
def test_bslm_build_vocab_full_carries_the_shipped_artifact_over(tmp_path):
    """The shipped artifact over the full vocabulary (``bslm build --vocab full``) and over its
    own pruned one give the same logits on the kept ids, for text made of kept tokens."""
    import torch

    from bslm.cli.main import main
    from bslm.models.build import build_from_artifact, load_model
    from bslm.models.files import shipped_artifact

    out = tmp_path / "full"
    assert main(["build", "--vocab", "full", "--out", str(out)]) == 0
    full, ftok = load_model(out)
    pruned, ptok = build_from_artifact(shipped_artifact())
    assert len(ftok.base) == 262144 and len(ptok.base) < 50_000
    assert len(ftok.tool) == len(ptok.tool)
    keep = kept_ids(*split_name(ptok.base_name))
    text = MIXED[0]
    fids = ftok.encode_text(text) + [ftok.sym("call")]
    pids = ptok.encode_text(text) + [ptok.sym("call")]
    new_id = {old: new for new, old in enumerate(keep)}
    assert pids[:-1] == [new_id[i] for i in fids[:-1]]
    with torch.no_grad():
        a = full(torch.tensor([fids])).logits[0]
        b = pruned(torch.tensor([pids])).logits[0]
    rows = list(keep) + list(range(ftok.offset, len(ftok)))
    assert torch.allclose(a[:, rows], b, atol=1e-3)
