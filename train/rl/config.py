"""What GRPO and DPO share in their configs: the starting model, the tasks, how episodes are
sampled (the sampler, the mask, the budgets) and the LoRA and trainer settings.
``grpo.GRPOConfig`` and ``dpo.DPOConfig`` add their own, and set their own defaults where
they differ."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RLConfig:
    model: str = field(
        default="default",
        metadata={
            "help": "starting model (and reference): default, a bslm model or adapter dir, a "
            "base name, tiny"
        },
    )
    envs: tuple[str, ...] = field(
        default=("calls", "math", "logic", "store", "code"),
        metadata={"help": "environments whose train tasks are played"},
    )
    tasks: int = field(default=64, metadata={"help": "training tasks per environment"})
    seed: int = field(
        default=0, metadata={"help": "seed of the tasks, the sampling and the adapter"}
    )
    out: str = field(
        default="runs/rl", metadata={"help": "output directory (checkpoints, logs, adapter)"}
    )
    temperature: float = field(default=1.0, metadata={"help": "sampling temperature"})
    mask: str = field(
        default="hard", metadata={"help": "sampling under the tool grammar: hard, soft or off"}
    )
    rollouts: str = field(
        default="llama",
        metadata={
            "help": "who samples the episodes: llama (a llama.cpp GGUF of the model, "
            "train/rl/mirror.py) or torch (the model itself, token by token)"
        },
    )
    mirror_quant: str = field(
        default="q8_0", metadata={"help": "llama sampling: the GGUF type (q8_0, f16, f32)"}
    )
    max_turn_tokens: int = field(default=96, metadata={"help": "tokens per model turn at most"})
    max_tokens: int = field(
        default=384, metadata={"help": "completion tokens per episode at most (model + results)"}
    )
    guidance: bool = field(
        default=True,
        metadata={
            "help": "when no episode of a task is right, start the next ones after its first "
            "reference turns (one more each time)"
        },
    )
    lr: float = field(default=5e-5, metadata={"help": "learning rate"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    logging_steps: int = field(default=1, metadata={"help": "log every N steps"})
    save_steps: int = field(default=10, metadata={"help": "checkpoint every N steps"})
    bf16: bool | str = field(
        default=False,
        metadata={
            "help": "bfloat16 mixed precision (GPU); `auto`: where the machine "
            "multiplies in bfloat16 natively, else fp32"
        },
    )
    use_cpu: bool = field(
        default=False, metadata={"help": "force the CPU even when a GPU is there"}
    )
