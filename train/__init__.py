"""Training, in three rooms: data synthesis (``data/``), reinforcement learning (``rl/``) and
evaluation (``eval/``), with supervised fine-tuning (``sft.py``) and the configs they share
(``config.py``)."""
