"""The bslm command line: help, bad input, tokenize, build from a local checkpoint."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bslm.cli.main import main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("build", "tokenize", "chat"):
        assert cmd in out


def test_each_room_adds_the_commands_it_is_listed_with():
    import argparse

    from bslm.cli.main import ROOMS, parser

    def commands(ap):
        return set(
            next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction)).choices
        )

    assert commands(parser()) == {c for cs in ROOMS.values() for c in cs}
    for listed in ROOMS.values():
        assert commands(parser(listed[0])) == set(listed)


def test_run_and_chat_load_only_their_rooms_command_line():
    script = (
        "import sys; from bslm.cli.main import parser; "
        "parser('run').parse_args(['run', 'hi']); parser('chat').parse_args(['chat']); "
        "print(sorted(m for m in ('bslm.export.cli', 'bslm.train.cli', 'bslm.models.cli', "
        "'numpy', 'gguf') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_console_script_runs():
    bslm = [sys.executable, "-c", "import sys; from bslm.cli.main import main; sys.exit(main())"]
    r = subprocess.run([*bslm, "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "tokenize" in r.stdout


@pytest.mark.parametrize(
    "content,message",
    [("{not json", "is not JSON"), ('"a string"', "expected")],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    f = tmp_path / "in.json"
    f.write_text(content)
    assert main(["tokenize", str(f), "--base", "smollm2-135m"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bslm: error:") and message in err and "\n" not in err


def test_missing_file_and_unknown_base(tmp_path, capsys):
    assert main(["tokenize", str(tmp_path / "nope.json"), "--base", "smollm2-135m"]) == 2
    assert "cannot read" in capsys.readouterr().err
    f = tmp_path / "t.json"
    f.write_text("[]")
    assert main(["tokenize", str(f), "--base", "no-such-base"]) == 2
    assert "neither a shipped base" in capsys.readouterr().err


def test_tokenize_prints_items_and_counts(tmp_path, capsys):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    f = tmp_path / "tools.json"
    f.write_text(json.dumps(tools))
    assert main(["tokenize", str(f), "--base", "smollm2-135m"]) == 0
    out = capsys.readouterr().out
    assert "⟨tool⟩ get_weather" in out and "⟨req_string⟩ city" in out
    assert "tool," in out and "text" in out


def test_build_from_a_local_checkpoint(tok, tmp_path, capsys):
    from bslm.models.build import load_model
    from bslm.models.tiny import build_tiny

    model, _ = build_tiny(tok=tok)
    model.resize_token_embeddings(tok.offset)  # a text-only checkpoint
    ckpt = tmp_path / "ckpt"
    model.save_pretrained(ckpt)
    tok.base.save_pretrained(ckpt)
    out = tmp_path / "built"
    assert main(["build", "--base", str(ckpt), "--out", str(out)]) == 0
    built, built_tok = load_model(out)
    assert built.get_input_embeddings().weight.shape[0] == len(built_tok) == len(tok)
    assert main(["build", "--base", str(out), "--out", str(tmp_path / "again")]) == 2
    assert "already a bslm model" in capsys.readouterr().err
    assert main(["build", "--base", str(ckpt), "--out", str(out)]) == 2  # exists, no --force
    assert "--force" in capsys.readouterr().err
    assert main(["build", "--base", str(ckpt), "--out", str(out), "--if-missing"]) == 0
    assert main(["build", "--base", str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert (
        main(["build", "--base", str(ckpt), "--out", str(tmp_path / "mine"), "--if-missing"]) == 2
    )
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_build_if_missing_rebuilds_a_stale_model(tok, tmp_path, capsys):
    from bslm.models.files import stale_reason
    from bslm.models.tiny import build_tiny

    model, _ = build_tiny(tok=tok)
    model.resize_token_embeddings(tok.offset)
    ckpt = tmp_path / "ckpt"
    model.save_pretrained(ckpt)
    tok.base.save_pretrained(ckpt)
    out = tmp_path / "built"
    assert main(["build", "--base", str(ckpt), "--out", str(out)]) == 0
    meta = out / "bslm_tokenizer.json"
    data = json.loads(meta.read_text())
    data["symbols"] = data["symbols"][:-1]  # as if written by an older tool language
    meta.write_text(json.dumps(data))
    assert "does not match" in stale_reason(out)
    assert main(["build", "--base", str(ckpt), "--out", str(out), "--if-missing"]) == 0
    assert "rebuilding" in capsys.readouterr().out
    assert stale_reason(out) is None


def test_data_generate_and_import_through_the_cli(tmp_path, capsys):
    out = tmp_path / "data"
    args = [
        "data",
        "generate",
        f"out={out}",
        "stage1=8",
        "stage2=8",
        "stage3=12",
        "test=6",
        "progress=false",
    ]
    assert main(args) == 0
    assert {p.name for p in out.glob("*.jsonl")} == {
        "train.jsonl",
        "test_seen.jsonl",
        "test_unseen.jsonl",
    }
    assert main(["data", "generate", f"out={out}", "stage1=-3"]) == 2
    assert main(["data", "generate", "no_such_key=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("bslm: error:") for e in err)
    fixture = next(Path(__file__).parents[1].glob("train/data/fixtures/*openai*"))
    target = tmp_path / "imported.jsonl"
    assert main(["data", "import", str(fixture), "--format", "openai", "-o", str(target)]) == 0
    assert target.read_text().count("\n") >= 1
    assert main(["data", "import", str(fixture), "--format", "openai", "-o", str(target)]) == 2
    assert main(["data", "import", str(fixture), "--format", "csv", "-o", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_help_lists_training_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("data", "train", "eval"):
        assert cmd in out


def test_only_user_errors_are_one_line_a_bug_shows_its_traceback(monkeypatch, capsys):
    from bslm.models import cli as models_cli
    from bslm.models.errors import BslmError

    def user_error(args):
        raise BslmError("the file is not there: give another")

    def bug(args):
        raise ValueError("a bug")

    monkeypatch.setattr(models_cli, "_tokenize", user_error)
    assert main(["tokenize", "x.json"]) == 2
    assert capsys.readouterr().err == "bslm: error: the file is not there: give another\n"
    monkeypatch.setattr(models_cli, "_tokenize", bug)
    with pytest.raises(ValueError, match="a bug"):
        main(["tokenize", "x.json"])


def test_run_and_chat_share_the_agent_options():
    from bslm.cli.main import parser

    ap = parser()
    run = ap.parse_args(["run", "hi", "--mask", "soft", "--ctx", "512", "--approve", "all"])
    chat = ap.parse_args(["chat", "--mask", "soft", "--ctx", "512", "--approve", "all"])
    from bslm.runtime.cli import agent_options

    assert agent_options(run) == agent_options(chat)
    assert agent_options(run)["n_ctx"] == 512
    assert agent_options(run)["call_threshold"] is None  # the model's calibrated setting
    helped = ap.parse_args(["run", "hi", "--call-threshold", "0.8", "--copy-bias", "2"])
    assert (agent_options(helped)["call_threshold"], agent_options(helped)["copy_bias"]) == (0.8, 2)


@pytest.mark.parametrize("value", ["1.5", "-0.1", "often"])
def test_a_call_threshold_is_a_probability(capsys, value):
    with pytest.raises(SystemExit) as e:
        main(["run", "hi", "--call-threshold", value])
    assert e.value.code == 2
    assert "is not a probability between 0 and 1" in capsys.readouterr().err


def test_training_commands_let_idle_threads_sleep(monkeypatch, capsys):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "OMP_WAIT_POLICY" not in os.environ  # decoding keeps OpenMP's default
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
