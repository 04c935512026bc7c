"""Greedy decoding with a KV cache matches decoding without one."""

import torch

from bslm.models.generate import greedy


def test_greedy_with_cache_matches_full_recompute(tiny):
    model, tok = tiny
    prompt = tok.encode_text("The weather in Paris is") * 8  # longer than the sliding window
    fast = list(greedy(model, prompt, set(), 12))
    ids = list(prompt)
    slow = []
    with torch.no_grad():
        for _ in range(12):
            nxt = int(model(torch.tensor([ids])).logits[0, -1].argmax())
            slow.append(nxt)
            ids.append(nxt)
    assert len(prompt) > model.config.sliding_window
    assert fast == slow


def test_greedy_stops_on_a_stop_id(tiny):
    model, tok = tiny
    prompt = tok.encode_text("hello")
    first = next(greedy(model, prompt, set(), 1))
    assert list(greedy(model, prompt, {first}, 10)) == [first]
