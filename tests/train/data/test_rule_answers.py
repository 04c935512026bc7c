"""Gold answers obey the system-prompt rules: every pair of rules ``compatible`` allows shapes
answers that pass both, every builder's drafts obey the rules they carry (over many seeds,
before ``make_example``'s safety net), every record does, and the prompts state the rules in
many phrasings, the same ones for the same seed."""

import itertools
from collections import Counter
from datetime import date, timedelta
from random import Random

import pytest

from bslm.train.data import answers, prompts
from bslm.train.data.answers import Style
from bslm.train.data.catalog import catalog, split_tools
from bslm.train.data.drafts import Context, Pool, Skip, finish_rules, say
from bslm.train.data.examples import BUILDERS, STAGE_KINDS
from bslm.train.data.phrasings import Phrasebook
from bslm.train.data.rules import (
    CALL_KINDS,
    KINDS,
    LANGUAGES,
    MENTIONS,
    PHRASINGS,
    PREFIXES,
    SIGN_OFFS,
    Rule,
    check_all,
    compatible,
)
from bslm.train.data.synthesis import DataConfig, answer_and_calls, make_example, pools

TEXT_KINDS = [k for k in KINDS if k not in CALL_KINDS]
# The heuristics of these two meet answers they cannot always see through (chitchat with two
# sentences, "St. John's", list items in English in a Spanish answer): make_example draws such
# a record again without the rule. Every other rule holds by construction.
HEURISTIC = {"one_sentence", "language"}
RESULTS = [
    {"temperature": 18, "condition": "sunny", "city": "Paris"},
    [{"id": "n1", "title": "Milk"}, {"id": "n2", "title": "Bread"}, {"id": "n3", "title": "Tea"}],
    {"id": "ord_12", "status": "shipped"},
]


def sample_rules(rng: Random, kinds: tuple[str, ...]) -> list[Rule]:
    params = {
        "language": {"language": rng.choice(LANGUAGES)},
        "prefix": {"prefix": rng.choice(PREFIXES)},
        "sign_off": {"text": rng.choice(SIGN_OFFS)},
        "mention": {"phrase": rng.choice(MENTIONS)},
        "max_words": {"n": 0},
        "max_sentences": {"n": 0},
        "max_chars": {"n": 0},
    }
    return [Rule(k, params.get(k, {})) for k in kinds]


def renders(style: Style, rng: Random) -> list[str]:
    """Every kind of text answer the builders write, in the style."""
    out = [answers.say_result(style, rng, [r], "get", "note") for r in RESULTS]
    out.append(answers.say_result(style, rng, RESULTS[:2]))
    out += [
        answers.say(style, rng, "ask", noun="city"),
        answers.say(style, rng, "none"),
        answers.say(style, rng, "forbidden", tool="get_weather"),
        answers.say(style, rng, "error", error="Quota exceeded for this month"),
    ]
    if style.language == "English":
        out.append(answers.say_small_talk(style, rng)[1])
    return out


COMBINATIONS = [(k,) for k in TEXT_KINDS] + [
    pair for pair in itertools.combinations(TEXT_KINDS, 2) if compatible(list(pair))
]


@pytest.mark.parametrize("kinds", COMBINATIONS, ids="+".join)
def test_compatible_rules_shape_answers_that_obey_both(kinds):
    for seed in range(12):
        rng = Random(f"{seed}:{kinds}")
        rules = sample_rules(rng, kinds)
        style = Style.of(rules)
        for text in renders(style, rng):
            done = finish_rules(rng, rules, [say(text)])
            assert check_all(done, text, []), (done, text)


def test_every_kind_combines_with_others():
    for kind in KINDS:
        assert sum(compatible([kind, other]) for other in KINDS if other != kind) >= 3, kind


@pytest.fixture(scope="module")
def drafts():
    """Drafts of every builder over many seeds, with every rule kind allowed."""
    train, _ = split_tools(catalog(0), 0.15, 0)
    pool, pb = Pool(train), Phrasebook(False, 0.06)
    out = []
    for seed in range(120):
        for stage, kinds in STAGE_KINDS.items():
            for kind in kinds:
                rng = Random(f"{seed}:{kind}")
                today = date(2025, 1, 1) + timedelta(rng.randrange(900))
                ctx = Context(rng, pool, pb, today, stage, set(KINDS), 0.5)
                try:
                    out.append(BUILDERS[kind](ctx))
                except Skip:
                    continue
    return out


def test_builders_make_gold_answers_obey_their_rules(drafts):
    seen = Counter()
    for d in drafts:
        answer, calls = answer_and_calls(d.messages)
        for rule in d.rules:
            seen[rule.kind] += 1
            if rule.kind not in HEURISTIC:
                assert rule.check(answer, calls), (d.kind, rule, answer)
            if rule.kind in ("max_words", "max_sentences", "max_chars", "max_calls"):
                assert rule.params["n"] > 0, (d.kind, rule)  # filled in from the gold
    assert set(seen) == set(KINDS)
    assert min(seen.values()) > 20, seen


def test_tool_rules_agree_with_the_gold_calls(drafts):
    for d in drafts:
        called = [c["function"]["name"] for m in d.messages for c in m.get("tool_calls") or []]
        offered = {t.name for t in d.tools}
        for rule in d.rules:
            if rule.kind == "must_use":
                assert rule.params["tool"] in called and rule.params["tool"] in offered
            if rule.kind == "must_not_use":
                assert rule.params["tool"] not in called and rule.params["tool"] in offered
            if rule.kind == "max_calls":
                assert len(called) <= rule.params["n"]


def test_every_text_rule_holds_for_every_gold_text(drafts):
    """'Every answer': earlier assistant texts of a conversation obey the text rules too."""
    for d in drafts:
        texts = [m["content"] for m in d.messages if m["role"] == "assistant" and m["content"]]
        for rule in d.rules:
            if rule.kind in HEURISTIC or rule.kind in CALL_KINDS:
                continue
            for text in texts:
                assert rule.check(text, []), (d.kind, rule, text)


@pytest.fixture(scope="module")
def records():
    """Records over many seeds, as ``bslm data generate`` makes them."""
    out = []
    for seed in range(8):
        cfg = DataConfig(seed=seed, progress=False)
        by_split = pools(cfg)
        for split in ("train", "test_seen", "test_unseen"):
            pb = Phrasebook(split == "test_seen", cfg.typo_rate)
            for stage in (1, 2, 3):
                for i in range(25 if stage == 3 else 8):
                    out.append(make_example(cfg, split, stage, i, by_split[split], pb))
    return out


def stated(rule: Rule, system: str) -> bool:
    return any(s in system for p in (None, *prompts.PERSONAS) for s in rule.instructions(p))


def test_records_obey_and_state_their_rules(records):
    ruled = [r for r in records if r["rules"]]
    assert len(ruled) > len(records) / 4
    for r in ruled:
        rules = [Rule.from_dict(d) for d in r["rules"]]
        assert check_all(rules, *answer_and_calls(r["messages"])), r["id"]
        assert all(stated(rule, r["messages"][0]["content"]) for rule in rules), r["id"]


def test_prompts_vary_the_phrasing(records):
    used: dict[str, set[int]] = {}  # kind -> indices into PHRASINGS[kind] seen in prompts
    for r in records:
        system = r["messages"][0]["content"]
        for rule in map(Rule.from_dict, r["rules"]):
            for persona in prompts.PERSONAS:  # with a persona, every phrasing, in order
                said = rule.instructions(persona)
                used.setdefault(rule.kind, set()).update(
                    i for i, s in enumerate(said) if s in system
                )
    assert set(used) == set(KINDS)
    assert all(len(v) >= 2 for v in used.values()), used
    persona_style = [i for k, v in used.items() for i in v if "{persona}" in PHRASINGS[k][i]]
    assert persona_style


def test_persona_phrasings_follow_a_persona():
    rule = Rule("max_words", {"n": 20})
    for seed in range(200):
        system = prompts.system_prompt(Random(seed), None, [rule])
        for persona in prompts.PERSONAS:
            if f"{persona} keeps every reply" in system or f"As {persona}," in system:
                assert f"You are {persona}" in system


def test_same_seed_same_record():
    cfg = DataConfig(seed=3, progress=False)
    pool = pools(cfg)["train"]
    for i in range(20):
        a = make_example(cfg, "train", 3, i, pool, Phrasebook(False, cfg.typo_rate))
        b = make_example(cfg, "train", 3, i, pool, Phrasebook(False, cfg.typo_rate))
        assert a == b
