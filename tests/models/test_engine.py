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


def test_a_prompt_decoded_again_starts_from_the_logits_it_had(tiny):
    import numpy as np

    from bslm.models.torch_backend import TorchBackend

    model, tok = tiny
    backend = TorchBackend(model, tok)
    evaluated = []
    eval_ids = backend._eval
    backend._eval = lambda ids: evaluated.append(len(ids)) or eval_ids(ids)
    prompt = tok.encode_text("The weather in Paris is")
    first = backend.prime(prompt)
    backend.eval([5, 6, 7])  # decoded from it
    again = backend.prime(prompt)
    assert evaluated == [len(prompt), 3] and np.array_equal(first, again)
    again[0] += 1.0  # a copy: the kept logits stay as they were
    assert np.array_equal(first, backend.prime(prompt))
    backend.rewind(len(prompt) - 2)  # the prompt is no longer all cached: evaluated again
    assert np.allclose(backend.prime(prompt), first, atol=1e-4) and evaluated[-1] == 2
    backend.prime(prompt + [9])  # another prompt: its new token evaluated
    assert evaluated[-1] == 1 and backend.tokens == prompt + [9]


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


def test_hard_greedy_decoding_tries_the_models_token_first_and_decodes_the_same(tok):
    """At temperature 0 under a hard mask the decoder asks the grammar to take the model's own
    token and works out what is allowed only when it refuses (no logprobs wanted); the turns
    are those the full mask at every token gives (the path logprobs=True takes), over logits
    that often put a tool token or a text token where the grammar refuses it."""
    import numpy as np

    from bslm.models.engine import Backend, generate, turn_grammar
    from bslm.models.grammar import Matcher
    from bslm.models.tools import ToolSpec

    class Noisy(Backend):  # seeded by what it was fed: the same logits for the same tokens
        n_vocab = len(tok)

        def _eval(self, ids):
            rng = np.random.default_rng(hash(tuple(self.tokens + ids)) % 2**32)
            logits = rng.normal(size=len(tok)).astype(np.float32)
            if rng.random() < 0.6:  # a tool token (a symbol, a digit, a name piece) on top
                logits[rng.integers(tok.offset, len(tok))] += 8.0
            return logits

        def _rewind(self, n):
            pass

    tools = [
        ToolSpec("get_time", None, {"type": "object", "properties": {"zone": {"type": "string"}}}),
        ToolSpec(
            "add",
            None,
            {"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"]},
        ),  # fmt: skip
    ]
    forced = kept = 0
    for i, rule in enumerate(["Always use get_time.", "Always use add.", "", "", ""]):
        prompt = tok.encode_text(f"request {i}")
        grammar = turn_grammar(tok, tools, rule)
        fast = generate(Noisy(tok, 512), prompt, grammar, "hard", max_new_tokens=80)
        full = generate(Noisy(tok, 512), prompt, grammar, "hard", max_new_tokens=80, logprobs=True)
        assert fast.ids == full.ids and fast.forced == full.forced
        m = Matcher(grammar)
        assert all(m.advance(t) for t in fast.ids)
        forced, kept = forced + sum(fast.forced), kept + len(fast.ids) - sum(fast.forced)
    assert forced > 20 and kept > 20  # both branches ran, many times


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


def _weather(tok):
    from bslm.models.chat import encode_chat
    from bslm.models.tools import ToolSpec

    tools = [
        ToolSpec(
            "get_weather",
            None,
            {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        )
    ]
    messages = [{"role": "user", "content": "Weather in Reykjavik, please."}]
    return tools, messages, encode_chat(tok, messages, tools, True).ids


def test_a_call_threshold_opens_a_call_by_its_probability_alone(tiny):
    """At the first token a threshold takes the call where p >= t and the rest of the turn as
    the model decodes it: so each threshold's outcome is one of the two extreme passes, which
    is what calibration (train/eval/calibrate.py) relies on."""
    from bslm.models.engine import Help, generate, turn_grammar
    from bslm.models.torch_backend import TorchBackend

    model, tok = tiny
    tools, _, prompt = _weather(tok)
    backend = TorchBackend(model, tok)
    grammar = turn_grammar(tok, tools)

    def run(t):
        return generate(backend, prompt, grammar, "hard", max_new_tokens=12, help=Help(t))

    always, never, plain = (
        run(0.0),
        run(2.0),
        generate(backend, prompt, grammar, "hard", max_new_tokens=12),
    )
    assert always.ids[0] == tok.sym("call") != never.ids[0]
    assert 0.0 < always.call_p < 1.0
    assert never.call_p == pytest.approx(always.call_p, rel=1e-4)  # (a cached prefix)
    assert plain.call_p is None
    own = always if always.call_own else never
    assert own.ids == plain.ids  # no threshold: the model's own choice, as without help
    for t in (always.call_p * 0.99, always.call_p * 1.01):
        assert run(t).ids == (always.ids if always.call_p >= t else never.ids)
    # no call can open: the threshold has nothing to decide
    answer = turn_grammar(tok, tools, answer=True)
    quiet = generate(backend, prompt, answer, "hard", max_new_tokens=4, help=Help(0.0))
    assert quiet.call_p is None and tok.sym("call") not in quiet.ids


def test_a_copy_bias_draws_string_values_from_the_conversation(tiny):
    from bslm.models.engine import Help, generate, turn_grammar
    from bslm.models.grammar import Matcher
    from bslm.models.torch_backend import TorchBackend

    model, tok = tiny
    tools, messages, prompt = _weather(tok)
    help = Help(0.0, copy_bias=1e4).for_conversation(tok, messages)
    said = set(tok.encode_text(" Reykjavik")) | set(tok.encode_text("Reykjavik"))
    assert said <= set(help.copy_ids) and all(i < tok.offset for i in help.copy_ids)
    assert Help(0.5).for_conversation(tok, messages).copy_ids == ()  # no bias: no ids
    grammar = turn_grammar(tok, tools)
    gen = generate(
        backend := TorchBackend(model, tok), prompt, grammar, "hard", max_new_tokens=24, help=help
    )
    m, inside = Matcher(grammar), []
    for t in gen.ids:
        if m.in_string and t < tok.offset:
            inside.append(t)
        assert m.advance(t)
    assert inside and set(inside) <= set(help.copy_ids)
    plain = generate(backend, prompt, grammar, "hard", max_new_tokens=24, help=Help(0.0))
    assert plain.ids != gen.ids


def test_the_call_threshold_decides_after_a_thought_the_turn_opens_with(tok):
    """A model that thinks first and then calls: the threshold decides after the thought (at
    the turn's first token it would only have pushed the call past the thought)."""
    import numpy as np

    from bslm.models.engine import Backend, Help, generate, turn_grammar
    from bslm.models.tools import ToolSpec

    think, end, call, eot = (tok.sym(s) for s in ("think", "end", "call", "eot"))
    word = tok.encode_text(" hmm")[0]
    after = {think: word, word: end, end: call}  # think, a word, end; then a call

    class Scripted(Backend):
        n_vocab = len(tok)

        def _eval(self, ids):
            logits = np.zeros(len(tok), dtype=np.float32)
            logits[after.get(ids[-1], think)] = 10.0
            logits[eot] = 9.0  # the runner-up once the thought is over
            return logits

        def _rewind(self, n):
            pass

    tools = [ToolSpec("get_time", None, {"type": "object", "properties": {}})]
    prompt = tok.encode_text("What time is it?")
    grammar = turn_grammar(tok, tools)
    own = generate(Scripted(tok, 64), prompt, grammar, "hard", max_new_tokens=6)
    assert own.ids[:4] == [think, word, end, call]
    never = generate(Scripted(tok, 64), prompt, grammar, "hard", max_new_tokens=6, help=Help(2.0))
    assert never.ids == [think, word, end, eot] and 0 < never.call_p < 1 and never.call_own
    p = never.call_p  # decided after the thought: the thought itself is the model's own
    for t, then in ((p * 0.99, call), (p * 1.01, eot)):
        helped = generate(
            Scripted(tok, 64), prompt, grammar, "hard", max_new_tokens=6, help=Help(t)
        )
        assert helped.ids[:4] == [think, word, end, then] and helped.call_p == p
