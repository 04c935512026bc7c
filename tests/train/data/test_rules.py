"""System-prompt rules: accept/refuse tables for every kind, every phrasing of every kind, the
language heuristic, the dict form and which rules go together."""

import itertools
from random import Random

import pytest

from bslm.models.engine import tool_rules
from bslm.models.tools import ToolCall, ToolSpec
from bslm.train.data.rules import (
    CALL_KINDS,
    CONFLICTS,
    GROUPS,
    KINDS,
    PHRASINGS,
    STOPWORDS,
    Rule,
    check_all,
    compatible,
    detect_language,
    sentence_count,
)

WEATHER = [ToolCall("get_weather", {"city": "Paris"})]


CASES = [
    (
        Rule("language", {"language": "French"}),
        "Il fait beau à Paris et la température est de 18 degrés.",
        [],
        True,
    ),
    (
        Rule("language", {"language": "French"}),
        "It is sunny in Paris and the temperature is 18.",
        [],
        False,
    ),
    (
        Rule("language", {"language": "Spanish"}),
        "Aquí está el resultado para usted: 18 grados.",
        [],
        True,
    ),
    (
        Rule("language", {"language": "Spanish"}),
        "Voici le résultat pour vous : 18 degrés.",
        [],
        False,
    ),
    (
        Rule("language", {"language": "German"}),
        "Hier ist das Ergebnis für dich: 18 Grad und sonnig.",
        [],
        True,
    ),
    (Rule("language", {"language": "German"}), "", [], False),
    (Rule("max_words", {"n": 5}), "Paris is sunny today.", [], True),
    (Rule("max_words", {"n": 3}), "Paris is sunny today.", [], False),
    (Rule("max_words", {"n": 3}), "   ", [], False),
    (Rule("one_sentence"), "It is 18 °C and sunny in Paris.", [], True),
    (Rule("one_sentence"), "The total is 3.5 km, see a.b@x.com for details!", [], True),
    (Rule("one_sentence"), "It is sunny. It is 18 °C.", [], False),
    (Rule("one_sentence"), "Sunny\nwarm", [], False),
    (Rule("lowercase"), "it is sunny in paris.", [], True),
    (Rule("lowercase"), "It is sunny in Paris.", [], False),
    (Rule("lowercase"), "42", [], False),
    (Rule("bullets"), "- temperature: 18\n- condition: sunny", [], True),
    (Rule("bullets"), "* one\n• two", [], True),
    (Rule("bullets"), "Here it is:\n- temperature: 18", [], False),
    (Rule("bullets"), "", [], False),
    (Rule("json"), '{"temperature": 18, "condition": "sunny"}', [], True),
    (Rule("json"), '  {"answer": "ok"}  ', [], True),
    (Rule("json"), "[1, 2]", [], False),
    (Rule("json"), 'The answer is {"a": 1}', [], False),
    (Rule("must_use", {"tool": "get_weather"}), "It is sunny.", WEATHER, True),
    (Rule("must_use", {"tool": "get_weather"}), "It is sunny.", [], False),
    (
        Rule("must_use", {"tool": "get_weather"}),
        "",
        [{"type": "function", "function": {"name": "get_weather"}}],
        True,
    ),
    (Rule("must_not_use", {"tool": "get_weather"}), "I can't.", [], True),
    (Rule("must_not_use", {"tool": "get_weather"}), "It is sunny.", WEATHER, False),
    (Rule("prefix", {"prefix": "Answer:"}), "Answer: sunny.", [], True),
    (Rule("prefix", {"prefix": "Answer:"}), "  Answer: sunny.", [], True),
    (Rule("prefix", {"prefix": "Answer:"}), "Sunny. Answer: sunny.", [], False),
    (Rule("uppercase"), "IT IS SUNNY IN PARIS, 18 °C.", [], True),
    (Rule("uppercase"), "IT IS SUNNY IN Paris.", [], False),
    (Rule("uppercase"), "18", [], False),
    (Rule("numbered"), "1. temperature: 18\n2. condition: sunny", [], True),
    (Rule("numbered"), "  1) one\n\n2) two  ", [], True),
    (Rule("numbered"), "1. one\n3. three", [], False),
    (Rule("numbered"), "Here it is:\n1. temperature: 18", [], False),
    (Rule("numbered"), "- one\n- two", [], False),
    (Rule("numbered"), "", [], False),
    (Rule("max_sentences", {"n": 2}), "It is sunny. It is 18 °C.", [], True),
    (Rule("max_sentences", {"n": 2}), "It costs 3.5 euros, see a.b@x.com!", [], True),
    (Rule("max_sentences", {"n": 2}), "It is sunny. It is warm. Go out!", [], False),
    (Rule("max_sentences", {"n": 2}), "one\ntwo\nthree", [], False),
    (Rule("max_sentences", {"n": 2}), " ", [], False),
    (Rule("max_chars", {"n": 20}), "  Sunny, 18 °C.  ", [], True),
    (Rule("max_chars", {"n": 10}), "Sunny, 18 °C.", [], False),
    (Rule("max_chars", {"n": 10}), "", [], False),
    (Rule("sign_off", {"text": "Cheers!"}), "It is sunny.\nCheers!", [], True),
    (Rule("sign_off", {"text": "Cheers!"}), "It is sunny. Cheers! ", [], True),
    (Rule("sign_off", {"text": "Cheers!"}), "Cheers! It is sunny.", [], False),
    (Rule("sign_off", {"text": "Cheers!"}), "Cheers!", [], False),  # nothing signed
    (Rule("mention", {"phrase": "help.acme.com"}), "Sunny. More: HELP.ACME.COM.", [], True),
    (Rule("mention", {"phrase": "help.acme.com"}), "It is sunny.", [], False),
    (Rule("follow_up"), "It is sunny. Anything else?", [], True),
    (Rule("follow_up"), "Il fait beau. Autre chose ?  ", [], True),
    (Rule("follow_up"), "Is it sunny? Yes.", [], False),
    (Rule("max_calls", {"n": 1}), "It is sunny.", WEATHER, True),
    (Rule("max_calls", {"n": 1}), "No call needed.", [], True),
    (Rule("max_calls", {"n": 1}), "Sunny in both.", WEATHER * 2, False),
    (
        Rule("max_calls", {"n": 2}),
        "",
        [{"type": "function", "function": {"name": "get_weather"}}] * 3,
        False,
    ),
]


@pytest.mark.parametrize("rule,answer,calls,ok", CASES)
def test_check(rule, answer, calls, ok):
    assert rule.check(answer, calls) is ok


PARAMS = {
    "language": "French",
    "n": 10,
    "tool": "get_weather",
    "prefix": "Answer:",
    "text": "Cheers!",
    "phrase": "help.acme.com",
}


def test_every_kind_is_checked_both_ways():
    for ok in (True, False):
        assert {rule.kind for rule, _, _, verdict in CASES if verdict is ok} == set(KINDS)
    assert set(KINDS) == set(GROUPS) == set(PHRASINGS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_phrasing_of_every_kind_renders(kind):
    rule = Rule(kind, PARAMS)
    assert Rule.from_dict(rule.to_dict()) == rule
    plain, named = rule.instructions(), rule.instructions("Nova")
    assert len(plain) >= 4 and len(named) > len(plain)  # polite, terse, strict, persona
    assert rule.instruction() == plain[0]
    assert len(set(named)) == len(named) == len(PHRASINGS[kind])
    for sentence in named:
        assert sentence.endswith(".") and "{" not in sentence and "None" not in sentence
        assert sentence[0].isupper() or sentence.startswith("{")
        needed = [str(v) for k, v in PARAMS.items() if "{" + k + "}" in "".join(PHRASINGS[kind])]
        assert all(v in sentence for v in needed), (sentence, needed)
    assert all("Nova" not in s for s in plain) and any("Nova" in s for s in named)
    rng = Random(0)
    drawn = {rule.instruction(rng, "Nova") for _ in range(200)}
    assert drawn == set(named)
    assert {rule.instruction(rng) for _ in range(200)} == set(plain)


def test_one_tool_call_is_singular():
    assert "at most one tool call per" in Rule("max_calls", {"n": 1}).instruction()
    assert "at most 3 tool calls per" in Rule("max_calls", {"n": 3}).instruction()


@pytest.mark.parametrize("kind", ["must_use", "must_not_use"])
def test_the_runtime_reads_every_phrasing_of_a_tool_rule(kind):
    """models/engine.py enforces tool rules it finds in the system prompt: every phrasing the
    generator writes must be one it finds."""
    tools = [ToolSpec("get_weather"), ToolSpec("get_time")]
    for sentence in Rule(kind, {"tool": "get_weather"}).instructions("Nova"):
        forbid, force = tool_rules(f"You are Nova. {sentence} Be nice.", tools)
        if kind == "must_use":
            assert (forbid, force) == (frozenset(), "get_weather"), sentence
        else:
            assert (forbid, force) == (frozenset({"get_weather"}), None), sentence


@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"must_use", "must_not_use"}))
def test_other_rules_say_nothing_the_runtime_reads_as_a_tool_rule(kind):
    tools = [ToolSpec(w) for w in ("no", "more", "than", "at", "the", "with", "get_weather")]
    for sentence in Rule(kind, PARAMS).instructions("Nova"):
        assert tool_rules(sentence, tools) == (frozenset(), None), sentence


@pytest.mark.parametrize(
    "text,n",
    [
        ("", 0),
        ("Sunny.", 1),
        ("It is 3.5 km away, see a.b@x.com!", 1),
        ("Sunny. Warm!  Go out?", 3),
        ("- one\n- two\n", 2),
        ("Hi!\n\nCheers!", 2),
    ],
)
def test_sentence_count(text, n):
    assert sentence_count(text) == n


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "shout"},
        {"kind": "max_words"},
        {"kind": "prefix", "params": {}},
        {"kind": "sign_off"},
        {"kind": "mention", "params": {"text": "help.acme.com"}},
        {"kind": "max_calls", "params": {}},
        {"kind": "max_sentences"},
        {"kind": "max_chars"},
        {"params": {}},
        "json",
    ],
)
def test_bad_rules_are_refused(data):
    with pytest.raises(ValueError):
        Rule.from_dict(data)


@pytest.mark.parametrize(
    "text,lang",
    [
        ("The weather is nice and you can go out.", "English"),
        ("Je ne peux pas le faire avec les outils dont je dispose.", "French"),
        ("Lo siento, pero no puedo hacer eso con las herramientas que tengo.", "Spanish"),
        ("Leider kann ich das mit meinen Werkzeugen nicht erledigen.", "German"),
        ("18", None),
        ("Paris Tokyo", None),
    ],
)
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_stopword_lists_are_disjoint():
    for a, b in itertools.combinations(STOPWORDS, 2):
        assert not STOPWORDS[a] & STOPWORDS[b], (a, b)


def test_compatible():
    assert compatible(["language", "max_words"])
    assert not compatible(["max_words", "one_sentence"])  # same group
    assert not compatible(["lowercase", "uppercase"])
    assert not compatible(["bullets", "numbered"])
    assert not compatible(["sign_off", "follow_up"])
    assert compatible(["uppercase", "follow_up", "max_calls"])
    assert compatible(["must_use", "max_calls"])
    for a, b in CONFLICTS:
        assert a in KINDS and b in KINDS
        assert not compatible([a, b]) and not compatible([b, a])


def test_call_kinds_need_no_text():
    """A turn that only calls has no text: the call rules judge it all the same."""
    for kind in CALL_KINDS:
        assert Rule(kind, {**PARAMS, "tool": "get_weather"}).check("", WEATHER) is (
            kind != "must_not_use"
        )
    for kind in set(KINDS) - CALL_KINDS:
        assert not Rule(kind, PARAMS).check("", WEATHER)


def test_old_records_still_load_and_check():
    """The rules of data written before the new kinds: same dicts, same verdicts."""
    old = [
        {"kind": "language", "params": {"language": "French"}},
        {"kind": "max_words", "params": {"n": 5}},
        {"kind": "one_sentence", "params": {}},
        {"kind": "lowercase", "params": {}},
        {"kind": "bullets", "params": {}},
        {"kind": "json", "params": {}},
        {"kind": "must_use", "params": {"tool": "get_weather"}},
        {"kind": "must_not_use", "params": {"tool": "get_time"}},
        {"kind": "prefix", "params": {"prefix": "Answer:"}},
    ]
    rules = [Rule.from_dict(d) for d in old]
    assert [r.to_dict() for r in rules] == old
    assert [r.instruction() for r in rules] == [
        "Always write your answers to the user in French.",
        "Keep every answer to at most 5 words.",
        "Answer in exactly one sentence.",
        "Write your answers entirely in lowercase letters.",
        "Format every answer as a bulleted list, one item per line starting with '- '.",
        "Your final answer must be a single valid JSON object and nothing else.",
        "Always use the tool get_weather when answering.",
        "Never call the tool get_time.",
        'Start every answer with "Answer:".',
    ]
    assert check_all(rules[:1], "Il fait beau et je suis là.", WEATHER)
    assert check_all(rules[6:8], "Sunny.", WEATHER)


def test_check_all():
    rules = [Rule("lowercase"), Rule("must_use", {"tool": "get_weather"})]
    assert check_all(rules, "sunny", WEATHER)
    assert not check_all(rules, "Sunny", WEATHER)
