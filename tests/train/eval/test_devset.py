"""The development set: every item valid and current, its composition, its distance from the
data generator, and the ``dev`` suite's scoring."""

import copy
import json
import re
from datetime import date

import jsonschema
import pytest

from bslm.models.chat import decode_chat, encode_chat
from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall
from bslm.train.data import chitchat, utilities
from bslm.train.data.jsonl import read_jsonl
from bslm.train.data.knowledge import CITY_ZONES, CURRENCY_NAMES, UNIT_LONG, UNIT_WORDS
from bslm.train.data.synthesis import DataConfig, main, problems
from bslm.train.data.values import MONTHS, WEEKDAYS
from bslm.train.eval import devset
from bslm.train.eval.suites import EvalConfig, evaluate

# The reported requests, kept word for word so the set tracks them, although the
# generator can write them too ("Hi! Who are you?" is in its who-are-you list).
REPORTED = {
    "What time is it in Tokyo right now?",
    "What is 17 times 23?",
    "Hi! Who are you?",
    "Convert 5 miles to kilometers.",
}


@pytest.fixture(scope="module")
def records():
    return devset.load()


def user_texts(records) -> set[str]:
    return {m["content"] for r in records for m in r["messages"] if m["role"] == "user"}


def gold_calls(record) -> list[dict]:
    return [c["function"] for c in record["messages"][-1].get("tool_calls") or []]


def test_every_record_is_valid(records):
    assert 150 <= len(records) <= 210
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        assert set(r) == {"id", "stage", "kind", "split", "domain", "tools", "messages", "rules"}
        assert r["split"] == "dev" and r["messages"][-1]["role"] == "assistant", r["id"]
        assert problems(r) == [], r["id"]


def test_the_committed_file_is_what_the_source_builds(records):
    assert devset.build() == records


def test_calls_fit_the_captured_schemas(records):
    """Against the servers' full schemas, not only the prompt's view of them."""
    source = devset.yaml.safe_load(devset.SOURCE_FILE.read_text(encoding="utf-8"))
    sets = devset.tool_sets(source, devset.captured_tools())
    checked = 0
    for r in records:
        full = {t.name: t.parameters for t in sets[r["domain"]]}
        assert {t["function"]["name"] for t in r["tools"]} == set(full), r["id"]
        for m in r["messages"]:
            for c in m.get("tool_calls") or []:
                assert c["function"]["name"] in full, r["id"]
                jsonschema.validate(c["function"]["arguments"], full[c["function"]["name"]])
                checked += 1
    assert checked > 150


def test_round_trip_through_the_dual_tokenizer(tok, records):
    for r in records[::5]:
        messages, _ = decode_chat(tok, encode_chat(tok, r["messages"], r["tools"]).ids)
        assert messages == r["messages"], r["id"]


def test_composition(records):
    by = lambda key: {r[key] for r in records}  # noqa: E731
    assert by("domain") == {"demo", "time", "sqlite", "git", "crowd"}
    assert by("kind") == set(devset.KINDS)
    for r in records:
        calls, before = gold_calls(r), r["messages"][-2]["role"]
        kind = r["kind"]
        if kind == "multi":
            assert len(calls) >= 2, r["id"]
        elif kind == "call":
            assert len(calls) == 1, r["id"]
        elif kind == "chain":
            assert calls and before == "tool", r["id"]
        else:
            assert not calls and r["messages"][-1]["content"], r["id"]
        if kind == "stop":
            assert before in ("tool", "user") and any(m["role"] == "tool" for m in r["messages"])
        if r["domain"] == "crowd":
            assert len(r["tools"]) >= 20
    shares = {k: sum(r["kind"] == k for r in records) for k in devset.KINDS}
    assert shares["text"] + shares["none"] + shares["ask"] >= 40
    assert shares["stop"] >= 15 and shares["multi"] >= 10


def _written(iso: str, text: str) -> bool:
    """Whether the user wrote the date (ISO, or its day and month in words)."""
    d, text = date.fromisoformat(iso), text.lower()
    day = re.search(rf"\b{d.day}(st|nd|rd|th)?\b", text)
    return iso in text or bool(day and MONTHS[d.month - 1].lower() in text)


def test_dates_the_user_did_not_write_come_from_the_system_prompt(records):
    relative = 0
    for r in records:
        said = " ".join(m["content"] for m in r["messages"] if m["role"] == "user")
        system = r["messages"][0]["content"] if r["messages"][0]["role"] == "system" else ""
        for c in gold_calls(r):
            for v in c["arguments"].values():
                iso = isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)
                if iso and not _written(v, said):
                    relative += 1
                    assert re.search(r"It is \w+day \d+ \w+ \d{4}\.", system), r["id"]
    assert relative >= 8


def test_the_reported_requests(records):
    first = {}
    for r in records:
        if r["domain"] == "demo" and len(r["messages"]) == 2:
            first.setdefault(r["messages"][0]["content"], r)
    calls = {q: gold_calls(first[q]) for q in REPORTED}
    assert calls["What time is it in Tokyo right now?"] == [
        {"name": "current_time", "arguments": {"timezone": "Asia/Tokyo"}}
    ]
    assert calls["What is 17 times 23?"] == [
        {"name": "calculate", "arguments": {"expression": "17 * 23"}}
    ]
    assert calls["Hi! Who are you?"] == []
    assert calls["Convert 5 miles to kilometers."] == [
        {"name": "convert_units", "arguments": {"value": 5, "from_unit": "mi", "to_unit": "km"}}
    ]


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?.! ")


def _any(words) -> str:
    """One of the words (longest first, so "miles per hour" wins over "miles")."""
    alternatives = sorted({re.escape(_norm(w)) for w in words}, key=len, reverse=True)
    return "(?:" + "|".join(alternatives) + ")"


WEEKDAY = _any(WEEKDAYS)
TYPED = {  # what the generator fills each slot with
    "city": _any(CITY_ZONES),
    "a": _any(CITY_ZONES),
    "b": _any(CITY_ZONES),
    "time": r"(?:\d{1,2}(?::\d{2})?\s?(?:am|pm)?|noon|(?:[a-z]+ o'clock|(?:half|quarter) past "
    r"[a-z]+) in the (?:morning|afternoon|evening))",
    "expr": r"(?=\D*\d).+",
    "v": r"(?:[\d.,]+k?|a dozen|[a-z -]+)",
    "f": _any(
        [w for _, ws in UNIT_WORDS.values() for w in ws]
        + list(UNIT_LONG.values())
        + [n for ns in CURRENCY_NAMES.values() for n in ns]
    ),
    "d": rf"(?:today|tomorrow|yesterday|the day after tomorrow|(?:next|this|on|last) {WEEKDAY}|"
    r"in (?:\d+ days|a week|\d+ weeks)|(?:\d+ days|a week|\d+ weeks) from (?:now|today)|"
    r"(?=\D*\d).+)",
    "c": _any(chitchat.CAPITALS),
    "w": _any(chitchat.DEFINE),
    "x": _any(chitchat.NAMES),
    "p": _any(p for p, _ in chitchat.TRANSLATE),
    "l": _any(lang for _, lang in chitchat.TRANSLATE),
}
TYPED |= {"t": TYPED["f"], "d1": TYPED["d"], "d2": TYPED["d"]}


def _pattern(template: str, slots: dict) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", _norm(template))
    return re.compile("".join(slots[p] if i % 2 else re.escape(p) for i, p in enumerate(parts)))


def generator_patterns() -> list[re.Pattern]:
    """Every request the generator's everyday phrasebooks can write, as patterns (slots
    filled from its own vocabularies)."""
    out = [_pattern(t, TYPED) for ts in utilities.REQUESTS.values() for t in ts]
    chat = (
        chitchat.CAPITAL_QS
        + chitchat.DEFINE_QS
        + chitchat.NAME_QS
        + chitchat.TRANSLATE_QS
        + chitchat.JOKE_QS
        + chitchat.GREETINGS
        + chitchat.WHO
        + chitchat.THANKS
    )
    chat += [
        q
        for pairs in (chitchat.HOW_ARE_YOU, chitchat.FACTS, chitchat.ADVICE, chitchat.CREATIVE)
        for q, _ in pairs
    ]
    out += [_pattern(t, TYPED) for t in chat]
    out += [_pattern(t, TYPED | {"t": _any(chitchat.TOPICS)}) for t in chitchat.POEM_QS]
    return out


def test_requests_are_not_the_generators_phrasings(records):
    patterns = generator_patterns()
    can_write = [
        "What time is it in Tokyo?",
        "convert 5 miles to kilometers",
        "How are you?",
        "How many days until next Friday?",
        "haiku about the moon please",
    ]
    for text in can_write:  # the check can fire
        assert any(p.fullmatch(_norm(text)) for p in patterns), text
    for text in user_texts(records) - REPORTED:
        hits = [p.pattern[:60] for p in patterns if p.fullmatch(_norm(text))]
        assert not hits, (text, hits)


def test_no_request_is_in_a_generated_train_split(records, tmp_path):
    cfg = DataConfig(out=str(tmp_path), stage1=700, stage2=700, stage3=1000, test=0, progress=False)
    assert main(cfg) == 0
    train = user_texts(read_jsonl(tmp_path / "train.jsonl"))
    assert len(train) > 1000
    assert not (user_texts(records) - REPORTED) & train


# --- building ---------------------------------------------------------------------------------

SOURCE = {
    "systems": {"plain": "Be helpful."},
    "crowd": ["demo/calculate"],
    "extra_tools": [{"name": "ping", "description": "Ping.", "inputSchema": {"type": "object"}}],
    "items": [
        {
            "id": "a",
            "tools": "demo",
            "kind": "call",
            "system": "plain",
            "date": "2026-03-12",
            "user": "What is 2 plus 2?",
            "call": {"calculate": {"expression": "2 + 2"}},
        },
        {
            "id": "b",
            "tools": "crowd",
            "kind": "stop",
            "turns": [
                {"user": "ping"},
                {"call": {"ping": {}}},
                {"result": {"ping": "pong"}},
                {"answer": "Pong."},
            ],
        },
    ],
}


def test_build_a_small_source():
    a, b = devset.build(SOURCE)
    assert a["messages"][0] == {
        "role": "system",
        "content": "Be helpful.\nIt is Thursday 12 March 2026.",
    }
    assert (a["stage"], a["kind"], a["domain"], b["stage"]) == (2, "call", "demo", 3)
    assert b["messages"][2] == {"role": "tool", "name": "ping", "content": "pong"}
    assert sorted(t["function"]["name"] for t in b["tools"]) == ["calculate", "ping"]
    assert "title" not in json.dumps(a["tools"])  # tools as prompts write them


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda s: s["items"][0].update(call={"calculator": {"expression": "1"}}), "not among"),
        (lambda s: s["items"][0].update(call={"calculate": {"expr": "1"}}), "arguments"),
        (lambda s: s["items"][0].update(call={"calculate": {"expression": 2}}), "arguments"),
        (lambda s: s["items"][1]["turns"].pop(), "last turn"),
        (lambda s: s["items"][1]["turns"].append({"shout": "x"}), "unknown shape"),
        (lambda s: s["items"][0].update(kind="guess"), "kind must be"),
        (lambda s: s["items"][0].update(tools="weather"), "tools must be"),
        (lambda s: s["items"][0].update(system="loud"), "unknown system prompt"),
        (lambda s: s["items"][1].update(id="a"), "used twice"),
        (lambda s: s["crowd"].append("demo/teleport"), "not among the captured"),
    ],
)
def test_build_refuses_a_bad_item(change, message):
    source = copy.deepcopy(SOURCE)
    change(source)
    with pytest.raises(ValueError, match=message):
        devset.build(source)


# --- the dev suite ----------------------------------------------------------------------------


def oracle(records):
    """A predictor that answers each item's history with its gold turn."""
    key = lambda messages, tools: json.dumps([messages, tools])  # noqa: E731
    gold = {key(r["messages"][:-1], r["tools"]): r["messages"][-1] for r in records}
    assert len(gold) == len(records)

    def predict(messages, tools):
        turn = gold[key(messages, tools)]
        calls = [
            ToolCall(c["function"]["name"], c["function"]["arguments"])
            for c in turn.get("tool_calls") or []
        ]
        return ModelOutput(parts=calls or [turn["content"]], ended=True)

    return predict


def test_dev_suite_scores_each_items_last_turn(records):
    report = evaluate(EvalConfig(suites=("dev",)), oracle(records))
    m = report["suites"]["dev"]
    assert (m["n"], m["records"], m["accuracy"], m["schema_valid"]) == (len(records),) * 2 + (
        100.0,
    ) * 2
    assert set(m["by_part"]) == {r["domain"] for r in records} | {r["kind"] for r in records}

    def silent(messages, tools):
        return ModelOutput(parts=["I'd rather not."], ended=True)

    m = evaluate(EvalConfig(suites=("dev",), limit=40), silent)["suites"]["dev"]
    texts = [r for r in devset.__dict__["load"]() if not gold_calls(r)]
    assert m["n"] == 40 and m["irrelevance_accuracy"] == 100.0 and m["exact_call"] == 0.0
    assert m["by_part"]["stop"]["accuracy"] == 100.0 and m["by_part"]["call"]["accuracy"] == 0.0
    full = evaluate(EvalConfig(suites=("dev",)), silent)["suites"]["dev"]
    assert full["accuracy"] == round(100.0 * len(texts) / len(records), 2)
