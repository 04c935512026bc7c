"""``bslm run``: one request end to end, as a subprocess (the demo MCP server, a tiny model)."""

import json
import os
import subprocess
import sys

import pytest

BSLM = [sys.executable, "-c", "import sys; from bslm.cli.main import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, tiny):
    from bslm.models.build import save_model

    model, tok = tiny
    return save_model(model, tok, tmp_path_factory.mktemp("m") / "tiny")


def bslm(*args, env=None, timeout=300):
    e = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([*BSLM, *args], capture_output=True, text=True, timeout=timeout, env=e)


@pytest.mark.slow
def test_run_json_is_one_object(tiny_dir, tmp_path):
    r = bslm(
        "run",
        "What time is it in Tokyo?",
        "--model",
        str(tiny_dir),
        "--backend",
        "torch",
        "--max-new-tokens",
        "24",
        "--max-steps",
        "2",
        "--json",
        "--approve",
        "all",
        env={"BSLM_DEMO_DATA": str(tmp_path), "BSLM_MCP_CONFIG": ""},
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # exactly one JSON document, nothing else on stdout
    assert set(out) == {"answer", "tool_calls", "tokens", "ms", "timing"}
    assert isinstance(out["answer"], str) and out["ms"] > 0
    timing = out["timing"]
    assert {"model_s", "servers_s", "head_s", "prefill_s", "decode_s", "tools_s"} <= set(timing)
    assert all(v >= 0 for v in timing.values()) and timing["decode_s"] > 0
    assert out["tokens"]["prompt"] > 100 and out["tokens"]["completion"] > 0
    for c in out["tool_calls"]:
        assert set(c) == {"server", "name", "arguments", "result", "is_error", "ms"}
        assert c["server"] == "demo"


@pytest.mark.parametrize(
    "args,message",
    [
        (["run", "hi", "--mcp-config", "/no/such.json"], "does not exist"),
        (["run", "  "], "prompt is empty"),
        (["run", "hi", "--model", "/no/such/model.gguf"], "does not exist"),
    ],
)
def test_run_bad_input_is_one_line(args, message, tmp_path):
    r = bslm(*args, env={"BSLM_CACHE": str(tmp_path)}, timeout=120)
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert err.startswith("bslm: error:") and message in err and "\n" not in err


def test_bad_mcp_config_is_one_line(tmp_path):
    cfg = tmp_path / "mcp.json"
    cfg.write_text('{"mcpServers": {"x": {"args": []}}}')
    r = bslm("run", "hi", "--mcp-config", str(cfg), "--model", "/no/such.gguf", timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith("bslm: error:") and r.stderr.count("\n") == 1


def test_a_thought_ends_its_line_before_the_call_or_answer_that_follows(capsys):
    from bslm.runtime.events import Answer, CallEvent, TextDelta
    from bslm.runtime.run import Printer

    p = Printer()
    p(TextDelta("The user wants ", kind="think"))
    p(TextDelta("the time.", kind="think"))
    p(CallEvent(id="c1", name="current_time", arguments={"timezone": "Asia/Tokyo"}))
    p(TextDelta("Thinking again", kind="think"))
    p(TextDelta("It is noon.", kind="text"))
    p(Answer("It is noon."))
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[0] == "The user wants the time."
    assert lines[1].startswith("→ current_time")
    assert lines[2] == "Thinking again"
    p(TextDelta("done\n", kind="think"))
    p(Answer(""))
    assert capsys.readouterr().err == "done\n"  # a thought that ended its line gets no empty one
