"""System-prompt rules: accept/refuse tables for every kind, the language heuristic, the dict
form and which rules go together."""

import itertools

import pytest

from bslm.models.tools import ToolCall
from bslm.train.data.rules import (
    CONFLICTS,
    KINDS,
    STOPWORDS,
    Rule,
    check_all,
    compatible,
    detect_language,
)

WEATHER = [ToolCall("get_weather", {"city": "Paris"})]


@pytest.mark.parametrize(
    "rule,answer,calls,ok",
    [
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
    ],
)
def test_check(rule, answer, calls, ok):
    assert rule.check(answer, calls) is ok


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_an_instruction(kind):
    params = {"language": "French", "n": 10, "tool": "get_weather", "prefix": "Answer:"}
    rule = Rule(kind, params)
    assert rule.instruction().endswith(".")
    assert Rule.from_dict(rule.to_dict()) == rule


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "shout"},
        {"kind": "max_words"},
        {"kind": "prefix", "params": {}},
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
    for a, b in CONFLICTS:
        assert not compatible([a, b]) and not compatible([b, a])


def test_check_all():
    rules = [Rule("lowercase"), Rule("must_use", {"tool": "get_weather"})]
    assert check_all(rules, "sunny", WEATHER)
    assert not check_all(rules, "Sunny", WEATHER)
