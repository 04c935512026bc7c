"""Reinforcement learning: GRPO and DPO (``grpo.py``, ``dpo.py``) over a new LoRA on the starting
model (``policy.py``), episodes sampled by the engine (``rollout.py``) in tool environments
(``envs/``), scored by rewards (``rewards.py``)."""
