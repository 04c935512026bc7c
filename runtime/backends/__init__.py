"""Backends: token ids in, next-token logits out, with a KV cache (the interface,
``Backend``, is the engine's: ``models/engine.py``). The runtime never touches model internals
beyond it; the dual tokenizer comes from the model artifact itself.

``open_backend(model, backend)`` picks the implementation:

- ``torch``: a bslm model directory (transformers checkpoint, or an adapter directory;
  ``models/torch_backend.py``);
- ``llama``: a GGUF file written by ``bslm export`` (llama.cpp, the default);
- ``onnx``: a directory written by ``bslm export --format onnx`` (onnxruntime).
"""

from __future__ import annotations

from pathlib import Path

from bslm.models.engine import Backend, BackendError

__all__ = ["BACKENDS", "Backend", "BackendError", "open_backend"]

BACKENDS = ("llama", "onnx", "torch")


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
        from bslm.models.torch_backend import TorchBackend

        return TorchBackend.open(path, n_ctx=n_ctx)
    if backend == "llama":
        from bslm.runtime.backends.llama import LlamaBackend

        return LlamaBackend.open(path, n_ctx=n_ctx)
    from bslm.runtime.backends.onnx import OnnxBackend

    return OnnxBackend.open(path, n_ctx=n_ctx)
