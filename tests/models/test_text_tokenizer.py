"""The runtime's text tokenizer (``tokenizers`` alone) answers as transformers' does."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.models.test_vocab import MIXED

_cache: dict = {}


def _pair(base: str):
    if base not in _cache:
        import tempfile

        from bslm.models.bases import base_tokenizer
        from bslm.models.text_tokenizer import TextTokenizer

        hf = base_tokenizer(base)
        with tempfile.TemporaryDirectory() as d:
            hf.save_pretrained(d)
            _cache[base] = hf, TextTokenizer.from_dir(d)
    return _cache[base]


@pytest.mark.parametrize("base", ["smollm2-135m", "gemma-3-270m@32k"])
def test_same_ids_specials_and_text(base):
    hf, light = _pair(base)
    assert len(light) == len(hf)
    assert light.bos_token_id == hf.bos_token_id and light.eos_token_id == hf.eos_token_id
    assert light.pad_token_id == hf.pad_token_id and light.unk_token_id == hf.unk_token_id
    assert light.all_special_ids == sorted(set(hf.all_special_ids))
    assert light("a")["input_ids"] == hf("a")["input_ids"]
    for text in MIXED:
        ids = hf.encode(text, add_special_tokens=False, split_special_tokens=True)
        assert light.encode(text) == ids, text
        assert light.encode(text, split_special_tokens=False) == hf.encode(
            text, add_special_tokens=False, split_special_tokens=False
        )
        assert light.decode(ids) == hf.decode(
            ids, skip_special_tokens=False, clean_up_tokenization_spaces=False
        )
    for token in ("<0x0A>", "<bos>", "hello", "no-such-token-at-all"):
        assert light.convert_tokens_to_ids(token) == hf.convert_tokens_to_ids(token)


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_same_ids_on_any_text(s):
    for base in ("smollm2-135m", "gemma-3-270m@32k"):
        hf, light = _pair(base)
        assert light.encode(s) == hf.encode(s, add_special_tokens=False, split_special_tokens=True)
