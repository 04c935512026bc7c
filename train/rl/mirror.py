"""Rollouts on llama.cpp: the training policy mirrored as a GGUF that the runtime's own backend
decodes, several times faster than token-by-token PyTorch on a CPU.

Every ``every`` optimizer steps the mirror takes a copy of the policy with its LoRA folded in,
writes it with the exporter (``export/gguf.py``: f16, then llama.cpp's quantizer for ``q8_0``)
into its own directory and opens it with ``LlamaBackend`` (a full cache, so that the rollouts of
one task reuse their shared prompt). Between syncs the rollouts come from a policy up to
``every - 1`` steps old, and always from a quantized one; GRPO corrects for both with TRL's
truncated importance sampling (``train/rl/grpo.py``): the mirror is what TRL's weight-sync hook
(``sync_weights``) updates.

    mirror = LlamaMirror(tok, "runs/grpo/mirror", quant="q8_0", every=1)
    mirror.sync(model, step=0)            # export and open, when due
    play(mirror.backend, tok, env, task)  # train/rl/rollout.py

With ``batch`` > 1 the mirror opens a ``BatchedLlama`` of that many sequences instead
(``mirror.batched``), whose episodes are decoded together (``train/rl/batched.py``).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

from bslm.models.files import atomic_file

QUANTS = ("q8_0", "f16", "f32")
SAMPLERS = ("llama", "torch")
MAX_BATCH_CELLS = 32768  # cache cells of a batched mirror, all sequences together  # who samples rollouts: this mirror, or the torch policy itself


def check_sampler(rollouts: str, quant: str) -> None:
    """A config's ``rollouts`` and ``mirror_quant``; raises ConfigError for either unknown."""
    from bslm.train.config import ConfigError

    if rollouts not in SAMPLERS:
        raise ConfigError(f"unknown rollouts {rollouts!r} (choose from {', '.join(SAMPLERS)})")
    if quant not in QUANTS:
        raise ConfigError(f"unknown mirror_quant {quant!r} (choose from {', '.join(QUANTS)})")


class LlamaMirror:
    """The policy as a llama.cpp backend, exported again when it is ``every`` steps old."""

    def __init__(
        self,
        tok,
        directory: str | Path,
        quant: str = "q8_0",
        every: int = 1,
        n_ctx: int = 2048,
        batch: int = 1,
    ):
        """``batch`` > 1: the mirror is a ``BatchedLlama`` of that many sequences
        (``batched``, for ``play_together``), else a ``LlamaBackend`` (``backend``)."""
        if quant not in QUANTS:
            raise ValueError(f"unknown mirror quantization {quant!r} (choose from {QUANTS})")
        if every < 1:
            raise ValueError("the mirror must be synced at least every step (every >= 1)")
        if batch < 1:
            raise ValueError("a batch holds at least one sequence")
        self.tok, self.quant, self.every, self.n_ctx = tok, quant, every, n_ctx
        self.batch = batch
        self.batched = None
        self.directory = Path(directory)
        self.backend = None
        self.step: int | None = None  # the optimizer step of the policy it mirrors
        self.syncs = 0
        self.seconds = 0.0  # spent exporting and opening
        self.trainer = None  # whose policy ``sync_weights`` reads (set by ``bind``)

    def bind(self, trainer) -> LlamaMirror:
        """Follow ``trainer``'s policy and step (for TRL's ``sync_weights`` hook)."""
        self.trainer = trainer
        return self

    def sync_weights(self) -> None:
        """TRL's hook, called before the rollouts of a new optimizer step."""
        trainer = self.trainer
        self.sync(trainer.accelerator.unwrap_model(trainer.model), trainer.state.global_step)

    @property
    def ready(self) -> bool:
        return self.backend is not None or self.batched is not None

    def due(self, step: int) -> bool:
        return not self.ready or self.step is None or step - self.step >= self.every

    def sync(self, model, step: int = 0, force: bool = False) -> bool:
        """Export ``model`` (a PEFT policy or a plain transformers model) and open it, when due
        or ``force``d. Returns whether it did."""
        if not (force or self.due(step)):
            return False
        from bslm.export.gguf import quantize, quiet_native_output, write_gguf
        from bslm.runtime.backends.llama import LlamaBackend

        t0 = time.perf_counter()
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"policy-{step}.{self.quant}.gguf"
        merged = _merged_copy(model)
        float_type = "f32" if self.quant == "f32" else "f16"
        with atomic_file(path) as final:
            if self.quant in ("f16", "f32"):
                write_gguf(merged, self.tok, final, float_type, source=f"policy at step {step}")
            else:
                plain = final.with_suffix(".f16.part")
                try:
                    write_gguf(merged, self.tok, plain, "f16", source=f"policy at step {step}")
                    quantize(plain, final, self.quant)
                finally:
                    plain.unlink(missing_ok=True)
        del merged
        self.close()
        if self.batch > 1:
            from bslm.train.rl.batched import BatchedLlama

            # one unified cache (cells are used as the sequences grow, a shared prompt once)
            cells = min(self.n_ctx * self.batch, MAX_BATCH_CELLS)
            self.batched = BatchedLlama(path, self.tok, self.batch, cells)
        else:
            with quiet_native_output():
                self.backend = LlamaBackend.open(path, self.n_ctx, full_cache=True, store=False)
        for stale in self.directory.glob("policy-*.gguf"):
            if stale != path:
                stale.unlink(missing_ok=True)
        self.step = step
        self.syncs += 1
        self.seconds += time.perf_counter() - t0
        return True

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        if self.batched is not None:
            self.batched.close()
            self.batched = None

    def clear(self) -> None:
        """Delete the exported files (after ``close``; a later ``sync`` exports again)."""
        for path in self.directory.glob("policy-*.gguf"):
            path.unlink(missing_ok=True)
        self.step = None


def _merged_copy(model):
    """A float32, eval-mode copy of ``model`` with any PEFT adapter folded into its weights
    (the policy itself is left as it is)."""
    import torch

    with torch.no_grad():
        clone = copy.deepcopy(model)
        if hasattr(clone, "merge_and_unload"):
            clone = clone.merge_and_unload()
        return clone.float().eval()
