"""Rollouts on a llama.cpp mirror of the policy: their log-probabilities are the policy's own
(recomputed in one forward pass per episode, as the trainer does), the mirror follows the
policy's weights (GRPO training with it: tests/train/rl/test_rl.py)."""

import copy

import numpy as np
import pytest
import torch

from bslm.train.rl.envs import make_env
from bslm.train.rl.mirror import LlamaMirror
from bslm.train.rl.rollout import play, policy_logprobs
from bslm.train.sft import new_adapter


def _lora(tiny):
    model, tok = tiny
    model = copy.deepcopy(model)  # the session's tiny model stays as it is
    policy = new_adapter(model, tok, r=4, alpha=8, dropout=0.0, tool_rows=False)
    torch.manual_seed(0)
    with torch.no_grad():  # a trained-looking adapter: LoRA B starts at zero
        for name, p in policy.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.02)
    return policy.eval(), tok


@pytest.mark.parametrize("mode", ["hard", pytest.param("off", marks=pytest.mark.slow)])
def test_rollout_logprobs_match_the_policy(tiny, tmp_path, mode):
    policy, tok = _lora(tiny)
    mirror = LlamaMirror(tok, tmp_path, quant="f32")
    try:
        mirror.sync(policy)
        env = make_env("calls")
        checked = 0
        for i, task in enumerate(env.tasks("train", 3)):
            # the same prompt again: the mirror's cache cuts back to it
            for _ in range(2):
                ep, s = play(
                    mirror.backend,
                    tok,
                    env,
                    task,
                    mode=mode,
                    temperature=1.0,
                    max_turn_tokens=16,
                    max_tokens=48,
                    rng=np.random.default_rng(i),
                )
                want = policy_logprobs(policy, s.prompt_ids, s.completion_ids, 1.0)
                got = np.array(s.logprobs)
                model_tokens = np.array(s.env_mask, dtype=bool)
                assert model_tokens.any()
                np.testing.assert_allclose(got[model_tokens], want[model_tokens], atol=2e-3)
                assert (got[~model_tokens] == 0).all()
                checked += int(model_tokens.sum())
        assert checked > 20
    finally:
        mirror.close()


def test_the_mirror_follows_the_policy_and_keeps_one_file(tiny, tmp_path):
    policy, tok = _lora(tiny)
    mirror = LlamaMirror(tok, tmp_path, quant="f32", every=2)
    prompt = tok.encode_text("The weather in Paris")
    try:
        assert mirror.sync(policy, step=0)
        before = mirror.backend.prime(prompt).copy()
        assert not mirror.sync(policy, step=1)  # one step old: not due yet
        with torch.no_grad():
            for name, p in policy.named_parameters():
                if "lora_B" in name:
                    p.add_(0.05)
        assert mirror.sync(policy, step=2)
        after = mirror.backend.prime(prompt)
        with torch.no_grad():
            want = policy(input_ids=torch.tensor([prompt])).logits[0, -1].float().numpy()
        assert np.abs(after - before).max() > 1e-2  # it moved with the weights...
        np.testing.assert_allclose(after[: len(want)], want, atol=2e-3)  # ...to the policy's
        assert [p.name for p in tmp_path.glob("*.gguf")] == ["policy-2.f32.gguf"]
        assert mirror.syncs == 2 and mirror.step == 2
    finally:
        mirror.close()


def test_rollouts_decoded_together_are_the_policys_own(tiny, tmp_path):
    """Episodes decoded in one batch (train/rl/batched.py) come with the policy's own
    log-probabilities, the same from run to run; the episodes of one task evaluate their prompt
    once; more jobs than sequences play in groups."""
    from bslm.train.rl.batched import play_together

    policy, tok = _lora(tiny)
    mirror = LlamaMirror(tok, tmp_path, quant="f32", batch=4)
    kw = {"mode": "hard", "temperature": 1.0, "max_turn_tokens": 16, "max_tokens": 48}
    try:
        mirror.sync(policy)
        assert mirror.backend is None and mirror.batched is not None
        tasks = make_env("calls").tasks("train", 2)
        order = [tasks[0]] * 3 + [tasks[1]] * 2  # five jobs, four sequences: two groups

        def jobs():
            return [
                {"env": make_env("calls"), "task": t, "rng": np.random.default_rng(k)}
                for k, t in enumerate(order)
            ]

        together = play_together(mirror.batched, tok, jobs(), **kw)
        assert len({tuple(s.prompt_ids) for _, s in together[:3]}) == 1
        for _, s in together:
            want = policy_logprobs(policy, s.prompt_ids, s.completion_ids, 1.0)
            model_tokens = np.array(s.env_mask, dtype=bool)
            assert model_tokens.any()
            got = np.array(s.logprobs)[model_tokens]
            np.testing.assert_allclose(got, want[model_tokens], atol=2e-3)
        prompt = len(together[0][1].prompt_ids)
        assert mirror.batched.shared >= 2 * (prompt - 1)  # the 2nd and 3rd copied the 1st's
        assert mirror.batched.batches < sum(len(s.completion_ids) for _, s in together)
        again = play_together(mirror.batched, tok, jobs(), **kw)
        assert [s.completion_ids for _, s in again] == [s.completion_ids for _, s in together]
    finally:
        mirror.close()


def test_an_episode_that_fails_does_not_hold_the_others(tiny, tmp_path):
    from bslm.train.rl.batched import play_together

    class Broken:
        max_turns = 2

        def start(self, task):
            raise RuntimeError("the environment broke")

    policy, tok = _lora(tiny)
    mirror = LlamaMirror(tok, tmp_path, quant="f32", batch=3)
    try:
        mirror.sync(policy)
        task = make_env("calls").tasks("train", 1)[0]
        jobs = [
            {"env": env, "task": task, "rng": np.random.default_rng(0)}
            for env in (make_env("calls"), Broken(), make_env("calls"))
        ]
        with pytest.raises(RuntimeError, match="the environment broke"):
            play_together(mirror.batched, tok, jobs, max_turn_tokens=8, max_tokens=16)
        # the mirror still decodes afterwards
        ok = play_together(mirror.batched, tok, [jobs[0]], max_turn_tokens=8, max_tokens=16)
        assert ok[0][1].completion_ids
    finally:
        mirror.close()
