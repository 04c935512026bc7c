"""Evaluation: scoring of decisions, the report format, JSON-call reading, BFCL end to end."""

import json

import pytest

from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall
from bslm.train.eval.predictors import json_calls
from bslm.train.eval.suites import EvalConfig, Tally, evaluate, markdown
from bslm.train.plots import plot_bars
from bslm.train.rl.rewards import call_validity

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            },
        },
    }
]


def call(city="Paris", **kw):
    return {
        "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": city, **kw}},
    }


def rec(kind, messages):
    return {
        "id": kind,
        "stage": 3,
        "kind": kind,
        "split": "test_seen",
        "tools": TOOLS,
        "messages": messages,
        "rules": [],
    }


@pytest.fixture
def data(tmp_path):
    seen = [
        rec(
            "single",
            [{"role": "user", "content": "Paris?"}, {"role": "assistant", "tool_calls": [call()]}],
        ),
        rec(
            "irrelevant",
            [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
        ),
    ]
    unseen = [
        rec(
            "single",
            [
                {"role": "user", "content": "Rome?"},
                {"role": "assistant", "tool_calls": [call("Rome")]},
            ],
        )
    ]
    (tmp_path / "test_seen.jsonl").write_text("\n".join(map(json.dumps, seen)))
    (tmp_path / "test_unseen.jsonl").write_text("\n".join(map(json.dumps, unseen)))
    return tmp_path


def always_paris(messages, tools):
    return ModelOutput(parts=[ToolCall("get_weather", {"city": "Paris"})], ended=True)


def test_report_format_and_scores(data):
    cfg = EvalConfig(suites=("seen", "unseen", "irrelevance"), data=str(data), mask="off")
    report = evaluate(cfg, predict=always_paris, model_name="fake")
    assert report["model"] == "fake" and report["mask"] == "off"
    seen = report["suites"]["seen"]
    assert seen["n"] == 2 and seen["accuracy"] == 50.0
    assert seen["exact_call"] == 100.0 and seen["irrelevance_accuracy"] == 0.0
    assert report["suites"]["unseen"]["accuracy"] == 0.0
    assert report["suites"]["unseen"]["tool_selection"] == 100.0
    assert report["suites"]["unseen"]["argument_accuracy"] == 0.0
    assert report["suites"]["irrelevance"]["accuracy"] == 0.0
    for m in report["suites"].values():
        assert isinstance(m["n"], int) and 0 <= m["accuracy"] <= 100
    table = markdown([report])
    assert table.count("\n") == 4 and "| seen | 2 | 50.0 |" in table


def test_bars_chart(tmp_path):
    reports = [
        {
            "model": "a",
            "mask": "off",
            "suites": {"seen": {"accuracy": 40.0}, "unseen": {"accuracy": 10.0}},
        },
        {
            "model": "b",
            "mask": "off",
            "suites": {"seen": {"accuracy": 70.0}, "unseen": {"accuracy": 30.0}},
        },
    ]
    assert plot_bars(reports, tmp_path / "bars.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "call_,valid,hallucinated",
    [
        (ToolCall("get_weather", {"city": "Paris"}), True, False),
        (ToolCall("get_weather", {"city": 3}), False, False),
        (ToolCall("get_weather", {}), False, False),
        (ToolCall("get_weather", {"city": "x", "zip": "1"}), False, True),
        (ToolCall("get_forecast", {"city": "x"}), False, True),
    ],
)
def test_call_validity(call_, valid, hallucinated):
    from bslm.models.chat import as_spec

    assert call_validity(call_, {"get_weather": as_spec(TOOLS[0])}) == (valid, hallucinated)


def test_parse_errors_counted():
    t = Tally()
    from bslm.models.parser import ParseError

    t.add(ModelOutput(parts=[], error=ParseError(0, "x")), [], {})
    assert t.metrics()["parse_errors"] == 100.0


def test_a_broken_call_is_no_answer_where_no_call_is_due():
    """Where the reference makes no call, a call attempt that does not parse is wrong (it is
    no text answer); a text answer cut short by the budget is still no call."""
    from bslm.models.parser import ParseError

    t = Tally()
    assert not t.add(ModelOutput(error=ParseError(3, "x"), broken_call=True), [], {})
    assert t.add(ModelOutput(parts=["It is"]), [], {})
    assert t.metrics()["irrelevance_accuracy"] == 50.0


@pytest.mark.parametrize(
    "text,names",
    [
        ('[{"name": "f", "arguments": {"x": 1}}]', ["f"]),
        ('Sure! {"name": "f", "arguments": "{\\"x\\": 1}"} done', ["f"]),
        ('{"tool_calls": [{"function": {"name": "g", "arguments": {}}}]}', ["g"]),
        ("```python\nprint(1)\n```", []),
        ('{"name": 3}', []),
        ("[1, 2", []),
    ],
)
def test_json_calls(text, names):
    assert [c.name for c in json_calls(text)] == names


def test_unknown_suite_and_mask_are_clear(data):
    with pytest.raises(ValueError, match="unknown suite"):
        evaluate(EvalConfig(suites=("nope",), data=str(data)), predict=always_paris)
    with pytest.raises(ValueError, match="unknown mask"):
        evaluate(EvalConfig(suites=("seen",), data=str(data), mask="firm"), predict=always_paris)
    with pytest.raises(ValueError, match="--mask off"):
        evaluate(
            EvalConfig(suites=("seen",), data=str(data), mask="hard", prompted=True),
            predict=always_paris,
        )
    with pytest.raises(ValueError, match="use a mask"):
        evaluate(
            EvalConfig(suites=("dev",), data=str(data), mask="off", call_threshold=0.5),
            predict=always_paris,
        )


def test_the_dev_report_holds_each_decision_and_its_call_probability():
    from bslm.models.build import fresh_model
    from bslm.models.engine import Help
    from bslm.train.eval.predictors import DecodingPredictor

    model, tok = fresh_model("tiny")
    predict = DecodingPredictor(model, tok, max_new_tokens=4, mask="hard", help=Help(0.0))
    report = evaluate(
        EvalConfig(suites=("dev",), limit=3, mask="hard", call_threshold=0.0), predict
    )
    items = report["suites"]["dev"]["items"]
    assert report["help"] == {"call_threshold": 0.0, "copy_bias": 0.0}
    assert [it["kind"] for it in items] and len(items) == 3
    assert all(0 < it["call_p"] < 1 and it["call_own"] in (True, False) for it in items)
    for it in items:  # what each decision said: a call always, at threshold 0 (the tiny
        # model's 4 tokens leave it unfinished)
        assert set(it["said"]) <= {"calls", "text", "error"} and it["said"]["calls"] == []
        assert it["said"]["error"] and not it["ok"]


@pytest.mark.slow
def test_bfcl_end_to_end_on_the_tiny_model(tmp_path):
    from bslm.cli.main import main

    out = tmp_path / "r.json"
    rc = main(
        [
            "eval",
            "--suite",
            "bfcl:simple_python,bfcl:irrelevance",
            "--model",
            "tiny",
            "--limit",
            "3",
            "--max-new-tokens",
            "8",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    report = json.loads(out.read_text())
    assert set(report["suites"]) == {"bfcl:simple_python", "bfcl:irrelevance"}
    assert report["suites"]["bfcl:simple_python"]["n"] == 3
    assert report["mask"] == "hard"
    # under the mask even a random model invents no tool and no parameter
    assert report["suites"]["bfcl:simple_python"]["hallucination"] in (0, None)


def test_limit_spreads_over_the_split():
    from bslm.train.eval.suites import spread

    assert spread(list(range(10)), 0) == list(range(10))
    assert spread(list(range(10)), 5) == [0, 2, 4, 6, 8]
    assert spread(list(range(3)), 5) == [0, 1, 2]


def test_distractors_and_retrieval(data):
    seen: list[list[str]] = []

    def spy(messages, tools):
        seen.append([t.name for t in tools])
        return always_paris(messages, tools)

    cfg = EvalConfig(suites=("seen",), data=str(data), mask="off", distractors=30)
    report = evaluate(cfg, predict=spy)
    assert report["tools"]["distractors"] == 30
    assert all(len(names) == 31 and "get_weather" in names for names in seen)
    assert report["suites"]["seen"]["tools_in_context"] == 31
    first = list(seen)
    seen.clear()
    evaluate(cfg, predict=spy)
    assert seen == first  # the same distractors each run
    seen.clear()
    from bslm.train.eval.predictors import tool_selector

    cfg = EvalConfig(
        suites=("seen",), data=str(data), mask="off", distractors=30, retrieval="bm25", top_k=5
    )
    report = evaluate(cfg, predict=spy, select=tool_selector(cfg.retrieval, cfg.top_k))
    assert all(len(names) == 5 for names in seen)
    assert report["suites"]["seen"]["tools_in_context"] == 5


def test_environment_suites_play_held_out_tasks_to_the_end(tmp_path):
    from bslm.models.parser import ModelOutput
    from bslm.models.tools import ToolCall
    from bslm.train.rl.envs import make_env

    tasks = {t.messages[-1]["content"]: t for t in make_env("math").tasks("test", 4)}

    def solver(messages, tools):
        task = tasks[next(m["content"] for m in messages if m["role"] == "user")]
        done = sum(m["role"] == "assistant" for m in messages)
        if done < len(task.solution):
            return ModelOutput(parts=[ToolCall(**c) for c in task.solution[done]], ended=True)
        return ModelOutput(parts=[task.answer], ended=True)

    report = evaluate(EvalConfig(suites=("env:math",), limit=4), predict=solver)
    m = report["suites"]["env:math"]
    assert m["n"] == 4 and m["accuracy"] == 100.0 and m["call_errors"] == 0.0
    assert m["answered"] == 100.0 and m["step_reward"] == 1.0
    lazy = evaluate(EvalConfig(suites=("env:math",), limit=4), predict=always_paris)
    assert lazy["suites"]["env:math"]["accuracy"] == 0.0


def test_unknown_environment_is_refused_before_anything_runs():
    calls = []

    def predict(messages, tools):
        calls.append(1)
        return always_paris(messages, tools)

    with pytest.raises(ValueError, match="unknown environment 'chess'"):
        evaluate(EvalConfig(suites=("env:math", "env:chess")), predict=predict)
    assert not calls


def test_cli_evaluates_an_environment_on_the_tiny_model(tmp_path, capsys):
    from bslm.cli.main import main

    out = tmp_path / "r.json"
    assert (
        main(
            [
                "eval",
                "--suite",
                "env:logic",
                "--model",
                "tiny",
                "--limit",
                "1",
                "--max-new-tokens",
                "8",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    m = json.loads(out.read_text())["suites"]["env:logic"]
    assert m["n"] == 1 and m["turns"] >= 1
    assert main(["eval", "--suite", "env:chess", "--model", "tiny"]) == 2
    assert "unknown environment" in capsys.readouterr().err


def test_bfcl_samples_the_whole_category_and_counts_error_types():
    from bslm.models.parser import ModelOutput
    from bslm.train.eval.bfcl import eval_items
    from bslm.train.eval.suites import run_bfcl, spread

    asked = []

    def no_call(messages, tools):
        asked.append(messages[-1]["content"])
        return ModelOutput(parts=["I cannot help."], ended=True)

    m = run_bfcl("simple_python", no_call, 4)
    want = [item.messages[-1]["content"] for item in spread(eval_items("simple_python"), 4)]
    assert asked == want and want != [
        it.messages[-1]["content"] for it in eval_items("simple_python", 4)
    ]
    assert m["n"] == 4 and m["accuracy"] == 0.0
    assert m["errors"] == {"simple_function_checker:wrong_count": 4}


def test_prompted_runs_on_torch_or_llama(data):
    with pytest.raises(ValueError, match="torch or llama"):
        evaluate(
            EvalConfig(suites=("seen",), data=str(data), mask="off", prompted=True, backend="onnx"),
            predict=always_paris,
        )


@pytest.mark.slow
def test_prompted_base_on_llama_decodes_as_torch_does():
    """The base's own GGUF under llama.cpp starts with the greedy ids of its transformers copy
    (later ids may part at near-ties: llama.cpp multiplies quantized weights by quantized
    activations), stops at the stop id and never runs past the token budget."""
    from bslm.models.bases import load_base
    from bslm.models.torch_backend import greedy
    from bslm.train.eval.predictors import PromptedPredictor, llama_text_decoder

    decode, tok = llama_text_decoder("smollm2-135m", n_ctx=2048)
    model, _ = load_base("smollm2-135m")
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    prompt = PromptedPredictor(decode, tok).prompt_ids(messages, TOOLS)
    stop = {tok.eos_token_id}
    want = list(greedy(model, prompt, stop, 6))
    assert list(decode(prompt, stop, 6)) == want
    assert len(list(decode(prompt, stop, 3))) == 3
    assert list(decode(prompt, {want[1]}, 6)) == want[:2]
    out = PromptedPredictor(decode, tok, 64)(messages, TOOLS)
    assert out.ended and (out.calls or out.text)
