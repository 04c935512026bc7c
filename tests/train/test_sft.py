"""SFT: loss masks and modality weights, a few real TRL steps on the tiny model, resume."""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bslm.train.config import ConfigError, load_config
from bslm.train.sft import (
    DONE,
    FINAL,
    SFTConfig,
    WeightedCollator,
    batch_loss,
    encode_records,
    learned_positions,
    train,
    weighted_loss,
)

TOOLS = [
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


def record(city: str, stage: int) -> dict:
    return {
        "id": f"{stage}-{city}",
        "stage": stage,
        "tools": TOOLS,
        "messages": [
            {"role": "user", "content": f"Weather in {city}?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": {"city": city}},
                    }
                ],
            },
            {"role": "tool", "name": "get_weather", "content": "sunny"},
            {"role": "assistant", "content": f"It is sunny in {city}."},
        ],
    }


def tiny_run(data, out, *overrides: str) -> SFTConfig:
    """The config of a run of the tiny model on ``data`` into ``out``, on the CPU, in
    batches of 2."""
    base = [f"data={data}", f"out={out}", "model=tiny", "batch_size=2", "use_cpu=true"]
    return load_config(SFTConfig, None, [*base, *overrides])


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "train.jsonl"
    recs = [record(c, s) for s in (1, 2, 3) for c in ("Paris", "Rome", "Oslo", "Lima")]
    path.write_text("\n".join(json.dumps(r) for r in recs))
    return path


def test_collator_masks_and_weights(tok):
    feats, skipped = encode_records(tok, [record("Paris", 3)], 512)
    assert skipped == 0
    batch = WeightedCollator(0, tool_weight=2.0, text_weight=0.5)(feats + feats[:1])
    f = feats[0]
    for i, (learn, mod) in enumerate(zip(f["learn"], f["modality"], strict=True)):
        if not learn:
            assert batch["labels"][0, i] == -100 and batch["weights"][0, i] == 0
        else:
            assert batch["labels"][0, i] == f["input_ids"][i]
            assert batch["weights"][0, i] == (2.0 if mod == 1 else 0.5)
    # the user's words and the tool result are never learned
    learned = {t for t, m in zip(f["input_ids"], f["learn"], strict=True) if m}
    assert not learned & set(tok.encode_text("Weather in Paris?")) - set(
        tok.encode_text("It is sunny in Paris.")
    )


def test_weighted_loss_matches_hand_computation():
    torch.manual_seed(0)
    logits = torch.randn(1, 3, 7)
    labels = torch.tensor([[3, 5, -100]])
    weights = torch.tensor([[2.0, 0.5, 0.0]])
    ce = torch.nn.functional.cross_entropy(logits[0, :2], torch.tensor([3, 5]), reduction="none")
    expected = (2.0 * ce[0] + 0.5 * ce[1]) / 2.5
    assert torch.allclose(weighted_loss(logits, labels, weights), expected)


def test_loss_on_learned_positions_equals_full_loss(tiny, tok):
    """Projecting only the learned positions onto the vocabulary gives the same loss."""
    model, _ = tiny
    feats, _ = encode_records(tok, [record("Paris", 3), record("Oslo", 1)], 512)
    batch = WeightedCollator(0, 2.0, 0.5)(feats)
    full = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    expected = weighted_loss(full[:, :-1], batch["labels"][:, 1:], batch["weights"][:, 1:])
    assert len(learned_positions(batch["weights"])) < batch["input_ids"].shape[1] - 1
    assert torch.allclose(batch_loss(model, batch), expected, atol=1e-5)


def test_three_stages_change_weights_and_resume(data, tmp_path):
    from safetensors.torch import load_file

    cfg = tiny_run(data, tmp_path / "run", "max_steps=[3]", "lr=0.01", "logging_steps=1")
    final = train(cfg)
    adapter = load_file(str(final / "adapter_model.safetensors"))
    lora_b = [v for k, v in adapter.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # LoRA B starts at zero
    delta = [v for k, v in adapter.items() if "trainable_tokens" in k]
    assert delta and delta[0].shape[0] > 10_000 and delta[0].abs().sum() > 0
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in log} == {1, 2, 3} and len(log) >= 9
    assert (tmp_path / "run" / "loss.png").stat().st_size > 1000
    # a second run finds every stage done and rebuilds the same final adapter without training
    again = train(cfg)
    assert load_file(str(again / "adapter_model.safetensors")).keys() == adapter.keys()
    # a new run continues from that adapter: a step of size 0 ends where it started
    more = replace(
        cfg,
        out=str(tmp_path / "more"),
        init_adapter=str(final),
        stages=(3,),
        max_steps=(1,),
        lr=0.0,
    )
    cont = load_file(str(train(more) / "adapter_model.safetensors"))
    assert cont.keys() == adapter.keys()
    assert all(torch.equal(cont[k], adapter[k]) for k in adapter)
    # the run keeps its own copy of where it started: resumed after the adapter it started
    # from was replaced (shipping a new model replaces models/default), it starts from the copy
    shutil.move(final, tmp_path / "moved")
    (tmp_path / "more" / "stage3" / DONE).unlink()
    shutil.rmtree(tmp_path / "more" / FINAL)
    again = load_file(str(train(more) / "adapter_model.safetensors"))
    assert all(torch.equal(again[k], adapter[k]) for k in adapter)
    with pytest.raises(ValueError, match="neither a LoRA directory nor an artifact"):
        train(replace(more, out=str(tmp_path / "bad"), init_adapter=str(tmp_path)))


def test_config_errors_are_one_line():
    with pytest.raises(ConfigError, match="unknown config key"):
        load_config(SFTConfig, None, ["lr_typo=1"])
    with pytest.raises(ConfigError, match="expected int"):
        load_config(SFTConfig, None, ["batch_size=big"])
    with pytest.raises(ConfigError, match="not key=value"):
        load_config(SFTConfig, None, ["lr"])


def test_bf16_auto_takes_bfloat16_only_where_the_machine_multiplies_in_it(monkeypatch, tmp_path):
    from bslm.train import config
    from bslm.train.sft import train

    cpuinfo = tmp_path / "cpuinfo"
    monkeypatch.setattr(config, "CPUINFO", cpuinfo)
    for flags, native in (
        ("fpu sse2 avx avx2 fma", False),  # bfloat16 emulated: tens of times slower
        ("fpu avx2 avx512f avx512bw avx512_bf16", True),
        ("fpu avx2 amx_bf16 amx_tile", True),
    ):
        cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\n")
        assert config.native_bfloat16(use_cpu=True) is native
        assert config.bfloat16("auto", use_cpu=True) is native
        for fixed in (True, False):
            assert config.bfloat16(fixed, use_cpu=True) is fixed
    cpuinfo.write_text("Features\t: fp asimd bf16 i8mm\n")  # Arm
    assert config.bfloat16("auto", use_cpu=True)
    cpuinfo.unlink()
    assert not config.native_bfloat16(use_cpu=True)
    cfg = load_config(SFTConfig, None, ["bf16=sometimes", f"out={tmp_path / 'run'}"])
    with pytest.raises(ConfigError, match="bf16: expected true, false or auto, got 'sometimes'"):
        train(cfg)
    assert not (tmp_path / "run").exists()


def test_shipped_configs_load():
    for path in sorted(Path("configs").glob("sft_*.yaml")):
        load_config(SFTConfig, path)


def test_checkpoints_are_bslm_adapters_that_pack(data, tmp_path):
    """A checkpoint taken while training goes on can be evaluated and packed for shipping."""
    from bslm.models.build import load_model
    from bslm.models.files import is_model_dir
    from bslm.models.pack import pack

    cfg = tiny_run(data, tmp_path / "run", "stages=[3]", "max_steps=[2]", "save_steps=1")
    train(cfg)
    ckpt = tmp_path / "run" / "stage3" / "checkpoint-2"
    assert is_model_dir(ckpt)
    model, tok = load_model(ckpt)
    assert len(tok) == model.get_input_embeddings().weight.shape[0]
    art = pack(ckpt, tmp_path / "art")
    assert (art / "artifact.json").is_file()


def test_a_kept_run_resumes_on_a_machine_without_its_directory(data, tmp_path, monkeypatch, capsys):
    """The kept state (train/keep.py) is small, and restored into an empty run directory it
    resumes the run at the kept update: same stage, same schedule position, the kept weights."""
    from safetensors.torch import load_file

    import bslm.train.keep as kept
    from bslm.train.keep import KEEP_FILE, kept_progress

    keep = tmp_path / "kept"
    first = tiny_run(
        data,
        tmp_path / "a",
        "stages=[1,3]",
        "max_steps=[2,4]",
        "save_steps=1",
        "keep_steps=2",
        "logging_steps=1",
        f"keep={keep}",
    )
    # the first run dies once it has kept update 2 of stage 3
    keep_state = kept.keep_state

    def keep_then_die(cfg, out, adapter, stage, step, sha):
        keep_state(cfg, out, adapter, stage, step, sha)
        if stage == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(kept, "keep_state", keep_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(first)
    monkeypatch.setattr(kept, "keep_state", keep_state)
    assert kept_progress(keep) == (1, 2)
    meta = json.loads((keep / KEEP_FILE).read_text())
    assert meta["stage"] == 3 and meta["done"] == [1]
    assert (keep / "optimizer.pt").stat().st_size < 10_000  # moments are not kept
    kept_log = json.loads((keep / "trainer_state.json").read_text())["log_history"]
    # another machine: an empty run directory, the same data
    second = replace(first, out=str(tmp_path / "b"))
    train(second)
    assert "restored the kept state" in capsys.readouterr().out
    assert (tmp_path / "b" / "stage1" / DONE).is_file()
    assert not (tmp_path / "b" / "stage1" / FINAL).exists()  # stage 1 was not trained again
    ckpt = tmp_path / "b" / "stage3" / "checkpoint-4"
    log = json.loads((ckpt / "trainer_state.json").read_text())["log_history"]
    # updates 1-2 come from the kept state; only 3-4 were trained on this machine
    assert [r["step"] for r in log if "loss" in r] == [1, 2, 3, 4]
    assert [r for r in log if r["step"] <= 2] == kept_log
    assert kept_progress(keep) == (2, 0)  # all stages done
    assert load_file(str(tmp_path / "b" / FINAL / "adapter_model.safetensors"))
    # data that differs from the kept run's is refused with the command that makes it again
    other = tmp_path / "other.jsonl"
    other.write_text(data.read_text().replace("Paris", "Nice"))
    with pytest.raises(ConfigError, match="not the data the kept run"):
        train(replace(first, out=str(tmp_path / "c"), data=str(other), stages=(1, 3)))
    with pytest.raises(ConfigError, match="holds a run with other"):
        train(replace(first, out=str(tmp_path / "d"), stages=(3,), max_steps=(2,)))


def test_adapters_are_saved_without_the_base_embedding(data, tmp_path, monkeypatch):
    """Checkpoints and finals hold the LoRA and the trained tool rows, not a copy of the
    embedding (the base's, rebuilt when the adapter is loaded), although PEFT would save it
    for a base on disk whose config has fewer rows (the base before the tool rows)."""
    from safetensors.torch import load_file

    import bslm.train.sft as sft

    prepare = sft.prepare_model

    def from_a_base_on_disk(cfg):
        model, tok = prepare(cfg)
        base = tmp_path / "base"
        model.config.save_pretrained(base)
        on_disk = json.loads((base / "config.json").read_text())
        (base / "config.json").write_text(json.dumps(dict(on_disk, vocab_size=tok.offset)))
        model.name_or_path = str(base)  # what PEFT records as the base
        return model, tok

    monkeypatch.setattr(sft, "prepare_model", from_a_base_on_disk)

    cfg = tiny_run(data, tmp_path / "run", "stages=[3]", "max_steps=[1]", "save_steps=1")
    final = train(cfg)
    for d in (final, tmp_path / "run" / "stage3" / "checkpoint-1"):
        keys = load_file(str(d / "adapter_model.safetensors")).keys()
        assert any("trainable_tokens_delta" in k for k in keys)
        assert not [k for k in keys if "lora_" not in k and "trainable_tokens" not in k]


@pytest.mark.parametrize("bf16", [False, True])
def test_tool_rows_apart_give_the_same_loss_and_gradients(bf16):
    """The tool rows looked up and multiplied apart from the frozen rows: PEFT's values and
    gradients, with no copy of the whole weight (nor of its gradient)."""
    from bslm.models.build import fresh_model
    from bslm.train.sft import frozen_in_bfloat16, new_adapter, tool_rows_apart

    model, tok = fresh_model("tiny")
    peft = new_adapter(model, tok, dropout=0.0)
    torch.manual_seed(0)
    for p in peft.parameters():
        if p.requires_grad:  # LoRA's B starts at zero, the tool rows at the base's: move both
            p.data += 0.05 * torch.randn_like(p)
    if bf16:
        frozen_in_bfloat16(peft)
    feats, _ = encode_records(tok, [record("Paris", 3), record("Oslo", 1)], 512)
    batch = WeightedCollator(0, 2.0, 0.5)(feats)
    assert (batch["input_ids"] >= tok.offset).any() and (batch["input_ids"] < tok.offset).any()

    def loss_and_grads():
        peft.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = batch_loss(peft, batch)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in peft.named_parameters() if p.requires_grad}
        return loss.detach(), grads

    loss, grads = loss_and_grads()
    assert tool_rows_apart(peft) == 2  # the input embedding and the tied output layer
    loss2, grads2 = loss_and_grads()
    tol = 2e-2 if bf16 else 1e-5
    assert torch.allclose(loss, loss2, atol=tol, rtol=tol)
    rows = [n for n in grads if "trainable_tokens_delta" in n]
    assert rows and grads[rows[0]].abs().sum() > 0
    for n, g in grads.items():
        assert torch.allclose(g, grads2[n], atol=tol * g.abs().max().item() + 1e-7), n


@pytest.mark.slow
def test_two_processes_train_as_one_does(data, tmp_path):
    """``processes: 2`` (a helper started by the run, gloo between them): each process takes
    its share of an update's examples, and the update is the one a single process makes."""
    import os
    import subprocess
    import sys

    from safetensors.torch import load_file

    common = ["batch_size=1", "grad_accum=2", "lora_dropout=0.0", "stages=[1]"]
    common += ["max_steps=[2]", "lr=0.01", "save_steps=1", "logging_steps=1"]
    one = train(tiny_run(data, tmp_path / "one", *common))
    bslm = Path(sys.executable).with_name("bslm")
    argv = [f"data={data}", f"out={tmp_path / 'two'}", "model=tiny", "use_cpu=true"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    ran = subprocess.run(
        [str(bslm), "train", "sft", *argv, *common, "processes=2"],
        check=True,
        env=env,
        capture_output=True,
        text=True,
    )
    share = max(1, (os.cpu_count() or 1) // 2)  # the cores shared out, none taken twice
    assert f"stage 1: 2 processes of [{share}, {share}] threads" in ran.stdout
    two = tmp_path / "two" / "final"
    assert (tmp_path / "two" / "stage1" / "checkpoint-2" / "rng_state_1.pth").is_file()
    a = load_file(str(one / "adapter_model.safetensors"))
    b = load_file(str(two / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    moved = [k for k in a if "lora_B" in k]
    assert moved and any(a[k].abs().sum() > 0 for k in moved)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    # the same loss and gradient norm logged: an update is the mean over its examples
    logs = [
        [json.loads(x) for x in (tmp_path / run / "log.jsonl").read_text().splitlines()]
        for run in ("one", "two")
    ]
    assert len(logs[0]) == 2
    for r1, r2 in zip(*logs, strict=True):
        assert r1["loss"] == pytest.approx(r2["loss"], rel=1e-4)
        assert r1["grad_norm"] == pytest.approx(r2["grad_norm"], rel=1e-3)


def test_processes_that_cannot_train_are_refused(data, tmp_path):
    with pytest.raises(ConfigError, match="not a multiple"):
        train(tiny_run(data, tmp_path / "r", "processes=2", "grad_accum=3"))
    with pytest.raises(ConfigError, match="for CPU training"):
        train(tiny_run(data, tmp_path / "r", "processes=2", "use_cpu=false", "grad_accum=2"))


def test_the_kept_state_holds_every_process_random_state(tmp_path):
    from bslm.train.keep import state_files

    for name in ("trainer_state.json", "rng_state_0.pth", "rng_state_1.pth", "other.bin"):
        (tmp_path / name).write_text("x")
    assert state_files(tmp_path) == ["trainer_state.json", "rng_state_0.pth", "rng_state_1.pth"]


def test_balanced_shares_split_evenly():
    import itertools
    import random

    from bslm.train.sft import balanced_shares

    rng = random.Random(0)
    for _ in range(100):
        costs = [rng.randint(50, 1000) for _ in range(8)]
        shares = balanced_shares(costs, 2, 4)
        assert sorted(i for s in shares for i in s) == list(range(8))
        assert all(len(s) == 4 for s in shares)
        got = max(sum(costs[i] for i in s) for s in shares)
        best = min(
            max(sum(costs[i] for i in c), sum(costs) - sum(costs[i] for i in c))
            for c in itertools.combinations(range(8), 4)
        )
        assert got == best  # two shares of four: the exact split
    costs = [9, 1, 1, 1, 5, 4, 3, 2, 1]  # three shares: the greedy deal, then swaps
    shares = balanced_shares(costs, 3, 3)
    assert sorted(i for s in shares for i in s) == list(range(9))
    assert max(sum(costs[i] for i in s) for s in shares) == 11  # 9 + 1 + 1: the least
    costs = [rng.randint(1, 100) for _ in range(60)]
    shares = balanced_shares(costs, 3, 20)
    assert sorted(i for s in shares for i in s) == list(range(60))
    sums = [sum(costs[i] for i in s) for s in shares]
    assert max(sums) - min(sums) <= max(costs)


def test_a_balanced_sampler_keeps_each_updates_examples():
    """Processes side by side, balanced: each update is the same examples the plain sampler
    gives it (the epoch's shuffled order, seed + epoch), shared out with less waiting."""
    import random

    from accelerate.data_loader import SeedableRandomSampler

    from bslm.train.sft import balanced_sampler

    rng = random.Random(1)
    lengths = [rng.randint(30, 1024) for _ in range(101)]
    for epoch in (0, 1):
        torch.manual_seed(3)
        plain = SeedableRandomSampler(data_source=range(len(lengths)))
        plain.set_epoch(epoch)
        order = list(plain)
        ranks = []
        for rank in (0, 1):
            s = balanced_sampler(lengths, 2, 4, rank, seed=3)
            s.set_epoch(epoch)
            ranks.append([b[0] for b in s])
        assert len(ranks[0]) == len(ranks[1]) == 13 * 4
        for k in range(12):  # the full updates (the last one is the tail)
            mine = [ranks[r][4 * k : 4 * k + 4] for r in (0, 1)]
            block = order[8 * k : 8 * k + 8]
            assert sorted(mine[0] + mine[1]) == sorted(block)
            took = max(sum(lengths[i] for i in m) for m in mine)
            dealt = max(sum(lengths[i] for i in block[r::2]) for r in (0, 1))
            assert took <= dealt
        assert set(ranks[0][48:] + ranks[1][48:]) >= set(order[96:])
