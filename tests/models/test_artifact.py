"""The shipped artifact: pack an SFT adapter small (``models/pack.py``), rebuild the same model
from it (``models/build.py``, ``models/artifact.py``)."""

import json

import pytest
import torch

from bslm.models.build import build_from_artifact, load_model
from bslm.models.files import digest
from bslm.models.pack import pack


def _hello_run(tmp_path, **cfg):
    """A tiny model's SFT run on four small talk records (``cfg``: SFTConfig settings): its
    final adapter; checkpoints under ``tmp_path/run/stage3``."""
    from bslm.train.sft import SFTConfig, train

    data = tmp_path / "train.jsonl"
    rec = {
        "stage": 3,
        "tools": [],
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello there"},
        ],
    }
    data.write_text("\n".join(json.dumps(rec) for _ in range(4)))
    base = dict(model="tiny", data=str(data), out=str(tmp_path / "run"), stages=(3,))
    return train(SFTConfig(**base, use_cpu=True, lr=0.05, **cfg))


def test_pack_and_rebuild_match_the_adapter(tmp_path):
    final = _hello_run(tmp_path, max_steps=(3,), batch_size=2)
    art = pack(final, tmp_path / "art")
    meta = json.loads((art / "artifact.json").read_text())
    assert meta["tool_rows"] == len(load_model(final)[1].tool)
    size = sum(p.stat().st_size for p in art.iterdir() if p.suffix == ".safetensors")
    adapter_size = (final / "adapter_model.safetensors").stat().st_size
    assert size < adapter_size / 3
    merged, tok = load_model(final)
    rebuilt, rtok = build_from_artifact(art)
    assert rtok.offset == tok.offset and len(rtok) == len(tok)
    ids = torch.tensor([tok.encode_text("hello there") + [tok.eot_id]])
    with torch.no_grad():
        a, b = merged(ids).logits, rebuilt(ids).logits
    assert (a - b).abs().max() < 0.1  # bfloat16 LoRA, int8 row changes
    assert (a.argmax(-1) == b.argmax(-1)).all()
    assert digest(art) == digest(art) and len(digest(art)) == 16


def _tiny_run(tmp_path, steps: int):
    """A tiny model's SFT run of ``steps`` steps on one small talk record: its final adapter."""
    from bslm.train.sft import SFTConfig, train

    data = tmp_path / "train.jsonl"
    rec = {
        "stage": 3,
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
    }
    data.write_text(json.dumps(rec))
    cfg = SFTConfig(
        model="tiny",
        data=str(data),
        out=str(tmp_path / "run"),
        stages=(3,),
        max_steps=(steps,),
        batch_size=1,
        use_cpu=True,
    )
    return train(cfg)


def test_default_build_uses_the_shipped_artifact_and_notices_changes(tmp_path, monkeypatch):
    from bslm.models import build, files

    final = _tiny_run(tmp_path, steps=2)
    art = pack(final, tmp_path / "default")
    monkeypatch.setenv("BSLM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "shipped_artifact", lambda: art)
    out = build.build_model()
    assert out == files.default_model_dir() and files.stale_reason(out) is None
    model, tok = load_model()
    expected, _ = build_from_artifact(art)
    ids = torch.tensor([tok.encode_text("hi")])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, expected(ids).logits, atol=1e-5)
    (art / "artifact.json").write_text((art / "artifact.json").read_text() + " ")
    assert "changed" in files.stale_reason(out)


def test_build_an_artifact_into_its_own_directory_leaving_the_default_alone(
    tmp_path, monkeypatch, capsys
):
    """``bslm build --artifact A --out D``: a packed checkpoint as a model directory of its own
    (to export and evaluate it); the default model is not built; bad input is one line."""
    from bslm.cli.main import main
    from bslm.models import files

    final = _tiny_run(tmp_path, steps=2)
    art = pack(final, tmp_path / "art")
    monkeypatch.setenv("BSLM_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ck-model"
    assert main(["build", "--artifact", str(art), "--out", str(out)]) == 0
    assert not files.default_model_dir().exists()
    model, tok = load_model(out)
    expected, _ = build_from_artifact(art)
    ids = torch.tensor([tok.encode_text("hi")])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, expected(ids).logits, atol=1e-5)
    capsys.readouterr()
    for argv, says in [
        (["--artifact", str(art)], "its own --out"),
        (["--artifact", str(art), "--out", str(out), "--base", "tiny"], "no --base"),
        (["--artifact", str(tmp_path), "--out", str(tmp_path / "x")], "is not an artifact"),
        (["--artifact", str(art), "--out", str(out)], "already exists"),
    ]:
        assert main(["build", *argv]) != 0
        err = capsys.readouterr().err.strip()
        assert says in err and "\n" not in err, err


@pytest.mark.slow
def test_the_shipped_default_model_rebuilds_and_answers():
    from bslm.models.chat import encode_chat
    from bslm.models.files import shipped_artifact
    from bslm.models.parser import parse_output
    from bslm.models.torch_backend import greedy

    art = shipped_artifact()
    assert art is not None, "models/default holds no artifact"
    model, tok = build_from_artifact(art)
    assert tok.base_name == json.loads((art / "artifact.json").read_text())["base"]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather of a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    prompt = encode_chat(
        tok, [{"role": "user", "content": "What's the weather in Paris?"}], tools, True
    ).ids
    generated = list(greedy(model, prompt, {tok.eot_id}, 40))
    assert generated[-1] == tok.eot_id  # trained: it closes its turn
    parse_output(tok.decode(generated))  # whatever it wrote, reading it never raises


def test_an_adapter_over_the_default_model_folds_into_its_artifact(tmp_path, monkeypatch):
    """GRPO/DPO train a LoRA over the default model; packing stacks it onto the shipped one."""
    from bslm.models import files
    from bslm.train.rl.policy import save_policy
    from bslm.train.sft import new_adapter

    data = tmp_path / "train.jsonl"
    rec = {
        "stage": 3,
        "tools": [],
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    }
    data.write_text("\n".join(json.dumps(rec) for _ in range(4)))
    from bslm.train.sft import SFTConfig, train

    final = train(
        SFTConfig(
            model="tiny",
            data=str(data),
            out=str(tmp_path / "run"),
            stages=(3,),
            max_steps=(2,),
            batch_size=2,
            use_cpu=True,
            lr=0.05,
        )
    )
    shipped = pack(final, tmp_path / "shipped")
    calibrated = json.loads((shipped / "artifact.json").read_text())
    calibrated["decoding"] = {"call_threshold": 0.4}
    (shipped / "artifact.json").write_text(json.dumps(calibrated))
    monkeypatch.setattr(files, "shipped_artifact", lambda: shipped)
    default, tok = build_from_artifact(shipped)
    policy = new_adapter(default, tok, r=4, alpha=8, dropout=0.0, tool_rows=False)
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    save_policy(policy, tok, tmp_path / "rl", "default")
    ids = torch.tensor([tok.encode_text("hello there") + [tok.eot_id]])
    with torch.no_grad():
        want = policy(ids).logits
    art = pack(tmp_path / "rl", tmp_path / "stacked")
    meta = json.loads((art / "artifact.json").read_text())
    assert meta["lora"]["r"] == calibrated["lora"]["r"] + 4
    assert "decoding" not in meta  # a threshold belongs to the weights it was calibrated on
    rebuilt, _ = build_from_artifact(art)
    with torch.no_grad():
        got = rebuilt(ids).logits
    assert (want - got).abs().max() < 0.1  # bfloat16 LoRA weights
    with torch.no_grad():
        before = build_from_artifact(shipped)[0](ids).logits
    assert (want - before).abs().max() > 0.1  # the adapter did change the model


@pytest.mark.slow
def test_training_continues_from_an_artifact(tmp_path):
    """``init_adapter`` naming a packed artifact starts training where the artifact is: the
    adapter built from it gives the artifact's own model."""
    from bslm.models.build import fresh_model
    from bslm.train.sft import adapter_from_artifact

    steps = dict(max_steps=(3,), batch_size=2)
    art = pack(_hello_run(tmp_path, **steps), tmp_path / "art")
    rebuilt, tok = build_from_artifact(art)
    model, tok2 = fresh_model("tiny")
    peft = adapter_from_artifact(model, tok2, art, dropout=0.0)
    ids = torch.tensor([tok.encode_text("hello there") + [tok.eot_id]])
    with torch.no_grad():
        a, b = rebuilt(ids).logits, peft(input_ids=ids).logits
    assert (a - b).abs().max() < 1e-4
    assert any(p.requires_grad for n, p in peft.named_parameters() if "lora_" in n)
    (tmp_path / "again").mkdir()
    again = _hello_run(tmp_path / "again", **steps, init_adapter=str(art))
    assert (again / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_calibrated_decoding_help_travels_from_the_artifact_to_the_runtime(tmp_path, monkeypatch):
    """calibrate --write records the help in artifact.json; the build, the GGUF
    (``bslm.decoding``) and the backends carry it; the runtime decodes with it unless a flag
    says otherwise; a new pack drops it (it belongs to the weights it was calibrated on)."""
    from bslm.export.gguf import export_gguf
    from bslm.models import build, files
    from bslm.models.engine import Help
    from bslm.models.torch_backend import TorchBackend
    from bslm.runtime.backends.llama import LlamaBackend
    from bslm.runtime.options import AgentOptions
    from bslm.train.eval.calibrate import write_settings

    final = _tiny_run(tmp_path, steps=1)
    art = pack(final, tmp_path / "default")
    before = digest(art)
    figures = {"threshold": 0.7, "n": 10, "own": 10.0, "helped": 20.0, "two_fold": 18.0}
    write_settings(art, figures, copy_bias=1.5)
    assert digest(art) != before  # builds and exports of the old settings are stale
    monkeypatch.setenv("BSLM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(files, "shipped_artifact", lambda: art)
    out = build.build_model()
    settings = files.read_build_record(out)["decoding"]
    assert settings["call_threshold"] == 0.7 and settings["copy_bias"] == 1.5
    assert TorchBackend.open(None).info["decoding"] == settings
    gguf = tmp_path / "m.gguf"
    export_gguf(None, gguf, "f16")
    backend = LlamaBackend.open(gguf, n_ctx=256, store=False)
    try:
        assert backend.info["decoding"] == settings
        assert AgentOptions().help(backend) == Help(0.7, 1.5)
        assert AgentOptions(call_threshold=0.2, copy_bias=0.0).help(backend) == Help(0.2, 0.0)
        assert AgentOptions(mask="off").help(backend) is None
    finally:
        backend.close()
    assert "decoding" not in json.loads((pack(final, art).joinpath("artifact.json")).read_text())


def test_checkpoints_of_a_run_pack_into_their_average(tmp_path):
    """``bslm pack CK1 CK2 OUT``: the tool rows' mean change and the LoRA update closest to
    the mean update at the checkpoints' rank; exact when the rank leaves room for both."""
    from bslm.models.pack import PackError, average

    _hello_run(tmp_path, max_steps=(4,), batch_size=1, lora_r=4, lora_alpha=8, save_steps=2)
    cks = [tmp_path / "run" / "stage3" / f"checkpoint-{n}" for n in (2, 4)]
    arts = [pack(ck, tmp_path / f"a{i}") for i, ck in enumerate(cks)]

    def weights(art):
        return {k: v.float() for k, v in build_from_artifact(art)[0].state_dict().items()}

    w0, w1 = weights(arts[0]), weights(arts[1])
    mean = {k: (w0[k] + w1[k]) / 2 for k in w0}
    apart = sum(float((w0[k] - w1[k]).norm() ** 2) for k in w0) ** 0.5
    assert apart > 0

    def distance(w):
        return sum(float((w[k] - mean[k]).norm() ** 2) for k in w) ** 0.5

    exact, kept = average(arts, tmp_path / "exact", rank=8)
    assert kept > 0.9999
    meta = json.loads((exact / "artifact.json").read_text())
    assert meta["lora"]["r"] == 8 and meta["averaged"] == 2
    assert distance(weights(exact)) < 0.05 * apart  # bfloat16 factors, int8 row changes

    # the default rank: the checkpoints' own, closer to the mean than either checkpoint
    same_rank, kept = average(cks, tmp_path / "avg")  # adapters are packed first
    assert 0 < kept <= 1.0 + 1e-6
    assert json.loads((same_rank / "artifact.json").read_text())["lora"]["r"] == 4
    assert distance(weights(same_rank)) < min(distance(w0), distance(w1))

    # a checkpoint averaged with itself is itself
    itself, kept = average([arts[1], arts[1]], tmp_path / "itself")
    assert kept > 0.9999
    w = weights(itself)
    assert max(float((w[k] - w1[k]).abs().max()) for k in w) < 0.02

    other = tmp_path / "other"
    other.mkdir()
    for p in arts[1].iterdir():
        (other / p.name).write_bytes(p.read_bytes())
    meta = json.loads((other / "artifact.json").read_text())
    (other / "artifact.json").write_text(json.dumps(dict(meta, seed=meta["seed"] + 1)))
    with pytest.raises(PackError, match="seed"):
        average([arts[0], other], tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
