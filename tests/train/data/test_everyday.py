"""Everyday kinds of the curriculum: small talk without calls, values that need knowledge
(IANA zones, unit symbols, expressions, relative dates, currency codes), example values in
descriptions never copied, exact numbers and lists, parallel counts, crowds of tools,
stopping after the result, and determinism."""

import re
from collections import Counter
from datetime import date, timedelta
from random import Random
from zoneinfo import ZoneInfo

import pytest

from bslm.train.data import chitchat, knowledge, science, utilities
from bslm.train.data.examples import SEEN_ONLY
from bslm.train.data.synthesis import DataConfig, problems, synthesize

CFG = DataConfig(stage1=400, stage2=300, stage3=600, test=150, progress=False)
NEW = {
    1: {"chat", "similar", "crowd"},
    2: {"knowledge", "science"},
    3: {"stop", "multi", "smalltalk"},
}


@pytest.fixture(scope="module")
def data():
    return synthesize(CFG)


@pytest.fixture(scope="module")
def train(data):
    return data["train"]


def of(records, kind):
    return [r for r in records if r["kind"] == kind]


def calls_of(record):
    return [c["function"] for m in record["messages"] for c in m.get("tool_calls") or []]


def users(record):
    return " ".join(m["content"] for m in record["messages"] if m["role"] == "user")


def test_every_new_kind_appears_in_the_seen_splits(data):
    for split in ("train", "test_seen"):
        kinds = Counter((r["stage"], r["kind"]) for r in data[split])
        for stage, names in NEW.items():
            for k in names:
                assert kinds[(stage, k)] > 0, (split, stage, k)
    unseen = Counter(r["kind"] for r in data["test_unseen"])
    assert unseen["crowd"] > 0 and not set(unseen) & SEEN_ONLY  # its tools are never trained on


def test_new_records_are_valid(train):
    for r in train:
        if r["kind"] in set().union(*NEW.values()):
            assert problems(r) == [], r["id"]


def test_chat_never_calls_and_answers_briefly(train):
    chats = of(train, "chat")
    assert len({users(r) for r in chats}) > 0.6 * len(chats) > 20  # many kinds, not one template
    for r in chats:
        assert not calls_of(r)
        answer = r["messages"][-1]
        assert answer["role"] == "assistant" and answer["content"]
        assert len(answer["content"].split()) < 80
        assert r["tools"]  # tools are on offer all the same


def test_chitchat_draws_every_kind_and_holds_some_out():
    rng = Random(0)
    seen = Counter(chitchat.draw(rng)[0] for _ in range(2000))
    assert set(seen) == set(chitchat.KINDS)
    train_q = {chitchat.draw(Random(i), False, kind="greeting")[1] for i in range(300)}
    held_q = {chitchat.draw(Random(i), True, kind="greeting")[1] for i in range(300)}
    assert held_q and not held_q & train_q


def test_city_zones_are_real():
    assert len(knowledge.CITY_ZONES) >= 250
    for zone in set(knowledge.CITY_ZONES.values()):
        ZoneInfo(zone)  # raises for an unknown zone
    assert knowledge.CITY_ZONES["Tokyo"] == "Asia/Tokyo"


def _description_examples(record, name):
    """Quoted values in the tool's descriptions (its own and its parameters')."""
    fn = next(t["function"] for t in record["tools"] if t["function"]["name"] == name)
    props = (fn.get("parameters") or {}).get("properties", {})
    text = " ".join(
        [fn.get("description", "")] + [p.get("description", "") for p in props.values()]
    )
    return set(re.findall(r"['\"]([^'\"]+)['\"]", text))


def test_clock_calls_hold_the_citys_zone_never_the_example(train):
    checked = 0
    for r in train:
        for fn in calls_of(r):
            for v in fn["arguments"].values():
                if isinstance(v, str) and "/" in v and v in knowledge.CITY_ZONES.values():
                    cities = [c for c, z in knowledge.CITY_ZONES.items() if z == v]
                    assert any(c in users(r) for c in cities), (r["id"], v)
                    checked += 1
    assert checked > 50


def test_example_values_in_descriptions_are_never_gold_unless_said(train):
    checked = 0
    for r in train:
        if r["kind"] not in ("knowledge", "similar", "stop", "multi", "smalltalk"):
            continue
        for fn in calls_of(r):
            shown = _description_examples(r, fn["name"])
            for v in fn["arguments"].values():
                if isinstance(v, str) and v in shown:
                    assert v in users(r), (r["id"], v)
            checked += 1
    assert checked > 100


def test_units_become_the_schemas_symbols():
    rng = Random(1)
    for _ in range(200):
        tool = utilities.make_tool(rng, "units", "snake")
        try:
            text, by_role = utilities.draw_request(rng, tool, None, False)
        except ValueError:
            continue
        enum = tool.spec.parameters["properties"][tool.roles["from"]].get("enum")
        if enum:
            assert by_role["from"].value in enum and by_role["to"].value in enum
        assert by_role["from"].text in text and by_role["to"].text in text
    assert knowledge.convert_unit(5, "mi", "km") == pytest.approx(8.04672)
    assert knowledge.convert_unit(100, "C", "F") == pytest.approx(212)


@pytest.mark.parametrize(
    "said,expected",
    [("tomorrow", 1), ("yesterday", -1), ("the day after tomorrow", 2), ("today", 0)],
)
def test_relative_dates(said, expected):
    today = date(2026, 3, 10)  # a Tuesday
    for seed in range(400):
        v = knowledge.say_relative_date(Random(seed), today)
        if v.text == said:
            assert v.value == (today + timedelta(expected)).isoformat()
            return
    pytest.fail(f"{said!r} never drawn")


def test_weekday_dates_land_on_that_weekday():
    today = date(2026, 3, 10)
    for seed in range(300):
        v = knowledge.say_relative_date(Random(seed), today)
        m = re.fullmatch(r"(next|this|on|last) (\w+day)", v.text)
        if m:
            d = date.fromisoformat(v.value)
            assert d.strftime("%A") == m.group(2)
            assert (
                (d > today)
                if m.group(1) == "next"
                else (d < today)
                if m.group(1) == "last"
                else (d >= today)
            )


def test_expressions_keep_the_numbers_and_compute_right():
    from bslm.runtime.arith import evaluate

    for seed in range(300):
        v, result = knowledge.say_expression(Random(seed))
        assert evaluate(v.value) == pytest.approx(result)
        said = re.findall(r"\d+", v.text)
        assert Counter(said) <= Counter(re.findall(r"\d+", v.value)), v
    percent = [
        v
        for s in range(500)
        for v, _ in [knowledge.say_expression(Random(s))]
        if re.search(r"% of \d", v.text)
    ]
    assert percent
    for v in percent:
        p, x = re.findall(r"\d+", v.text)
        assert v.value == f"{p} / 100 * {x}"


def test_currency_names_become_codes():
    for seed in range(100):
        v = knowledge.say_currency(Random(seed))
        assert v.text in knowledge.CURRENCY_NAMES[v.value] and re.fullmatch(r"[A-Z]{3}", v.value)


def test_parallel_calls_match_the_requests(train):
    multi = of(train, "multi")
    assert multi
    counts = Counter()
    for r in multi:
        turn = r["messages"][2]
        assert turn["role"] == "assistant"
        n = len(turn["tool_calls"])
        assert 2 <= n <= 4
        results = [m for m in r["messages"] if m["role"] == "tool"]
        assert len(results) == n
        assert not r["messages"][-1].get("tool_calls")
        counts[len({c["function"]["name"] for c in turn["tool_calls"]}) == 1] += 1
    assert counts[True] and counts[False]  # the same tool several times, and several tools


def test_stop_answers_from_the_result_and_calls_no_more(train):
    for r in of(train, "stop") + of(train, "smalltalk"):
        msgs = r["messages"]
        for i, m in enumerate(msgs):
            if m["role"] == "tool":
                assert msgs[i + 1]["role"] == "assistant" and msgs[i + 1]["content"]
                assert not msgs[i + 1].get("tool_calls")
        assert msgs[-1]["role"] == "assistant" and not msgs[-1].get("tool_calls")


def test_crowds_offer_ten_to_forty_tools(train):
    crowds = of(train, "crowd")
    sizes = [len(r["tools"]) for r in crowds]
    assert crowds and min(sizes) >= 10 and max(sizes) <= 40 and max(sizes) > 25


def test_similar_offers_near_duplicate_utilities(train):
    for r in of(train, "similar"):
        names = {t["function"]["name"] for t in r["tools"]}
        assert len(names) >= 2 and len(calls_of(r)) == 1


def test_science_copies_numbers_and_lists_exactly(train):
    recs = of(train, "science")
    styles = Counter()
    for r in recs:
        (fn,) = calls_of(r)
        styles["." in fn["name"], any(c.isupper() for c in fn["name"])] += 1
        text = users(r)
        for v in fn["arguments"].values():
            if isinstance(v, list):
                xs = [str(x) for x in v]
                said = [", ".join(xs), str(v), ", ".join(xs[:-1]) + f" and {xs[-1]}"]
                assert any(form in text for form in said), (r["id"], v, text)
    assert len(styles) >= 3  # snake, camel and dotted names
    domains = {r["domain"] for r in recs}
    assert {"geometry", "physics", "statistics", "finance", "algebra"} <= domains


def test_science_rates_as_decimals():
    formula = next(f for f in science.FORMULAS if f.words == ("compound", "interest"))
    rng = Random(3)
    tool = science.make_tool(rng, formula)
    for _ in range(30):
        text, args = science.draw(rng, formula, tool, False)
        rate = args[tool.roles["rate"]].value
        assert f"{round(rate * 100)}%" in text or f"{round(rate * 100)} percent" in text


def test_default_config_size():
    cfg = DataConfig()
    assert 20_000 <= cfg.stage1 + cfg.stage2 + cfg.stage3 <= 30_000


def test_new_kinds_are_deterministic():
    small = DataConfig(stage1=60, stage2=40, stage3=60, test=30, progress=False)
    assert synthesize(small) == synthesize(small)
