"""The curriculum generator on a small run: record format, coverage of stages and kinds,
held-out tools and phrasings, validity of every call and conversation, determinism."""

import json
from collections import Counter

import pytest

from bslm.models.chat import chat_items, decode_chat, encode_chat, parse_chat
from bslm.train.data.catalog import catalog, split_tools
from bslm.train.data.examples import STAGE_KINDS
from bslm.train.data.phrasings import WRAPPERS, Phrasebook, split_phrases
from bslm.train.data.prompts import PERSONAS
from bslm.train.data.rules import KINDS as RULE_KINDS
from bslm.train.data.rules import Rule, detect_language
from bslm.train.data.synthesis import (
    SPLITS,
    DataConfig,
    answer_and_calls,
    check_record,
    main,
    problems,
)

SMALL = dict(stage1=100, stage2=60, stage3=300, test=120, progress=False)


def read(out):
    return {s: (out / f"{s}.jsonl").read_bytes() for s in SPLITS}


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("curriculum")
    assert main(DataConfig(out=str(out), **SMALL)) == 0
    files = read(out)
    data = {s: [json.loads(line) for line in b.decode().splitlines()] for s, b in files.items()}
    return out, files, data


@pytest.fixture(scope="session")
def records(run):
    return [r for split in SPLITS for r in run[2][split]]


def test_files_and_counts(run):
    out, _, data = run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{s}.jsonl" for s in SPLITS] + ["manifest.json"]
    )
    assert len(data["train"]) == 460
    assert len(data["test_seen"]) == len(data["test_unseen"]) == 120
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {s: len(r) for s, r in data.items()}


def test_same_seed_same_bytes_other_seed_other_bytes(run, tmp_path):
    _, files, _ = run
    main(DataConfig(out=str(tmp_path / "a"), **SMALL))
    assert read(tmp_path / "a") == files
    main(DataConfig(out=str(tmp_path / "b"), seed=1, **SMALL))
    assert all(read(tmp_path / "b")[s] != files[s] for s in SPLITS)


def test_record_format(records):
    for r in records:
        assert set(r) == {"id", "stage", "kind", "split", "domain", "tools", "messages", "rules"}
        assert r["stage"] in (1, 2, 3) and r["kind"] in STAGE_KINDS[r["stage"]]
        assert r["messages"][0]["role"] == "system" and r["messages"][0]["content"]
        assert all(t["type"] == "function" and t["function"]["parameters"] for t in r["tools"])
        for m in r["messages"]:
            assert m["role"] in ("system", "user", "assistant", "tool")
            if m["role"] == "assistant":
                assert m["content"] or m.get("tool_calls")
                for c in m.get("tool_calls", []):
                    assert isinstance(c["function"]["arguments"], dict)
            if m["role"] == "tool":
                assert isinstance(m["content"], str) and m["name"]
                assert m.get("is_error", True) is True
        for rule in r["rules"]:
            Rule.from_dict(rule)
    assert len({r["id"] for r in records}) == len(records)


def test_every_stage_and_kind_is_present(run):
    train = run[2]["train"]
    kinds = Counter((r["stage"], r["kind"]) for r in train)
    assert set(kinds) == {(s, k) for s, ks in STAGE_KINDS.items() for k in ks}
    for split in ("test_seen", "test_unseen"):
        assert {r["stage"] for r in run[2][split]} == {1, 2, 3}


def test_held_out_tools_never_appear_in_train(run):
    train_tools, held = split_tools(catalog(0), 0.15, 0)
    held_names = {t.name for t in held}
    names = lambda rs: {t["function"]["name"] for r in rs for t in r["tools"]}  # noqa: E731
    data = run[2]
    assert not names(data["train"]) & held_names
    assert not names(data["test_seen"]) & held_names
    assert names(data["test_unseen"]) <= held_names
    for r in data["train"]:  # not even by name in any text
        text = json.dumps(r["messages"])
        assert not any(f'"{n}"' in text for n in held_names)


def test_every_record_is_valid(records):
    for r in records:
        assert problems(r) == [], r["id"]


def test_round_trip_through_the_tool_language(records):
    for r in records:
        messages, specs = parse_chat(chat_items(r["messages"], r["tools"]))
        assert messages == r["messages"]
        assert [s.name for s in specs] == [t["function"]["name"] for t in r["tools"]]


def test_round_trip_through_the_dual_tokenizer(tok, records):
    for r in records[::10]:
        messages, _ = decode_chat(tok, encode_chat(tok, r["messages"], r["tools"]).ids)
        assert messages == r["messages"]


def test_a_broken_record_is_caught(records):
    r = json.loads(json.dumps(next(r for r in records if r["kind"] == "single")))
    call = next(m for m in r["messages"] if m.get("tool_calls"))["tool_calls"][0]["function"]
    call["arguments"] = {"no_such_argument": 1}
    with pytest.raises(ValueError, match="arguments"):
        check_record(r)
    call["name"] = "not_a_tool"
    assert any("not among the tools" in p for p in problems(r))


def test_gold_answers_obey_their_rules(records):
    ruled = [r for r in records if r["rules"]]
    assert len(ruled) > len(records) / 5
    kinds = {rule["kind"] for r in ruled for rule in r["rules"]}
    assert kinds == set(RULE_KINDS)
    for r in ruled:
        answer, calls = answer_and_calls(r["messages"])
        system = r["messages"][0]["content"]
        for rule in map(Rule.from_dict, r["rules"]):
            assert rule.check(answer, calls), (r["id"], rule)
            assert any(s in system for p in (None, *PERSONAS) for s in rule.instructions(p))
            if rule.kind == "language":
                assert detect_language(answer) == rule.params["language"]


def test_conversations(run):
    stage3 = [r for r in run[2]["train"] if r["stage"] == 3]
    by_kind = {k: [r for r in stage3 if r["kind"] == k] for k in STAGE_KINDS[3]}
    reasoned = sum(any(m.get("reasoning") for m in r["messages"]) for r in stage3)
    assert reasoned / len(stage3) > 0.3
    for r in by_kind["parallel"]:
        assert any(len(m.get("tool_calls", [])) > 1 for m in r["messages"])
    for r in by_kind["chain"]:  # the second call uses an ID from the first result
        first, second = [m for m in r["messages"] if m.get("tool_calls")][:2]
        result = r["messages"][r["messages"].index(first) + 1]["content"]
        args = second["tool_calls"][0]["function"]["arguments"]
        assert any(isinstance(v, str) and v in result for v in args.values())
    for r in by_kind["error"]:
        assert any(m.get("is_error") for m in r["messages"])
    for r in by_kind["irrelevant"] + by_kind["forbidden"]:
        assert not any(m.get("tool_calls") for m in r["messages"] if m["role"] == "assistant")
    for r in by_kind["ask"]:
        assert r["messages"][2]["role"] == "assistant" and r["messages"][2]["content"]
        assert not r["messages"][2].get("tool_calls")
    for r in by_kind["forbidden"]:
        assert any(rule["kind"] == "must_not_use" for rule in r["rules"])


def test_stage_one_offers_two_to_twenty_tools(run):
    sizes = [len(r["tools"]) for r in run[2]["train"] if r["kind"] == "select"]
    assert min(sizes) >= 2 and max(sizes) <= 20 and len(set(sizes)) > 10


def test_held_out_phrasings():
    train, held = Phrasebook(False), Phrasebook(True)
    assert held.wrappers and not set(held.wrappers) & set(train.wrappers)
    assert set(held.wrappers) | set(train.wrappers) == set(WRAPPERS)
    for name, items in train.lists.items():
        if len(items) >= 2:
            assert not set(items) & set(held.lists[name]), name
    intents = ["a", "b", "c", "d", "e"]
    assert not set(split_phrases(intents, True)) & set(split_phrases(intents, False))


def test_test_seen_uses_held_out_wrappers(run):
    def tail(template):
        return template.split("{core}")[-1]

    train_tails = {tail(t) for t, _ in Phrasebook(False).wrappers if len(tail(t)) > 12}
    held_tails = {tail(t) for t, _ in Phrasebook(True).wrappers if len(tail(t)) > 4}
    requests = [r["messages"][1]["content"] for r in run[2]["test_seen"]]
    assert not any(m.endswith(t) for m in requests for t in train_tails)
    assert held_tails and any(m.endswith(t) for m in requests for t in held_tails)
