"""Curriculum data, supervised fine-tuning, GRPO and DPO, rewards, tool environments and
evaluation."""
