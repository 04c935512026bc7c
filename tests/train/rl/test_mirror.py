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
