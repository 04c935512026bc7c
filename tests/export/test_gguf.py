"""GGUF export of the tiny model: what stock llama.cpp reads, the bslm metadata, parity."""

import json
import os

import numpy as np
import pytest


def test_loads_and_generates_in_plain_llama_cpp(gguf_of):
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf_of("f16")), n_ctx=256, verbose=False)
    try:
        out = llm.create_completion("The weather in Paris", max_tokens=6, temperature=0)
        assert out["usage"]["completion_tokens"] > 0
        chat = llm.create_chat_completion(
            messages=[{"role": "user", "content": "Hello"}], max_tokens=4, temperature=0
        )
        assert chat["choices"][0]["message"]["role"] == "assistant"
    finally:
        llm.close()


def test_architecture_window_pattern_and_vocabulary(gguf_of, tiny):
    from gguf import GGUFReader, TokenType

    model, tok = tiny
    r = GGUFReader(gguf_of("f16"))
    f = r.fields
    assert f["general.architecture"].contents() == "gemma3"
    assert f["gemma3.attention.sliding_window"].contents() == model.config.sliding_window
    pattern = f["gemma3.attention.sliding_window_pattern"].contents()
    assert pattern == [t == "sliding_attention" for t in model.config.layer_types]
    tokens = f["tokenizer.ggml.tokens"].contents()
    types = f["tokenizer.ggml.token_type"].contents()
    assert len(tokens) == len(tok) == model.get_input_embeddings().weight.shape[0]
    assert tokens[tok.sym("call")] == "⟨call⟩" and types[tok.sym("call")] == TokenType.CONTROL
    piece = tok.offset + tok.tool.piece_base
    assert tokens[piece] == tok.token_strings()[tok.tool.piece_base]
    assert types[piece] == TokenType.USER_DEFINED
    assert tokens[:100] == [tok.base.convert_ids_to_tokens(i) for i in range(100)]
    assert f["tokenizer.ggml.eot_token_id"].contents() == tok.eot_id
    assert "⟨model⟩" in f["tokenizer.chat_template"].contents()


def test_metadata_rebuilds_the_dual_tokenizer(gguf_of, tiny):
    from bslm.export.metadata import FORMAT_VERSION, tokenizer_from_metadata
    from bslm.models.chat import encode_chat
    from bslm.runtime.backends.llama import gguf_header

    _, tok = tiny
    meta = gguf_header(gguf_of("f16"))
    assert int(meta["bslm.format_version"]) == FORMAT_VERSION
    assert meta["bslm.base"] == tok.base_name
    assert json.loads(meta["bslm.modalities"])["tool"] == [tok.offset, len(tok)]
    again = tokenizer_from_metadata(meta)
    msgs = [{"role": "user", "content": "Weather in Paris, <|im_start|> please"}]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    assert encode_chat(again, msgs, tools).ids == encode_chat(tok, msgs, tools).ids
    assert (again.offset, again.eot_id, again.bos_id) == (tok.offset, tok.eot_id, tok.bos_id)


def test_llama_cpp_tokenizes_text_as_the_base_does(gguf_of, tiny):
    from llama_cpp import Llama

    _, tok = tiny
    llm = Llama(model_path=str(gguf_of("f16")), n_ctx=64, verbose=False, vocab_only=True)
    try:
        for text in ["Hello world", "  two  spaces\n\nnewlines", "naïve café 東京 🚀", "x=3.14;"]:
            assert llm.tokenize(text.encode(), add_bos=False, special=False) == tok.encode_text(
                text
            )
    finally:
        llm.close()


@pytest.mark.parametrize(
    "quant, max_abs, top1",
    [
        ("f32", 1e-3, 1.0),
        # rounding this model's weights to f16 alone moves a logit by 1.1e-3 (PyTorch with
        # f16-rounded weights, bench/export_parity.py --tiny); llama.cpp's f16 arithmetic adds
        # a little: no f16 file can meet 1e-3
        pytest.param("f16", 5e-3, 1.0, marks=pytest.mark.slow),
        # the random tiny model's top two logits are often closer than q8_0's error;
        # the real model's agreement is in bench/export_parity.py
        pytest.param("q8_0", 0.1, 0.9, marks=pytest.mark.slow),
    ],
)
def test_parity_with_pytorch_past_the_window(gguf_of, reference_runs, quant, max_abs, top1):
    from bslm.export.parity import compare
    from bslm.runtime.backends import open_backend

    backend = open_backend(gguf_of(quant))
    try:
        stats = compare(backend, reference_runs)
    finally:
        backend.close()
    assert max(len(r.prompt) + len(r.ids) for r in reference_runs) > 32  # past the window
    assert stats.max_abs <= max_abs
    assert stats.top1 >= top1


@pytest.mark.slow
def test_q4_k_m_loads_and_mostly_agrees(gguf_of, reference_runs):
    from bslm.export.parity import compare
    from bslm.runtime.backends import open_backend

    backend = open_backend(gguf_of("q4_k_m"))
    try:
        assert backend.info["quantization"] == "q4_k_m"
        assert compare(backend, reference_runs).top1 >= 0.5
    finally:
        backend.close()


def test_backend_rewind_matches_a_fresh_evaluation(gguf_of, tiny):
    from bslm.runtime.backends import open_backend

    _, tok = tiny
    ids = tok.encode_text("The lighthouse keeper counted the steps to the lamp room. " * 4)
    backend = open_backend(gguf_of("f32"))
    try:
        assert backend.n_vocab == len(tok)
        backend.prime(ids)
        backend.rewind(10)  # back inside the first window, far behind the last position
        again = backend.eval(ids[10:40])
        backend.reset()
        fresh = backend.prime(ids[:40])
        assert np.abs(again - fresh).max() < 1e-4
        assert backend.n_past == 40
        # long past the window (32) and past what the sliding-window cache keeps (window +
        # batch, 768 cells), then rewinds: a few tokens and further (cuts), far back and to
        # the start (evaluated again)
        long = (ids * 40)[:1600]
        for keep, again in ((len(long) - 3, 0), (len(long) - 60, 0), (600, 1), (5, 1)):
            backend.prime(long)
            before = backend.rewinds
            backend.rewind(keep)
            assert backend.rewinds - before == again, keep
            got = backend.eval(long[keep : keep + 4])
            backend.reset()
            want = backend.prime(long[: keep + 4])
            assert np.abs(got - want).max() < 1e-4, keep
    finally:
        backend.close()


def test_a_held_prompt_head_is_stored_and_loaded_by_the_next_process(gguf_of, tiny, tmp_path):
    from bslm.runtime.backends import open_backend
    from bslm.runtime.backends.prompt_store import PromptStore, identity

    _, tok = tiny
    head = tok.encode_text("You are a careful assistant with tools for notes and files. " * 20)
    tail = tok.encode_text(" Which notes mention the lighthouse?")

    def opened():
        backend = open_backend(gguf_of("f32"))
        backend.store = PromptStore(tmp_path / "prompts", identity(gguf_of("f32"), n_ctx=1))
        return backend

    first = opened()
    try:
        assert first.hold(head[:-8]) == len(head) - 8  # not a head: evaluated, not stored
        assert not (tmp_path / "prompts").exists()
        assert first.hold(head, head=True) == 8  # evaluated, then stored
        assert first.hold(head, head=True) == 0  # already in the cache
        want = first.prime(head + tail)
    finally:
        first.close()
    [stored] = (tmp_path / "prompts").glob("*.state")
    assert stored.name.startswith(f"{len(head)}-")

    second = opened()
    try:
        assert second.hold(head, head=True) == 0 and second.restored == 1  # loaded, not evaluated
        assert second.n_past == len(head)
        got = second.prime(head + tail)
        assert np.abs(got - want).max() < 1e-4
        # a rewind far behind the sliding window goes back to the stored head
        long = head + tail * 60
        second.prime(long)
        second.rewind(len(head) + 2)
        assert second.restored == 2 and second.rewinds == 1
        got = second.eval(long[len(head) + 2 : len(head) + 6])
        second.reset()
        assert np.abs(got - second.prime(long[: len(head) + 6])).max() < 1e-4
    finally:
        second.close()

    stored.write_bytes(b"not a llama.cpp state")  # a broken file is dropped, not trusted
    third = opened()
    try:
        assert third.hold(head, head=True) == len(head) and third.restored == 0
        assert np.abs(third.prime(head + tail) - want).max() < 1e-4
    finally:
        third.close()
    assert stored.is_file() and stored.stat().st_size > 100  # stored again


def test_decoding_reads_the_logits_in_place_and_eval_returns_a_copy(gguf_of, tiny):
    from bslm.runtime.backends import open_backend

    _, tok = tiny
    ids = tok.encode_text("Three short steps to the lamp room.")
    backend = open_backend(gguf_of("f32"))
    try:
        kept = backend.prime(ids)
        view = backend.eval([ids[0]], copy=False)
        assert not np.shares_memory(kept, view)
        # writeable, else numpy's argmax would copy it first
        assert view.flags.writeable
        first = view.copy()
        again = backend.eval([ids[1]], copy=False)
        assert np.shares_memory(view, again)  # one buffer, overwritten token by token
        assert not np.array_equal(first, again) and np.array_equal(view, again)
        assert np.array_equal(first, backend.prime(ids + [ids[0]]))  # copies stay as they were
    finally:
        backend.close()


def test_the_prompt_store_keeps_the_most_recent_heads(tmp_path):
    from bslm.runtime.backends.prompt_store import PromptStore

    store = PromptStore(tmp_path, "model", max_files=2)
    heads = [list(range(i, i + 100)) for i in range(3)]
    for i, h in enumerate(heads):
        p = store.path(h)
        p.write_bytes(b"x" * 10)
        os.utime(p, (1000 + i, 1000 + i))
    assert store.longest(heads[0] + [7, 8]) == 100
    assert store.longest(heads[0][:50]) == 0  # shorter than any stored head
    assert PromptStore(tmp_path, "other model").longest(heads[0]) == 0
    store.prune()
    assert store.longest(heads[0]) == 0 and store.longest(heads[2]) == 100


def test_q8_0_with_an_f16_embedding(tiny_dir, tmp_path, gguf_of):
    from gguf import GGMLQuantizationType, GGUFReader

    from bslm.export.gguf import export_gguf

    out = export_gguf(tiny_dir, tmp_path / "t.gguf", "q8_0", embedding="f16").path
    types = {t.name: t.tensor_type for t in GGUFReader(out).tensors}
    plain = {t.name: t.tensor_type for t in GGUFReader(gguf_of("q8_0")).tensors}
    assert types["token_embd.weight"] == GGMLQuantizationType.F16
    assert plain["token_embd.weight"] == GGMLQuantizationType.Q8_0
    assert types["blk.0.attn_q.weight"] == GGMLQuantizationType.Q8_0
    assert out.stat().st_size > gguf_of("q8_0").stat().st_size


def test_the_header_is_read_as_llama_cpp_reads_it_and_the_tokenizer_files_do_not_stay(gguf_of):
    from llama_cpp import Llama

    from bslm.runtime.backends import open_backend
    from bslm.runtime.backends.llama import LARGE_METADATA, gguf_header

    path = gguf_of("q8_0")
    llm = Llama(model_path=str(path), n_ctx=64, verbose=False, vocab_only=True)
    try:
        assert gguf_header(path) == dict(llm.metadata)
    finally:
        llm.close()
    assert len(gguf_header(path)["bslm.text_tokenizer"]) > LARGE_METADATA
    backend = open_backend(path)
    try:
        kept = backend.llm.metadata
        assert "bslm.text_tokenizer" not in kept and "bslm.format_version" in kept
    finally:
        backend.close()


def test_evaluation_decodes_with_the_runtimes_context(gguf_of):
    """``bslm eval`` gives a prompt the room ``bslm run`` gives it (BFCL's longest
    live_irrelevance prompt is ~4,900 tokens: a smaller context ended a full run there)."""
    from bslm.runtime.backends import open_backend
    from bslm.train.eval.predictors import open_predictor
    from bslm.train.eval.suites import EvalConfig

    path = str(gguf_of("q8_0"))
    runtime = open_backend(path, "llama")
    predictor = open_predictor(EvalConfig(model=path, backend="llama", mask="hard"))
    try:
        assert predictor.backend.n_ctx == runtime.n_ctx >= 8192
    finally:
        predictor.backend.close()
        runtime.close()
