"""The tool grammar: accept/refuse tables, random walks that must yield valid calls, agreement
with jsonschema on random schemas and values, and masked decoding on the tiny model."""

import random

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bslm.models.grammar import Grammar, Matcher
from bslm.models.language import Sym, Text, call_items
from bslm.models.parser import parse_output
from bslm.models.tools import ToolCall, ToolSpec

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        "days": {"type": "integer"},
        "scores": {"type": "array", "items": {"type": "number"}, "maxItems": 3},
        "where": {
            "type": "object",
            "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
            "required": ["lat", "lon"],
        },
        "flag": {"type": "boolean"},
        "maybe": {"type": ["string", "null"]},
        "meta": {"type": "object"},
    },
    "required": ["city"],
}
REFS = {
    "type": "object",
    "$defs": {
        "Point": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
    },
    "properties": {
        "p": {"$ref": "#/$defs/Point"},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string", "enum": ["all"]}]},
        "level": {"const": 3},
        "pair": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "count": {"type": "integer", "minimum": 1, "maximum": 12},
        "price": {"type": "number", "minimum": 0},
    },
    "required": ["p"],
}
CLOCK = {
    "type": "object",
    "properties": {
        "at": {"type": "string", "pattern": r"^\d{1,2}:\d{2}$"},
        "code": {"type": "string", "pattern": "[A-Z]{3}"},  # unanchored: contains one
        "day": {"type": "string", "format": "date"},
    },
    "required": ["at"],
}
TOOLS = [
    ToolSpec("get_weather", "Weather for a city", WEATHER),
    ToolSpec("clock", "patterns", CLOCK),
    ToolSpec("get_weather_alerts", "Alerts", {"type": "object", "properties": {}}),
    ToolSpec("refs", "refs and unions", REFS),
    ToolSpec("ping", "no schema at all", None),
]


def ids(tok, items):
    return tok.encode(items).ids


def call_ids(tok, name, args, close=True):
    items = call_items(ToolCall(name, args))
    return ids(tok, items + ([Sym("eot")] if close else []))


def accepts(g, seq):
    return Matcher(g).accepts(seq)


@pytest.fixture(scope="module")
def grammar(tok):
    return Grammar(tok, TOOLS)


ACCEPT = [
    ("get_weather", {"city": "Paris"}),
    ("get_weather", {"unit": "fahrenheit", "city": ""}),
    ("get_weather", {"city": "Oslo", "days": -3, "scores": [1.5, 2, -0.25e-7]}),
    ("get_weather", {"city": "Rome", "where": {"lon": 12.5, "lat": 41.9}, "flag": False}),
    ("get_weather", {"city": "Rome", "maybe": None, "meta": {"anything": [1, {"x": "y"}]}}),
    ("get_weather", {"city": "Rome", "scores": []}),
    ("get_weather_alerts", {}),
    ("refs", {"p": {"x": 0}, "either": 7, "level": 3, "pair": ["a", "b", "c"]}),
    ("refs", {"p": {"x": 10}, "either": "all"}),
    ("refs", {"p": {"x": 1}, "count": 1, "price": 0}),
    ("refs", {"p": {"x": 1}, "count": 12, "price": 2.5e-3}),
    ("ping", {}),
    ("clock", {"at": "9:05"}),
    ("clock", {"at": "12:30", "code": "CET"}),
    ("clock", {"at": "00:00", "code": "in UTC today", "day": "2026-12-02"}),
]
REFUSE = [
    ("get_wether", {"city": "Paris"}),  # unknown tool
    ("get_weather", {}),  # required missing
    ("get_weather", {"city": "Paris", "country": "FR"}),  # unknown parameter
    ("get_weather", {"city": 5}),  # wrong type
    ("get_weather", {"city": "P", "unit": "kelvin"}),  # not in the enum
    ("get_weather", {"city": "P", "days": 2.5}),  # integer as a float
    ("get_weather", {"city": "P", "days": "2"}),  # integer as a string
    ("get_weather", {"city": "P", "scores": [1, 2, 3, 4]}),  # maxItems
    ("get_weather", {"city": "P", "scores": ["1"]}),  # item type
    ("get_weather", {"city": "P", "where": {"lat": 1}}),  # nested required
    ("get_weather", {"city": "P", "where": {"lat": 1, "lon": 2, "alt": 3}}),  # nested unknown
    ("get_weather", {"city": "P", "flag": "yes"}),
    ("get_weather", {"city": "P", "maybe": 3}),
    ("get_weather_alerts", {"city": "P"}),  # no parameters at all
    ("refs", {"p": {"x": "0"}}),  # through $ref
    ("refs", {"p": {"x": 1}, "either": "some"}),  # anyOf: neither branch
    ("refs", {"p": {"x": 1}, "level": 4}),  # const
    ("refs", {"p": {"x": 1}, "pair": ["a"]}),  # minItems
    ("ping", {"x": 1}),
    ("refs", {"p": {"x": 1}, "count": 0}),  # below the range
    ("refs", {"p": {"x": 1}, "count": 13}),  # above it
    ("refs", {"p": {"x": 1}, "price": -1}),  # minimum 0
    ("clock", {"at": "2026-03-12"}),  # not the pattern
    ("clock", {"at": "12:3"}),  # a prefix of it only
    ("clock", {"at": "123:45"}),  # anchored at the start
    ("clock", {"at": "12:30 "}),  # and at the end
    ("clock", {"at": "1:00", "code": "cet"}),  # no three capitals anywhere
    ("clock", {"at": "1:00", "day": "tomorrow"}),  # not a date
    ("clock", {"at": "1:00", "day": "2026-13-02"}),  # no 13th month
]


@pytest.mark.parametrize("name,args", ACCEPT)
def test_valid_calls_are_accepted(tok, grammar, name, args):
    assert accepts(grammar, call_ids(tok, name, args))


@pytest.mark.parametrize("name,args", REFUSE)
def test_invalid_calls_are_refused(tok, grammar, name, args):
    assert not accepts(grammar, call_ids(tok, name, args))


def test_turn_structure(tok, grammar):
    call = call_items(ToolCall("get_weather", {"city": "Paris"}))
    two = call + call_items(ToolCall("refs", {"p": {"x": 1}}))
    assert accepts(grammar, ids(tok, [Text("Hello there."), Sym("eot")]))
    assert accepts(
        grammar, ids(tok, [Sym("think"), Text("need weather"), Sym("end"), *two, Sym("eot")])
    )
    assert accepts(grammar, ids(tok, [Text("Let me check."), *call, Sym("eot")]))
    # a parameter given twice
    twice = call[:-1] + call[2:]
    assert not accepts(grammar, ids(tok, [*twice, Sym("eot")]))
    # structure where it does not belong
    assert not accepts(grammar, ids(tok, [Sym("arg"), Sym("eot")]))
    assert not accepts(grammar, ids(tok, [*call[:-1], Sym("eot")]))
    # the base's own control tokens are not text
    m = Matcher(grammar)
    special = [i for i in tok.base.all_special_ids if i < tok.offset]
    assert special and not any(m.g.allows(m.allowed(), i) for i in special)


def test_names_that_prefix_each_other(tok):
    """``get_weather`` spells as a prefix of ``get_weatherX``: both stay reachable."""
    g = Grammar(tok, [*TOOLS, ToolSpec("get_weatherX", None, {"type": "object", "properties": {}})])
    short, long = g.name_ids("get_weather"), g.name_ids("get_weatherX")
    assert long[: len(short)] == short
    m = Matcher(g)
    for t in ids(tok, [Sym("call")]) + short:
        assert m.advance(t)
    assert m.allowed().ids == {tok.sym("arg"), long[len(short)]}
    assert accepts(g, call_ids(tok, "get_weatherX", {}))
    assert accepts(g, call_ids(tok, "get_weather", {"city": "x"}))


def test_forbid_and_force(tok):
    g = Grammar(tok, TOOLS, forbid={"get_weather"})
    assert not accepts(g, call_ids(tok, "get_weather", {"city": "P"}))
    assert accepts(g, call_ids(tok, "ping", {}))
    g = Grammar(tok, TOOLS, force="ping")
    assert not accepts(g, ids(tok, [Text("no"), Sym("eot")]))  # the turn must call ping
    assert not accepts(g, call_ids(tok, "get_weather", {"city": "P"}))
    assert accepts(g, ids(tok, [Text("ok"), *call_items(ToolCall("ping", {})), Sym("eot")]))
    with pytest.raises(ValueError, match="not available"):
        Grammar(tok, TOOLS, force="nope")


def test_no_tools_means_no_calls(tok):
    g = Grammar(tok, [])
    assert not accepts(g, call_ids(tok, "ping", {}))
    assert accepts(g, ids(tok, [Text("just text"), Sym("eot")]))


_SPLIT: dict = {}


def listed(g, a, rng):
    """The ids ``a`` lists, with at most four of its text tokens (a patterned string lists
    thousands: a walk would never leave it)."""
    split = _SPLIT.get(a.ids)
    if split is None:
        ids = sorted(a.ids)
        split = _SPLIT[a.ids] = (
            [i for i in ids if not g.is_text(i)],
            [i for i in ids if g.is_text(i)],
        )
    other, text = split
    return other + rng.sample(text, min(4, len(text)))


def random_walk(g, rng, text_ids, max_len=400, visit=None):
    """Choose uniformly among allowed tokens (text rarely) until the turn ends; ``visit(m, a,
    seq)`` sees the matcher and what it allows before each choice."""
    m = Matcher(g)
    seq = []
    while not m.finished and len(seq) < max_len:
        a = m.allowed()
        if visit is not None:
            visit(m, a, seq)
        choices = listed(g, a, rng)
        if a.names:
            choices += rng.sample(range(g.name_lo, g.name_hi), 3)
        if a.text and (not choices or rng.random() < 0.3):
            choices = choices + [rng.choice(text_ids)] * 4
        t = rng.choice(choices)
        assert m.advance(t), "an allowed token was refused"
        seq.append(t)
    return seq, m.finished


def test_random_walks_yield_valid_calls(tok, grammar):
    """Soundness: whatever the mask lets through parses, names a known tool and validates."""
    rng = random.Random(0)
    text_ids = tok.encode_text("Paris is nice today, 12 degrees or so.")
    by_name = {t.name: t for t in TOOLS}
    finished = calls = 0
    for _ in range(300):
        seq, done = random_walk(grammar, rng, text_ids)
        if not done:
            continue
        finished += 1
        out = parse_output(tok.decode(seq))
        assert out.error is None and out.ended, out.error
        for c in out.calls:
            calls += 1
            schema = by_name[c.name].parameters
            if schema is None:
                assert c.arguments == {}
            else:
                jsonschema.validate(c.arguments, schema)
                assert set(c.arguments) <= set(schema["properties"])
    assert finished > 200 and calls > 100


def test_a_text_token_where_text_is_free_is_decided_by_the_frames_that_loop_on_text(tok, grammar):
    """Matcher.advance's shortcut for text tokens (the bulk of a turn) gives the stacks that
    asking every frame gives, and the frames that allow text are exactly those that loop on it."""
    rng = random.Random(1)
    text_ids = tok.encode_text("Paris is nice today, 12 degrees or so.")
    checked = 0
    for _ in range(150):
        m = Matcher(grammar)
        while not m.finished and checked < 20_000:
            a = m.allowed()
            for stack in m.stacks:
                for frame in reversed(stack):
                    assert frame.allowed(grammar).text == frame.text_loops, frame
                    if not frame.done:
                        break
            if a.text:
                for t in text_ids:
                    if t not in a.ids:
                        assert m._on_text == m._step(t)
                        checked += 1
            choices = listed(grammar, a, rng) + ([rng.choice(text_ids)] * 3 if a.text else [])
            if a.names:
                choices += rng.sample(range(grammar.name_lo, grammar.name_hi), 3)
            assert m.advance(rng.choice(choices))
    assert checked > 1000


def test_advance_takes_exactly_the_tokens_allowed_lists(tok, grammar):
    """The decoder tries the model's own token with ``advance`` before it works out what is
    allowed (models/engine.py): that shortcut is sound because ``advance`` takes a token exactly
    when ``allowed()`` admits it, at every point of random turns, for tokens of every kind."""
    rng, probes = random.Random(2), random.Random(3)
    text_ids = tok.encode_text("Paris is nice today, 12 degrees or so.")
    vocab = len(tok)
    counts = {"checked": 0, "refused": 0}

    def probe(m, a, seq):
        ids = listed(grammar, a, probes) + probes.sample(range(vocab), 12)
        ids += probes.sample(range(grammar.text_hi, vocab), 12) + [probes.choice(text_ids)]
        for t in ids:
            took = m.fork().advance(t)
            assert took == grammar.allows(a, t), (seq, t)
            counts["checked"] += 1
            counts["refused"] += not took

    for _ in range(60):
        random_walk(grammar, rng, text_ids, max_len=300, visit=probe)
    checked, refused = counts["checked"], counts["refused"]
    assert checked > 5000 and refused > 1000


# --- agreement with jsonschema on random schemas ---------------------------------------------

KEYS = st.sampled_from(["a", "b", "city", "count", "x_y", "Name"])
LEAF_TYPES = ["string", "number", "integer", "boolean", "null"]


def schema_strategy():
    leaf = st.one_of(
        st.builds(lambda t: {"type": t}, st.sampled_from(LEAF_TYPES)),
        st.builds(
            lambda ts: {"type": ts},
            st.lists(st.sampled_from(LEAF_TYPES), min_size=2, max_size=3, unique=True),
        ),
        st.builds(
            lambda vs: {"type": "string", "enum": vs},
            st.lists(st.sampled_from(["a", "ab", "b", "no"]), min_size=1, unique=True),
        ),
        st.builds(
            lambda vs: {"enum": vs},
            st.lists(st.sampled_from([1, 2, True, None, "x"]), min_size=1, unique=True),
        ),
    )

    def grow(children):
        obj = st.builds(
            lambda props, req_mask: {
                "type": "object",
                "properties": props,
                "required": [k for k, r in zip(props, req_mask, strict=False) if r],
                "additionalProperties": False,
            },
            st.dictionaries(KEYS, children, max_size=3),
            st.lists(st.booleans(), min_size=3, max_size=3),
        )
        arr = st.builds(
            lambda items, lo, hi: {
                "type": "array",
                "items": items,
                "minItems": lo,
                **({"maxItems": lo + hi} if hi is not None else {}),
            },
            children,
            st.integers(0, 1),
            st.none() | st.integers(0, 2),
        )
        union = st.builds(lambda subs: {"anyOf": subs}, st.lists(children, min_size=2, max_size=3))
        return obj | arr | union

    return st.recursive(leaf, grow, max_leaves=6)


VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.sampled_from([0.5, -2.25, 1e-9])
    | st.sampled_from(["a", "ab", "b", "x", "no", "Paris"]),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(KEYS, c, max_size=3),
    max_leaves=6,
)

# integers are written as integers: 2.0 is a number, not an integer (the grammar's rule)
_STRICT = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _, x: isinstance(x, int) and not isinstance(x, bool)
    ),
)


def _enum_exact(schema, value) -> bool:
    """jsonschema's enum treats 1 and 1.0 (and True/1 inside lists) as equal; the grammar
    compares spellings. Values where that matters are skipped."""
    if isinstance(value, float):
        return not value.is_integer()
    if isinstance(value, list | tuple):
        return all(_enum_exact(schema, v) for v in value)
    if isinstance(value, dict):
        return all(_enum_exact(schema, v) for v in value.values())
    return True


@given(schema=schema_strategy(), value=VALUES)
def test_grammar_agrees_with_jsonschema(tok, schema, value):
    spec = ToolSpec(
        "probe", None, {"type": "object", "properties": {"v": schema}, "required": ["v"]}
    )
    g = Grammar(tok, [spec])
    valid = _STRICT(spec.parameters).is_valid({"v": value})
    if not _enum_exact(schema, value):
        return
    assert accepts(g, call_ids(tok, "probe", {"v": value})) == valid


@given(
    text=st.text(alphabet="0123456789:aZ -", max_size=8),
    pattern=st.sampled_from([r"^\d{1,2}:\d{2}$", r"\d:", r"^[a-z]+$", r"Z$", r"^(a|Z)+-?\d*$"]),
)
def test_a_string_pattern_admits_what_the_regular_expression_finds(tok, text, pattern):
    """A value of a patterned string is accepted exactly when ``re.search`` finds the
    pattern in it (JSON Schema's semantics)."""
    import re

    spec = ToolSpec(
        "probe",
        None,
        {"type": "object", "properties": {"v": {"type": "string", "pattern": pattern}}},
    )
    found = re.search(pattern, text) is not None
    assert accepts(Grammar(tok, [spec]), call_ids(tok, "probe", {"v": text})) == found


def test_a_pattern_the_automaton_cannot_read_leaves_the_string_free(tok):
    spec = ToolSpec(
        "odd",
        None,
        {"type": "object", "properties": {"v": {"type": "string", "pattern": r"^(a)\1$"}}},
    )
    assert accepts(Grammar(tok, [spec]), call_ids(tok, "odd", {"v": "anything at all"}))


def test_a_pattern_whose_automaton_would_blow_up_leaves_the_string_free(tok):
    """``a.{40}$`` (an 'a' 40 characters before the end) takes 2^40 states as an automaton:
    a hostile server's schema must not hang the runtime."""
    import interegular.fsm

    crawl = interegular.fsm.crawl
    spec = ToolSpec(
        "odd",
        None,
        {"type": "object", "properties": {"v": {"type": "string", "pattern": "a.{40}$"}}},
    )
    assert accepts(Grammar(tok, [spec]), call_ids(tok, "odd", {"v": "no a here"}))
    assert interegular.fsm.crawl is crawl  # the bound was for this build only


def test_inside_a_patterned_string_only_the_tokens_that_keep_a_match_are_allowed(tok):
    g = Grammar(tok, TOOLS)
    m = Matcher(g)
    prefix = ids(tok, call_items(ToolCall("clock", {"at": "1"})))[:-1]  # ... ⟨s⟩ "1", no ⟨end⟩
    for t in prefix:
        assert m.advance(t)
    a = m.allowed()
    texts = {tok.decode_text([i]) for i in a.ids if g.is_text(i)}
    digits = [str(d) for d in range(10)]
    fits = {
        *digits,
        ":",
        *(d + ":" for d in digits),
        *(d + ":" + e for d in digits for e in digits),
    }
    assert not a.text and texts and texts <= fits
    assert g.sym["end"] not in a.ids and g.sym["arg"] not in a.ids  # "1" does not match yet
    assert m.in_string


# --- masked decoding on the tiny model --------------------------------------------------------


def test_hard_mask_decoding_always_parses(tiny):
    from bslm.models.chat import encode_chat
    from bslm.models.engine import generate
    from bslm.models.torch_backend import TorchBackend

    model, tok = tiny
    backend = TorchBackend(model, tok)
    g = Grammar(tok, TOOLS, force="get_weather")
    prompt = encode_chat(
        tok, [{"role": "user", "content": "weather?"}], TOOLS, add_generation_prompt=True
    ).ids
    made = 0
    for seed in range(6):
        gen = generate(backend, prompt, g, "hard", max_new_tokens=40, temperature=1.0, seed=seed)
        out = parse_output(tok.decode(gen.ids))
        assert out.error is None, out.error
        made += len(out.calls)
    # unmasked, the random model writes garbage structure
    errors = 0
    for seed in range(6):
        gen = generate(backend, prompt, g, "off", max_new_tokens=40, temperature=1.0, seed=seed)
        errors += parse_output(tok.decode(gen.ids)).error is not None
    assert errors > 0
    # greedy hard and soft runs are deterministic and reuse the cache
    a = generate(backend, prompt, g, "hard", max_new_tokens=20)
    b = generate(backend, prompt, g, "hard", max_new_tokens=20)
    assert a.ids == b.ids
    s = generate(backend, prompt, g, "soft", max_new_tokens=20, bias=1e9)
    assert s.ids == a.ids  # an infinite bias is the hard mask
