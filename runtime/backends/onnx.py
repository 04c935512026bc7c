"""The onnxruntime backend: a directory written by ``bslm export --format onnx``.

The ``prefill`` graph evaluates the first ids, the ``decode`` graph every later chunk with the
past keys/values it returned; a rewind slices the cache along its sequence axis (the exported
cache keeps every position, the attention mask applies the sliding window). The dual tokenizer
comes from ``bslm.json`` beside the graphs.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from bslm.runtime.backends import Backend, BackendError

_IO_PREFIX = re.compile(r"^(input|output)\.")


def _state_name(name: str) -> str:
    """The same cache entry is ``output.X`` (or ``X``) out of a graph and ``input.X`` in."""
    return _IO_PREFIX.sub("", name)


class OnnxBackend(Backend):
    name = "onnx"

    def __init__(self, sessions: dict, tokenizer, n_ctx: int, meta: dict, info: dict):
        super().__init__(tokenizer, n_ctx, info)
        self.sessions = sessions
        self._vocab = int(meta["onnx.vocab_size"])
        window = int(meta.get("onnx.sliding_window") or 0)
        # what a graph takes besides ids and positions before any cache exists
        self._initial = {
            _state_name(i.name): np.array(window, dtype=np.int64)
            for i in sessions["prefill"].get_inputs()
            if i.name.endswith("_sliding_window_tensor")
        }
        self._state: dict[str, np.ndarray] = {}

    @classmethod
    def open(cls, path: Path | None, n_ctx: int | None = None) -> OnnxBackend:
        import onnxruntime as ort

        from bslm.export.metadata import (
            MetadataError,
            decoding_settings,
            read_onnx_metadata,
            tokenizer_from_metadata,
        )

        if path is None:
            raise BackendError(
                "the onnx backend needs a directory: export one with `bslm export --format onnx`"
            )
        path = Path(path)
        if not path.is_dir():
            raise BackendError(f"{path} is not a directory written by `bslm export --format onnx`")
        try:
            meta = read_onnx_metadata(path)
            tok = tokenizer_from_metadata(meta, str(path))
        except MetadataError as e:
            raise BackendError(str(e)) from e
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = os.cpu_count() or 1
        opts.log_severity_level = 3
        sessions = {}
        for name in ("prefill", "decode"):
            graph = path / f"{name}.onnx"
            if not graph.is_file():
                raise BackendError(f"{path} has no {graph.name}")
            try:
                sessions[name] = ort.InferenceSession(
                    str(graph), opts, providers=["CPUExecutionProvider"]
                )
            except Exception as e:  # onnxruntime raises its own exception types
                first = str(e).splitlines()[0] if str(e) else type(e).__name__
                raise BackendError(f"{graph}: onnxruntime cannot load it ({first})") from e
        limit = int(meta.get("onnx.context_length") or 8192)
        info = {
            "model": str(path),
            "backend": "onnx",
            "quantization": meta.get("onnx.quantization", "?"),
            "architecture": meta.get("onnx.architecture", "?"),
            "sliding_window": int(meta.get("onnx.sliding_window") or 0) or None,
            "decoding": decoding_settings(meta),  # calibrated decoding help (engine.Help)
        }
        return cls(sessions, tok, min(n_ctx or limit, limit), meta, info)

    @property
    def n_vocab(self) -> int:
        return self._vocab

    def _eval(self, ids: list[int]) -> np.ndarray:
        first = not self._state
        session = self.sessions["prefill" if first else "decode"]
        state = self._initial if first else self._state
        start = self.n_past
        feed = {
            "input_ids": np.array([ids], dtype=np.int64),
            "position_ids": np.arange(start, start + len(ids), dtype=np.int64)[None],
        }
        for i in session.get_inputs():
            if i.name not in feed:
                feed[i.name] = state[_state_name(i.name)]
        names = [o.name for o in session.get_outputs()]
        outs = session.run(None, feed)
        new = {_state_name(n): v for n, v in zip(names, outs, strict=True) if n != "logits"}
        self._state = {**state, **new}
        return outs[names.index("logits")][0, -1].astype(np.float32, copy=False)

    def _rewind(self, n: int) -> None:
        if n == 0:
            self._state = {}
            return
        self._state = {k: (v[:, :, :n] if v.ndim == 4 else v) for k, v in self._state.items()}
