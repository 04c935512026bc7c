"""A stopped evaluation continues: decisions journaled as they are made, replayed on a rerun."""

import json

import pytest

from bslm.models.parser import ModelOutput, ParseError, Thought
from bslm.models.tools import ToolCall
from bslm.train.config import ConfigError
from bslm.train.eval.journal import (
    Journal,
    dump_output,
    journal_path,
    load_output,
    model_identity,
)
from bslm.train.eval.suites import EvalConfig, evaluate

SETTINGS = {"model": {"name": "fake"}, "mask": "off"}
CFG = EvalConfig(suites=("dev",), limit=6, mask="off")


class Fake:
    """A deterministic predictor that counts its decisions and can be stopped after ``stop``."""

    def __init__(self, stop: int | None = None):
        self.calls, self.stop = 0, stop

    def __call__(self, messages, tools):
        if self.stop is not None and self.calls >= self.stop:
            raise KeyboardInterrupt
        self.calls += 1
        user = messages[-1].get("content") or ""
        if len(user) % 2:
            name = (tools or [{}])[0].get("function", {}).get("name", "f")
            return ModelOutput(parts=[ToolCall(name, {"n": len(user)})], ended=True)
        return ModelOutput(parts=[f"{len(user)} characters"], ended=True)


def test_outputs_survive_the_journal():
    out = ModelOutput(
        parts=[Thought("hm"), "text", ToolCall("f", {"a": [1, {"b": None}]}, id="c1")],
        error=ParseError(3, "a number ended early"),
        ended=False,
        broken_call=True,
    )
    again = load_output(json.loads(json.dumps(dump_output(out))))
    assert again == out


def test_a_stopped_evaluation_continues_where_it_stopped(tmp_path):
    path = tmp_path / "r.partial.jsonl"
    with pytest.raises(KeyboardInterrupt):
        evaluate(CFG, Journal(Fake(stop=4), path, SETTINGS))
    with open(path, "a") as f:  # the line being written when the run was killed
        f.write('{"key": "ab')
    rest = Fake()
    journal = Journal(rest, path, SETTINGS)
    report = evaluate(CFG, journal)
    assert (rest.calls, journal.replayed) == (2, 4)  # only the decisions not made yet
    whole = evaluate(CFG, Fake())
    assert report["suites"]["dev"]["items"] == whole["suites"]["dev"]["items"]
    assert report["suites"]["dev"]["accuracy"] == whole["suites"]["dev"]["accuracy"]
    journal.finish()
    assert not path.exists()


def test_a_journal_of_other_settings_is_refused(tmp_path):
    path = tmp_path / "r.partial.jsonl"
    Journal(Fake(), path, SETTINGS)
    with pytest.raises(ConfigError, match="another evaluation"):
        Journal(Fake(), path, {**SETTINGS, "mask": "hard"})


def test_a_rebuilt_model_is_another_model(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"one")
    first = model_identity(str(f))
    f.write_bytes(b"other")
    assert model_identity(str(f)) != first
    assert model_identity("tiny") == {"name": "tiny"}


def test_cli_continues_a_stopped_evaluation(tmp_path, monkeypatch):
    from bslm.cli.main import main
    from bslm.train.eval import predictors

    decode = predictors.DecodingPredictor.__call__
    made = []

    def counted(self, messages, tools):
        if len(made) == stop[0]:
            raise KeyboardInterrupt
        made.append(1)
        return decode(self, messages, tools)

    monkeypatch.setattr(predictors.DecodingPredictor, "__call__", counted)
    out = tmp_path / "r.json"
    argv = ["eval", "--suite", "dev", "--model", "tiny", "--limit", "4"]
    argv += ["--max-new-tokens", "4", "--out", str(out)]
    stop = [3]
    assert main(argv) == 130 and not out.exists()
    assert journal_path(out).is_file()
    stop[0] = None
    made.clear()
    assert main(argv) == 0
    assert len(made) == 1 and not journal_path(out).exists()
    stopped = json.loads(out.read_text())["suites"]["dev"]["items"]
    assert main(argv) == 0 and len(made) == 5  # no journal left: all four decoded again
    assert json.loads(out.read_text())["suites"]["dev"]["items"] == stopped


def test_a_followers_journal_takes_each_new_decision_at_once(tmp_path):
    lead_predict, follow_predict = Fake(), Fake()
    lead = Journal(lead_predict, tmp_path / "a.partial.jsonl", SETTINGS)
    follower = Journal(follow_predict, tmp_path / "b.partial.jsonl", {**SETTINGS, "mask": "hard"})
    lead.followers = [follower]
    evaluate(CFG, lead)
    assert follow_predict.calls == lead_predict.calls == 6
    again = evaluate(CFG, follower)  # every decision already taken: none decoded again
    assert follow_predict.calls == 6 and follower.replayed == 6
    assert again["suites"]["dev"]["items"] == evaluate(CFG, Fake())["suites"]["dev"]["items"]


def test_evaluations_together_give_what_each_gives_alone_from_one_prompt_evaluation(
    tmp_path, monkeypatch
):
    from bslm.models.torch_backend import TorchBackend
    from bslm.train.eval.journal import evaluate_kept, evaluate_together

    evaluated = []
    eval_ids = TorchBackend._eval

    def counted(self, ids):
        evaluated.append(len(ids))
        return eval_ids(self, ids)

    monkeypatch.setattr(TorchBackend, "_eval", counted)
    hard = EvalConfig(suites=("dev",), model="tiny", limit=4, mask="hard", max_new_tokens=4)
    off = EvalConfig(suites=("dev",), model="tiny", limit=4, mask="off", max_new_tokens=4)
    alone = [evaluate_kept(c, tmp_path / f"alone-{c.mask}.json") for c in (hard, off)]
    apart = sum(evaluated)
    evaluated.clear()
    paths = [tmp_path / "together-hard.json", tmp_path / "together-off.json"]
    together = evaluate_together([hard, off], paths)
    # each prompt evaluated once: its hundreds of tokens, against a few decoded per decision
    assert sum(evaluated) < 0.6 * apart
    for a, b in zip(alone, together, strict=True):
        assert a["mask"] == b["mask"]
        assert a["suites"]["dev"]["items"] == b["suites"]["dev"]["items"]
    assert all(p.is_file() and not journal_path(p).exists() for p in paths)


def test_evaluations_together_differ_only_in_decoding(tmp_path):
    from bslm.train.eval.journal import evaluate_together

    a = EvalConfig(suites=("dev",), model="tiny", limit=2, mask="hard")
    with pytest.raises(ConfigError, match="only in mask and help"):
        evaluate_together(
            [a, EvalConfig(suites=("dev",), model="tiny", limit=3, mask="off")],
            [tmp_path / "a.json", tmp_path / "b.json"],
        )


def test_cli_evaluates_several_masks_one_report_each(tmp_path, capsys):
    from bslm.cli.main import main

    out = tmp_path / "r.json"
    argv = ["eval", "--suite", "dev", "--model", "tiny", "--limit", "2", "--max-new-tokens", "4"]
    assert main([*argv, "--mask", "hard,off", "--out", str(out)]) == 0
    reports = [json.loads((tmp_path / f"r-{m}.json").read_text()) for m in ("hard", "off")]
    assert [r["mask"] for r in reports] == ["hard", "off"] and not out.exists()
    table = capsys.readouterr().out
    assert "(hard)" in table and "(off)" in table
    assert main([*argv, "--mask", "hard,off"]) == 0  # no report asked for: printed only
    assert main([*argv, "--mask", "hard,hard"]) == 2
    assert "name each mask once" in capsys.readouterr().err
