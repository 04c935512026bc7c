"""Backends: token ids in, next-token logits out, with a KV cache.

Every backend keeps the ids it has evaluated (``tokens``) so a new prompt that shares a
prefix with the cache only evaluates the rest (``prime``). The runtime never touches model
internals beyond this interface; the dual tokenizer comes from the model artifact itself.

``open_backend(model, backend)`` picks the implementation:

- ``torch``: a bslm model directory (transformers checkpoint, or an adapter directory);
- ``llama``: a GGUF file written by ``bslm export`` (llama.cpp, the default);
- ``onnx``: a directory written by ``bslm export --format onnx`` (onnxruntime).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from bslm.models.tokenizer import DualTokenizer

BACKENDS = ("llama", "onnx", "torch")


class BackendError(RuntimeError):
    """A model that cannot be opened or run; the message is one line for the user."""


class Backend(ABC):
    """One model with one KV cache (batch 1)."""

    name: str = "?"
    # ``_eval`` returns a view of the backend's own buffer, overwritten by the next evaluation
    views: bool = False

    def __init__(self, tokenizer: DualTokenizer, n_ctx: int, info: dict | None = None):
        self.tokenizer = tokenizer
        self.n_ctx = n_ctx
        # what a user may want to see: model name/path, quantization, sliding window...
        self.info: dict = dict(info or {})
        self.tokens: list[int] = []

    @property
    def n_past(self) -> int:
        return len(self.tokens)

    @property
    @abstractmethod
    def n_vocab(self) -> int:
        """Length of a logits row (at least ``len(tokenizer)``)."""

    @abstractmethod
    def _eval(self, ids: list[int]) -> np.ndarray:
        """Append ``ids`` after the cached positions; float32 logits of the last one."""

    @abstractmethod
    def _rewind(self, n: int) -> None:
        """Keep only the first ``n`` cached positions."""

    def eval(self, ids: list[int], copy: bool = True) -> np.ndarray:
        """Logits after ``ids``. ``copy=False``: they may be a read-only view that the next
        evaluation overwrites (no copy of the vocabulary per token, for a decoding loop)."""
        if not ids:
            raise ValueError("nothing to evaluate")
        if self.n_past + len(ids) > self.n_ctx:
            raise BackendError(f"context full: {self.n_past + len(ids)} tokens > {self.n_ctx}")
        logits = self._eval(list(ids))
        self.tokens.extend(ids)
        return logits.copy() if copy and self.views else logits

    def rewind(self, n: int) -> None:
        n = max(0, min(n, self.n_past))
        if n < self.n_past:
            self._rewind(n)
            del self.tokens[n:]

    def reset(self) -> None:
        self.rewind(0)

    def shared(self, ids: list[int]) -> int:
        """How many of ``ids`` the cache already holds (the common prefix)."""
        n = 0
        for a, b in zip(self.tokens, ids, strict=False):
            if a != b:
                break
            n += 1
        return n

    def hold(self, ids: list[int], head: bool = False) -> int:
        """Make the cache hold exactly ``ids``, reusing the cached prefix. ``head``: ``ids`` is
        a prompt head that recurs across requests (the system prompt and the tools), which a
        backend that stores heads loads or stores. Returns how many tokens were evaluated."""
        keep = self.shared(ids)
        self.rewind(keep)
        if keep < len(ids):
            self.eval(ids[keep:])
        return len(ids) - keep

    def prime(self, prompt: list[int], copy: bool = True) -> np.ndarray:
        """Logits after ``prompt``, reusing the longest cached prefix (at least the last
        prompt token is always evaluated again, so there are logits to return)."""
        keep = self.shared(prompt[:-1])
        self.rewind(keep)
        return self.eval(prompt[keep:], copy)

    def close(self) -> None:  # noqa: B027 - optional
        pass


def open_backend(
    model: str | Path | None = None, backend: str | None = None, n_ctx: int | None = None
) -> Backend:
    """Open a model with a backend. ``model`` None: the shipped default model (built if it
    is missing). ``backend`` None: chosen from what ``model`` is (a .gguf file: llama, a
    directory with model.onnx files: onnx, a checkpoint directory: torch)."""
    path = Path(model) if model is not None else None
    if backend is None:
        if path is None or path.suffix == ".gguf":
            backend = "llama"
        elif path.is_dir() and any(path.glob("*.onnx")):
            backend = "onnx"
        else:
            backend = "torch"
    if backend not in BACKENDS:
        raise BackendError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
    if backend == "torch":
        from bslm.runtime.backends.torch import TorchBackend

        return TorchBackend.open(path, n_ctx=n_ctx)
    if backend == "llama":
        from bslm.runtime.backends.llama import LlamaBackend

        return LlamaBackend.open(path, n_ctx=n_ctx)
    from bslm.runtime.backends.onnx import OnnxBackend

    return OnnxBackend.open(path, n_ctx=n_ctx)
