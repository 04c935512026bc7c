"""The engine: greedy decoding with a KV cache matches decoding without one; every token
comes with its log-probability and whether the grammar forced it; a turn's grammar holds the
system prompt's rules."""

import pytest
import torch

from bslm.models.torch_backend import greedy


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


def test_generate_reports_each_tokens_logprob_and_whether_the_grammar_forced_it(tiny):
    import math

    from bslm.models.chat import encode_chat
    from bslm.models.engine import generate, turn_grammar
    from bslm.models.tools import ToolSpec
    from bslm.models.torch_backend import TorchBackend

    model, tok = tiny
    tools = [ToolSpec("get_time", None, {"type": "object", "properties": {}})]
    prompt = encode_chat(tok, [{"role": "user", "content": "time?"}], tools, True).ids
    backend = TorchBackend(model, tok)
    free = generate(backend, prompt, None, "off", max_new_tokens=6, logprobs=True)
    with torch.no_grad():
        first = torch.log_softmax(model(torch.tensor([prompt])).logits[0, -1].double(), -1)
    assert free.logprobs[0] == pytest.approx(float(first[free.ids[0]]), abs=1e-4)
    assert not any(free.forced) and free.overridden == 0
    grammar = turn_grammar(tok, tools, "Always use get_time.")
    gen = generate(backend, prompt, grammar, "hard", max_new_tokens=24, logprobs=True)
    assert len(gen.ids) == len(gen.logprobs) == len(gen.forced)
    assert all(lp <= 0 and math.isfinite(lp) for lp in gen.logprobs)
    assert gen.overridden == sum(gen.forced)


def test_turn_grammar_holds_the_system_prompts_rules_and_the_calls_made(tok):
    from bslm.models.engine import turn_grammar
    from bslm.models.grammar import Matcher
    from bslm.models.tools import ToolSpec

    tools = [ToolSpec("get_time", None, {"type": "object", "properties": {}})]
    eot, call = tok.sym("eot"), tok.sym("call")
    rules = "Always use get_time."
    assert eot not in Matcher(turn_grammar(tok, tools, rules)).allowed().ids
    assert eot in Matcher(turn_grammar(tok, tools, rules, called={"get_time"})).allowed().ids
    assert call not in Matcher(turn_grammar(tok, tools, "Never call get_time.")).allowed().ids
    assert call not in Matcher(turn_grammar(tok, tools, answer=True)).allowed().ids
    assert call in Matcher(turn_grammar(tok, tools)).allowed().ids
