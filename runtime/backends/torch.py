"""The transformers backend: a bslm checkpoint directory, evaluated by PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from bslm.runtime.backends import Backend, BackendError


class TorchBackend(Backend):
    name = "torch"

    def __init__(self, model, tokenizer, n_ctx: int | None = None, info: dict | None = None):
        cfg = model.config
        limit = getattr(cfg, "max_position_embeddings", None) or 32768
        super().__init__(tokenizer, min(n_ctx or limit, limit), info)
        self.model = model.eval()
        self._vocab = int(model.get_input_embeddings().weight.shape[0])
        self._past = None

    @classmethod
    def open(cls, path: Path | None, n_ctx: int | None = None) -> TorchBackend:
        from bslm.models.bases import BaseModelError
        from bslm.models.build import ensure_default_model, load_model

        try:
            if path is None:
                path = ensure_default_model()
            model, tok = load_model(path)
        except (BaseModelError, OSError, ValueError) as e:
            raise BackendError(str(e).splitlines()[0] if str(e) else repr(e)) from e
        cfg = model.config
        info = {
            "model": str(path),
            "backend": "torch",
            "quantization": str(model.dtype).removeprefix("torch."),
            "architecture": getattr(cfg, "model_type", "?"),
            "sliding_window": getattr(cfg, "sliding_window", None),
        }
        return cls(model, tok, n_ctx, info)

    @property
    def n_vocab(self) -> int:
        return self._vocab

    @torch.inference_mode()
    def _forward(self, ids: list[int]) -> torch.Tensor:
        x = torch.tensor([ids], dtype=torch.long)
        out = self.model(input_ids=x, past_key_values=self._past, use_cache=True, logits_to_keep=1)
        self._past = out.past_key_values
        return out.logits[0, -1]

    def _eval(self, ids: list[int]) -> np.ndarray:
        return self._forward(ids).float().numpy()

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
