"""GRPO and DPO on the tiny model: rollouts account for every token, a few steps change the
weights, stalled tasks get partial solutions, pairs are every correct × incorrect chain."""

import json

import numpy as np
import pytest
import torch

from bslm.models.chat import encode_chat
from bslm.models.choice import sample
from bslm.models.parser import ModelOutput
from bslm.train.rl.dpo import DPOConfig, pairs_for
from bslm.train.rl.envs import make_env, run_episode
from bslm.train.rl.envs.base import reference_act
from bslm.train.rl.grpo import GRPOConfig, Guidance, episode_reward, reward_columns
from bslm.train.rl.rewards import REWARDS, format_reward
from bslm.train.rl.rollout import play


def _lora_weights(path):
    from safetensors.torch import load_file

    return load_file(str(path / "adapter_model.safetensors"))


def test_sample_is_greedy_at_zero_and_a_distribution_above():
    logits = np.array([0.0, 3.0, 1.0], dtype=np.float32)
    t, logp = sample(logits, 0.0, np.random.default_rng(0))
    assert t == 1 and logp == pytest.approx(np.log(np.exp(3) / np.exp(logits).sum()))
    draws = [sample(logits, 1.0, np.random.default_rng(i))[0] for i in range(200)]
    assert set(draws) == {0, 1, 2} and draws.count(1) > 100


@pytest.mark.parametrize("mode", ["hard", "off"])
def test_rollout_tokens_line_up_with_the_episode(tiny, mode):
    model, tok = tiny
    env = make_env("math")
    task = env.tasks("train", 1)[0]
    ep, s = play(
        model,
        tok,
        env,
        task,
        mode=mode,
        temperature=1.0,
        max_turn_tokens=12,
        max_tokens=64,
        rng=np.random.default_rng(0),
    )
    assert s.prompt_ids == encode_chat(tok, task.messages, task.tools, True).ids
    assert len(s.completion_ids) == len(s.env_mask) == len(s.logprobs) <= 64 + 64
    model_tokens = [t for t, m in zip(s.completion_ids, s.env_mask, strict=True) if m]
    assert 0 < len(model_tokens) <= 12 * len(ep.outputs)
    assert all(lp <= 0 for lp in s.logprobs)
    assert all(lp == 0 for lp, m in zip(s.logprobs, s.env_mask, strict=True) if not m)
    # every results turn the environment wrote sits in the completion, masked out
    assert sum(1 - m for m in s.env_mask) > 0 or len(ep.outputs) == 1


def test_a_rollout_leaves_the_model_in_the_mode_it_found(tiny):
    """GRPO logs its metrics as training ones only while the policy is in training mode."""
    model, tok = tiny
    env = make_env("math")
    task = env.tasks("train", 1)[0]
    model.train()
    try:
        play(model, tok, env, task, mode="off", max_turn_tokens=2, max_tokens=4)
        assert model.training
    finally:
        model.eval()
    play(model, tok, env, task, mode="off", max_turn_tokens=2, max_tokens=4)
    assert not model.training


def test_rollout_under_the_hard_mask_calls_only_offered_tools(tiny):
    model, tok = tiny
    env = make_env("calls")
    names = set()
    for task in env.tasks("train", 4):
        ep, _ = play(
            model,
            tok,
            env,
            task,
            mode="hard",
            temperature=1.5,
            max_turn_tokens=24,
            max_tokens=96,
            rng=np.random.default_rng(1),
        )
        offered = {t["function"]["name"] for t in task.tools}
        for out in ep.outputs:
            for c in out.calls:
                names.add(c.name)
                assert c.name in offered
    assert names <= {t["function"]["name"] for task in env.tasks("train", 4) for t in task.tools}


def test_rollout_starts_after_a_partial_solution(tiny):
    model, tok = tiny
    env = make_env("math")
    task = next(t for t in env.tasks("train", 10) if len(t.solution) >= 2)
    _, plain = play(
        model,
        tok,
        env,
        task,
        mode="off",
        max_turn_tokens=4,
        max_tokens=8,
        rng=np.random.default_rng(0),
    )
    _, guided = play(
        model,
        tok,
        env,
        task,
        mode="off",
        prefix=1,
        max_turn_tokens=4,
        max_tokens=8,
        rng=np.random.default_rng(0),
    )
    assert len(guided.prompt_ids) > len(plain.prompt_ids)
    assert guided.prompt_ids[: len(plain.prompt_ids) - 1] == plain.prompt_ids[:-1]


def test_guidance_levels_rise_on_a_stalled_group_and_fall_once_solved(tmp_path):
    task = next(t for t in make_env("math").tasks("train", 10) if len(t.solution) >= 3)
    g = Guidance(tmp_path / "g.json")
    assert g.prefix(task) == 0
    g.update(task, [0.0, 0.0])
    g.update(task, [0.0, 0.0])
    assert g.prefix(task) == 2
    g.update(task, [1.0, 0.0])  # mixed: the group has a signal, stay
    assert g.prefix(task) == 2
    g.update(task, [1.0, 1.0])
    assert g.prefix(task) == 1
    g.save()  # the rollout saves once per batch
    assert Guidance(tmp_path / "g.json").prefix(task) == 1  # survives a restart
    for _ in range(10):
        g.update(task, [0.0])
    assert g.prefix(task) == len(task.solution) - 1  # never the whole solution


def test_interleaved_tasks_take_the_environments_in_turn():
    from bslm.train.rl.envs import interleaved_tasks, train_tasks

    envs = ("calls", "math", "logic")
    picked = interleaved_tasks(envs, 7, seed=0)
    assert [t.env for t in picked] == ["calls", "math", "logic"] * 2 + ["calls"]
    pool = {t.id for t in train_tasks(envs, 3, seed=0)}
    assert len({t.id for t in picked}) == 7 and {t.id for t in picked} <= pool


def test_reward_columns_give_references_only_to_function_calling_tasks():
    calls = make_env("calls").tasks("train", 1)[0]
    math = make_env("math").tasks("train", 1)[0]
    assert reward_columns(calls)["calls"] == calls.solution[0]
    assert reward_columns(math)["calls"] is None and reward_columns(math)["tools"] == math.tools


def test_reward_columns_rules_are_the_system_prompts_not_an_environments_data():
    """The logic worlds' inference rules are the environment's data, not rules the answer must
    follow; a calls task's system-prompt rules reach the rule reward."""
    from bslm.train.rl.rewards import rule_reward

    logic = make_env("logic").tasks("train", 1)[0]
    assert logic.data["rules"] and reward_columns(logic)["rules"] is None
    calls = next(t for t in make_env("calls").tasks("train", 200) if t.data.get("system_rules"))
    columns = reward_columns(calls)
    assert columns["rules"] == calls.data["system_rules"]
    out = [ModelOutput(parts=["ok"], ended=True)]
    assert rule_reward(out * 2, rules=[reward_columns(logic)["rules"], columns["rules"]])[0] is None
    assert 0.0 <= rule_reward(out, rules=[columns["rules"]])[0] <= 1.0


def test_episode_reward_reads_the_episodes_not_trl_text():
    wrapped = episode_reward(format_reward, "format")
    ok = [ModelOutput(parts=["done"], ended=True)]
    assert wrapped.__name__ == "format"
    assert wrapped(
        prompts=["x", "y"],
        completions=["junk", "junk"],
        completion_ids=[[1], [2]],
        episode=[ok, [ModelOutput()]],
        trainer_state=None,
    ) == [1.0, 0.0]


@pytest.mark.parametrize(
    ("rollouts", "per_generation"),
    [("llama", 1), ("llama", 2), pytest.param("torch", 1, marks=pytest.mark.slow)],
)
def test_grpo_steps_change_the_weights(tmp_path, monkeypatch, rollouts, per_generation):
    """Both samplers train; with the mirror, the episodes of a generation are decoded together
    (train/rl/batched.py), and two steps may share one generation of rollouts."""
    from bslm.train.rl.grpo import train

    # The random tiny model never solves a task: a reward that varies with what it writes
    # gives the groups the spread GRPO learns from.
    def length(completions, **kw):
        return [float(len(c[0].text) % 7) if c else 0.0 for c in completions]

    monkeypatch.setitem(REWARDS, "length", length)
    cfg = GRPOConfig(
        model="tiny",
        envs=("math", "calls"),
        tasks=2,
        group_size=2,
        prompts_per_step=2,
        max_steps=2,
        out=str(tmp_path / "grpo"),
        use_cpu=True,
        max_turn_tokens=16,
        max_tokens=48,
        lr=1e-2,
        save_steps=1,
        rewards={"length": 1.0, "outcome": 1.0, "format": 0.1},
        rollouts=rollouts,
        steps_per_generation=per_generation,
    )
    final = train(cfg)
    weights = _lora_weights(final)
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)  # B starts at zero
    rows = [json.loads(line) for line in (tmp_path / "grpo" / "log.jsonl").read_text().splitlines()]
    # a row per generation of rollouts, with their rewards
    assert len(rows) == 2 // per_generation and all("rewards/length/mean" in r for r in rows)
    if rollouts == "llama":
        # TRL compared the mirror's log-probabilities with the policy's (q8_0: close, not equal)
        assert all(0 <= r["sampling/sampling_logp_difference/mean"] < 0.5 for r in rows)
        assert not list((tmp_path / "grpo" / "mirror").glob("*.gguf"))  # gone with the run
    assert (tmp_path / "grpo" / "rewards.png").stat().st_size > 0
    ckpt = tmp_path / "grpo" / "checkpoint-2"
    assert (ckpt / "bslm_adapter.json").is_file() and (ckpt / "bslm_tokenizer.json").is_file()


def test_grpo_refuses_an_unknown_reward_or_mask(tmp_path):
    from bslm.train.rl.grpo import train

    with pytest.raises(ValueError, match="nope"):
        train(GRPOConfig(model="tiny", rewards={"nope": 1.0}, out=str(tmp_path / "a")))
    with pytest.raises(ValueError, match="mask"):
        train(GRPOConfig(model="tiny", mask="sometimes", out=str(tmp_path / "b")))
    with pytest.raises(ValueError, match="rollouts"):
        train(GRPOConfig(model="tiny", rollouts="vllm", out=str(tmp_path / "c")))
    with pytest.raises(ValueError, match="is_mode"):
        train(GRPOConfig(model="tiny", is_mode="maybe", out=str(tmp_path / "d")))


def test_pairs_prefer_each_chain_over_those_scoring_lower():
    chains = [{"ids": [i], "mask": [1], "score": s} for i, s in enumerate([1.0, 0.0, 1.0, 0.5])]
    pairs = {(p["chosen_ids"][0], p["rejected_ids"][0]) for p in pairs_for(chains)}
    assert pairs == {(0, 1), (0, 3), (2, 1), (2, 3), (3, 1)}  # partial credit beats none
    assert pairs_for(chains, max_pairs=2)[0]["rejected_ids"] == [1]  # widest gap first
    assert {p["rejected_ids"][0] for p in pairs_for(chains, max_pairs=2)} == {1}
    wide = {(p["chosen_ids"][0], p["rejected_ids"][0]) for p in pairs_for(chains, min_gap=0.6)}
    assert wide == {(0, 1), (2, 1)}  # 1.0 over 0.5 is too close
    assert pairs_for([c for c in chains if c["score"] == 1.0]) == []


def _reference_chain(tok, env, task):
    """The task's reference play as completion tokens and environment mask."""
    ep = run_episode(env, task, reference_act(task))
    ids, mask = [], []
    for m in ep.messages[len(task.messages) :]:
        enc = encode_chat(tok, [m], bos=False)
        ids += enc.ids
        mask += [1 if m["role"] == "assistant" else 0] * len(enc.ids)
    return ids, mask


def test_dpo_steps_change_the_weights(tiny, tmp_path):
    from bslm.train.rl.dpo import PAIRS, train

    _, tok = tiny
    env = make_env("math")
    out = tmp_path / "dpo"
    out.mkdir()
    rows = []
    for task in env.tasks("train", 2):
        good, good_mask = _reference_chain(tok, env, task)
        bad = encode_chat(
            tok, [{"role": "assistant", "content": "The answer is 1."}], bos=False
        ).ids
        rows.append(
            {
                "task": task.id,
                "prompt_ids": encode_chat(tok, task.messages, task.tools, True).ids,
                "scores": [1.0, 0.0],
                "pairs": pairs_for(
                    [
                        {"ids": good, "mask": good_mask, "score": 1.0},
                        {"ids": bad, "mask": [1] * len(bad), "score": 0.0},
                    ]
                ),
            }
        )
    (out / PAIRS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = DPOConfig(
        model="tiny",
        envs=("math",),
        tasks=2,
        out=str(out),
        use_cpu=True,
        max_steps=2,
        batch_size=1,
        grad_accum=1,
        lr=1e-2,
    )
    final = train(cfg)
    lora_b = [v for k, v in _lora_weights(final).items() if "lora_B" in k]
    assert lora_b and any(v.abs().sum() > 0 for v in lora_b)
    assert [json.loads(line)["task"] for line in (out / PAIRS).read_text().splitlines()] == [
        r["task"] for r in rows
    ]


def test_dpo_chain_collator_masks_the_environments_tokens():
    from bslm.train.rl.dpo import _collator_class

    collate = _collator_class()(pad_token_id=0)
    batch = collate(
        [
            {
                "prompt_ids": [5, 6],
                "chosen_ids": [7, 8, 9],
                "chosen_mask": [1, 0, 1],
                "rejected_ids": [10],
                "rejected_mask": [1],
            }
        ]
    )
    assert batch["completion_mask"].tolist() == [[0, 0, 1, 0, 1], [0, 0, 1, 0, 0]]
    assert torch.equal(batch["input_ids"][0], torch.tensor([5, 6, 7, 8, 9]))


def test_shipped_rl_configs_load():
    from pathlib import Path

    from bslm.train.config import load_config

    paths = sorted(Path("configs").glob("grpo_*.yaml")) + sorted(Path("configs").glob("dpo_*.yaml"))
    assert len(paths) >= 3
    for path in paths:
        cfg = load_config(GRPOConfig if path.name.startswith("grpo") else DPOConfig, path)
        assert cfg.mask in ("hard", "soft", "off")
        for name in getattr(cfg, "rewards", {}):
            assert name in REWARDS


def test_cli_train_refuses_bad_settings_in_one_line(tmp_path, capsys):
    from bslm.cli.main import main

    assert main(["train", "grpo", "model=tiny", f"out={tmp_path}", "rewards={nope: 1}"]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["train", "dpo", "model=tiny", f"out={tmp_path}", "samples=lots"]) == 2
    assert "samples" in capsys.readouterr().err


def test_grpo_resumes_from_its_last_checkpoint(tmp_path, monkeypatch):
    from bslm.train.rl.grpo import train

    monkeypatch.setitem(
        REWARDS,
        "length",
        lambda completions, **kw: [float(len(c[0].text) % 5) if c else 0.0 for c in completions],
    )
    base = dict(
        model="tiny",
        envs=("math",),
        tasks=2,
        group_size=2,
        prompts_per_step=1,
        out=str(tmp_path / "g"),
        use_cpu=True,
        max_turn_tokens=8,
        max_tokens=16,
        save_steps=1,
        rewards={"length": 1.0},
    )
    train(GRPOConfig(**base, max_steps=1))
    assert (tmp_path / "g" / "checkpoint-1").is_dir()
    train(GRPOConfig(**base, max_steps=2))
    rows = [json.loads(line) for line in (tmp_path / "g" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]  # step 1 kept from the first run, not redone


def test_reward_columns_follow_the_guidance_prefix():
    chain = next(t for t in make_env("calls").tasks("train", 30) if len(t.solution) >= 2)
    assert reward_columns(chain, 1)["calls"] == chain.solution[1]
    assert reward_columns(chain, len(chain.solution))["calls"] == []


@pytest.mark.parametrize("rollouts", ["llama", pytest.param("torch", marks=pytest.mark.slow)])
def test_dpo_samples_each_tasks_chains_once(tiny, tmp_path, rollouts):
    """Chains are sampled per task (on llama.cpp, a task's chains decoded together), written
    a line per task, and a rerun samples only the tasks not written yet."""
    from bslm.train.rl.dpo import collect_pairs

    model, tok = tiny
    cfg = DPOConfig(
        model="tiny",
        envs=("math",),
        tasks=2,
        samples=3,
        rollouts=rollouts,
        mirror_quant="f32",
        max_turn_tokens=8,
        max_tokens=16,
        guidance=False,
        out=str(tmp_path),
    )
    path = tmp_path / "pairs.jsonl"
    collect_pairs(cfg, model, tok, path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 2 and all(len(r["scores"]) == 3 and r["prompt_ids"] for r in rows)
    collect_pairs(cfg, model, tok, path)
    assert len(path.read_text().splitlines()) == 2
    assert not list((tmp_path / "mirror").glob("*.gguf"))  # the export is gone


def test_unpadded_span_keeps_the_columns_some_row_uses():
    import torch

    from bslm.train.rl.grpo import unpadded_span

    # prompts of 4 columns (left-padded), completions of 3 (right-padded)
    mask = torch.tensor([[0, 0, 1, 1, 1, 0, 0], [0, 1, 1, 1, 1, 1, 0]])
    assert unpadded_span(mask, 3) == (1, 6)
    assert unpadded_span(torch.tensor([[1, 1, 1, 1, 1, 1, 1]]), 3) == (0, 7)
    # no completion token anywhere: one completion column stays (TRL reads 0 as "all")
    assert unpadded_span(torch.tensor([[0, 1, 1, 1, 0, 0, 0]]), 3) == (1, 5)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batches_cut_to_their_own_length_score_as_the_padded_ones(tiny, batch_size):
    """Episodes scored at their own length (the trainer's cut) get the log-probabilities and
    entropies TRL's padded batch gives them, on every completion token."""
    from trl import GRPOTrainer
    from trl.trainer import add_fused_lm_head

    from bslm.train.rl.grpo import episode_scorer

    model, _ = tiny
    model.eval()
    # as the trainer does: log-probabilities from the head, without the whole logits
    add_fused_lm_head(model, temperature=1.0, outputs=("log_probs", "entropy"))
    trainer = episode_scorer()
    g = torch.Generator().manual_seed(0)
    prompt, completion = 9, 6
    ids = torch.randint(5, 200, (3, prompt + completion), generator=g)
    mask = torch.ones_like(ids)
    for row, (left, right) in enumerate([(4, 3), (2, 0), (5, 4)]):
        mask[row, :left] = 0
        mask[row, prompt + completion - right :] = 0
    with torch.no_grad():
        want, want_ent, _ = GRPOTrainer._get_per_token_logps_and_entropies(
            trainer, model, ids, mask, completion, batch_size=3, compute_entropy=True
        )
        got, got_ent, _ = trainer._get_per_token_logps_and_entropies(
            model, ids, mask, completion, batch_size=batch_size, compute_entropy=True
        )
    assert got.shape == want.shape == (3, completion)
    scored = mask[:, prompt:].bool()
    assert torch.allclose(got[scored], want[scored], atol=1e-4)
    assert torch.allclose(got_ent[scored], want_ent[scored], atol=1e-4)
