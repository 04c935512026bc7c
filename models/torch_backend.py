"""The engine's backend for a transformers model (``models/engine.py``), on the model's own
device: a bslm model directory, or any causal LM already loaded (a training policy, a base).

    backend = TorchBackend.open("runs/sft/final")          # or TorchBackend(model, tok)
    ids = list(greedy(model, prompt_ids, stop={eos_id}))   # a plain model, greedy
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from bslm.models.engine import Backend, BackendError, generate


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, model, tokenizer=None, n_ctx: int | None = None, info: dict | None = None):
        cfg = model.config
        limit = getattr(cfg, "max_position_embeddings", None) or 32768
        super().__init__(tokenizer, min(n_ctx or limit, limit), info)
        self.model = model.eval()
        self._vocab = int(model.get_input_embeddings().weight.shape[0])
        self._past = None

    @classmethod
    def open(cls, path: Path | None, n_ctx: int | None = None) -> TorchBackend:
        """A bslm model directory (None: the default model, built when missing or stale).
        Raises BackendError."""
        from bslm.models.build import ensure_default_model, load_model
        from bslm.models.errors import BslmError
        from bslm.models.files import read_build_record

        try:
            if path is None:
                path = ensure_default_model()
            model, tok = load_model(path)
        except (BslmError, OSError, ValueError) as e:
            raise BackendError(str(e).splitlines()[0] if str(e) else repr(e)) from e
        cfg = model.config
        info = {
            "model": str(path),
            "backend": "torch",
            "quantization": str(model.dtype).removeprefix("torch."),
            "architecture": getattr(cfg, "model_type", "?"),
            "sliding_window": getattr(cfg, "sliding_window", None),
            # calibrated decoding help (engine.Help) of a build of the default model
            "decoding": read_build_record(Path(path)).get("decoding") or None,
        }
        return cls(model, tok, n_ctx, info)

    @property
    def n_vocab(self) -> int:
        return self._vocab

    @torch.inference_mode()
    def _forward(self, ids: list[int]) -> torch.Tensor:
        x = torch.tensor([ids], dtype=torch.long, device=self.model.device)
        # only the last position's logits: projecting a whole prompt onto the vocabulary is
        # most of a small model's prefill
        out = self.model(input_ids=x, past_key_values=self._past, use_cache=True, logits_to_keep=1)
        self._past = out.past_key_values
        return out.logits[0, -1]

    def _eval(self, ids: list[int]) -> np.ndarray:
        return self._forward(ids).float().cpu().numpy()

    def _rewind(self, n: int) -> None:
        if n == 0 or self._past is None:
            self._past = None
            return
        keep = self.tokens[:n]
        # a sliding-window cache cannot always be cut back: evaluate the kept prefix again
        try:
            self._past.crop(n)
            if self._past.get_seq_length() == n:
                return
        except (AttributeError, NotImplementedError, ValueError, RuntimeError):
            pass
        self._past = None
        self._forward(keep)


def greedy(model, prompt: list[int], stop: set[int], max_new_tokens: int = 256) -> Iterator[int]:
    """The greedy ids a transformers model generates after ``prompt`` (the stop id included,
    then it ends), through the engine."""
    gen = generate(
        TorchBackend(model), prompt, None, "off", max_new_tokens=max_new_tokens, stop=stop
    )
    return iter(gen.ids)
