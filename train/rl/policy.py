"""The model reinforcement learning trains: a new LoRA adapter on every linear layer over a
frozen starting model — the shipped default model, an SFT/GRPO/DPO output, any bslm model
directory, or ``tiny`` in tests. With the adapter switched off the model is the starting model
again: the reference GRPO's KL term and DPO's log-ratios are measured against.

Saved as a bslm adapter directory whose base is the starting model (``bslm eval --model DIR``
opens it); ``bslm pack DIR models/default`` folds an adapter over the
default model into a new shipped artifact.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT = "default"


def load_policy(
    source: str, seed: int = 0, lora_r: int = 16, lora_alpha: int = 32, lora_dropout: float = 0.0
):
    """(PEFT model, dual tokenizer): ``source`` (``default``, a bslm model or adapter
    directory, a base name, ``tiny``) with a new trainable adapter. Raises what opening the
    model raises (BaseModelError, ValueError) when there is nothing to load."""
    from bslm.models.build import fresh_model
    from bslm.train.sft import new_adapter

    model, tok = fresh_model(source, seed)
    # The tool rows stay as the starting model has them: TRL scores completions through the
    # output projection's plain weight, which would not see trained rows.
    return new_adapter(model, tok, lora_r, lora_alpha, lora_dropout, tool_rows=False), tok


def save_policy(model, tok, path: Path, source: str, seed: int = 0) -> None:
    """The adapter, the tokenizer and what the adapter applies to, in ``path``."""
    from bslm.models.files import write_adapter_spec

    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tok.save(path)
    write_adapter_spec(path, _base(source), seed)


def train_and_save(trainer, tok, final: Path, source: str, seed: int, logged: str):
    """Run ``trainer`` (from the newest checkpoint beside ``final`` when there is one), save
    the adapter to ``final`` and the log rows that have ``logged`` to ``log.jsonl`` beside it.
    Returns (final, those rows)."""
    from bslm.train.data.jsonl import write_jsonl

    out = final.parent
    resume = any(out.glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if resume else None)
    save_policy(trainer.accelerator.unwrap_model(trainer.model), tok, final, source, seed)
    rows = [r for r in trainer.state.log_history if logged in r]
    write_jsonl(out / "log.jsonl", rows)
    return final, rows


def checkpoint_callback(tok, source: str, seed: int = 0):
    """A TrainerCallback that makes every checkpoint a bslm adapter directory too (tokenizer
    and base beside the adapter the Trainer saves), so any checkpoint can be evaluated or
    packed while training goes on."""
    from transformers import TrainerCallback

    from bslm.models.files import write_adapter_spec

    class BslmCheckpoint(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if (path / "adapter_config.json").is_file():
                tok.save(path)
                write_adapter_spec(path, _base(source), seed)

    return BslmCheckpoint()


def _base(source: str) -> str:
    local = Path(source).expanduser()
    return str(local.resolve()) if source not in (DEFAULT, "tiny") and local.exists() else source
