"""Calibrating the call threshold: two passes give every threshold's accuracy, the threshold
chosen is the middle of the widest best interval, and the two-fold figure scores a threshold
on items it was not chosen on."""

import json

import pytest

from bslm.models.errors import BslmError
from bslm.train.eval.calibrate import NEVER, accuracy, choose, main, pair, report, two_fold


def _reports(rows):
    """rows: (id, kind, p, own, ok when calling, ok when not)."""
    call = [
        {"id": i, "kind": k, "ok": c, **({} if p is None else {"call_p": p, "call_own": o})}
        for i, k, p, o, c, _ in rows
    ]
    text = [
        {
            "id": i,
            "kind": k,
            "ok": t if p is not None else c,
            **({} if p is None else {"call_p": p}),
        }
        for i, k, p, o, c, t in rows
    ]
    return ({"suites": {"dev": {"items": call}}}, {"suites": {"dev": {"items": text}}})


ROWS = [
    ("a", "call", 0.9, True, True, False),
    ("b", "call", 0.7, True, True, False),
    ("c", "text", 0.6, True, False, True),  # the model calls on small talk at 0.6
    ("d", "text", 0.3, False, False, True),
    ("e", "call", 0.55, True, False, False),  # wrong either way
    ("f", "ask", None, False, True, True),  # no call could open
]


def test_each_threshold_takes_one_pass_per_item():
    items = pair(*_reports(ROWS))
    assert accuracy(items, 0.0) == pytest.approx(100 * 3 / 6)  # a, b, f
    assert accuracy(items, NEVER) == pytest.approx(100 * 3 / 6)  # c, d, f
    assert accuracy(items, None) == pytest.approx(100 * 4 / 6)  # own: a, b, d, f
    assert accuracy(items, 0.65) == pytest.approx(100 * 5 / 6)  # a, b, c, d, f
    # the best outcome holds for thresholds in (0.6, 0.7]: its middle is chosen
    assert choose(items) == pytest.approx(0.65)
    r = report(items)
    assert r["helped"] > r["own"] and r["threshold"] == pytest.approx(0.65)
    assert r["by_kind"]["helped"]["text"] == 100.0 and r["by_kind"]["own"]["text"] == 50.0
    assert 0 <= two_fold(items) <= 100


def test_two_fold_is_not_read_off_the_items_it_was_chosen_on():
    # the even items are best at a threshold in (0.2, 0.3], the odd ones in (0.8, 0.9]: a
    # threshold chosen on one half misses one item of the other
    rows = [
        ("e1", "call", 0.3, True, True, False),
        ("o1", "call", 0.9, True, True, False),
        ("e2", "text", 0.2, False, False, True),
        ("o2", "text", 0.8, False, False, True),
    ]
    items = pair(*_reports(rows))
    assert choose(items[0::2]) == pytest.approx(0.25) and choose(items[1::2]) == pytest.approx(0.85)
    assert accuracy(items, choose(items)) == 75.0
    assert two_fold(items) == 50.0


def test_mismatched_reports_are_refused(tmp_path, capsys):
    call, text = _reports(ROWS)
    text["suites"]["dev"]["items"].pop()
    with pytest.raises(BslmError):
        pair(call, text)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(call))
    b.write_text(json.dumps(text))
    assert main(["--reports", str(a), str(b)]) == 2
    assert "same development items" in capsys.readouterr().err
    b.write_text(json.dumps(_reports(ROWS)[1]))
    assert main(["--reports", str(a), str(b)]) == 0
    assert "call threshold chosen: 0.65" in capsys.readouterr().out


def test_a_threshold_never_buys_text_with_the_calls_the_model_gets_right():
    # the model is surer of its needless calls than of its one right call: never calling
    # would score best (4 of 6); the threshold chosen keeps the right call (2 of 6)
    rows = [
        ("a", "call", 0.7, True, True, False),
        ("b", "call", 0.6, True, False, False),
        ("c", "text", 0.9, True, False, True),
        ("d", "text", 0.5, True, False, True),
        ("e", "stop", 0.75, True, False, True),
        ("f", "none", 0.8, True, False, True),
    ]
    items = pair(*_reports(rows))
    t = choose(items)
    assert 0.5 < t <= 0.7 and accuracy(items, t) == pytest.approx(100 * 2 / 6)
    assert accuracy(items, NEVER) == pytest.approx(100 * 4 / 6)  # more, but no agent
    r = report(items)
    assert r["own"] == pytest.approx(100 / 6, abs=0.01) and r["calls_own"] == 50.0


def test_the_pass_without_the_mask_is_reported_apart(tmp_path, capsys):
    argv = ["--model", "tiny", "--backend", "torch", "--limit", "3", "--out", str(tmp_path)]
    assert main([*argv, "--off"]) == 0
    table = capsys.readouterr().out
    off = json.loads((tmp_path / "calibrate-off.json").read_text())
    assert off["mask"] == "off" and "help" not in off
    assert f"| no mask | {off['suites']['dev']['accuracy']} |" in table
    for name in ("call", "text"):
        assert json.loads((tmp_path / f"calibrate-{name}.json").read_text())["mask"] == "hard"
    # each tool set's figures, the pass without the mask among them
    report_ = json.loads((tmp_path / "calibrate.json").read_text())
    sets = set(report_["by_tools"]["own"])
    assert sets and sets <= {"demo", "time", "sqlite", "git", "crowd"}
    assert "| tools | " in table and set(report_["off"]["by_tools"]) == sets


def test_figures_by_tool_set():
    call, text = _reports(ROWS)
    for report_ in (call, text):
        for it in report_["suites"]["dev"]["items"]:
            it["domain"] = "time" if it["id"] in ("a", "c") else "demo"
    r = report(pair(call, text))
    # own choice: a right, c wrong (time); b, d, f right, e wrong (demo)
    assert r["by_tools"]["own"] == {"demo": 75.0, "time": 50.0}
    assert r["by_tools"]["helped"] == {"demo": 75.0, "time": 100.0}  # 0.65 stops c's call
    assert {it["tools"] for it in pair(*_reports(ROWS))} == {"?"}  # a report without them
