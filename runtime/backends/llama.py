"""The llama.cpp backend: a GGUF file written by ``bslm export``, evaluated by llama-cpp-python.

The dual tokenizer comes from the file's ``bslm.*`` metadata, so the GGUF is all it needs.
With no path it opens the default model's q8_0 GGUF in the cache, exporting it from the built
default model first when it is missing or was made from an older build.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import numpy as np

from bslm.models.files import DEFAULT_QUANT, default_gguf_path, gguf_is_current
from bslm.runtime.backends import Backend, BackendError

DEFAULT_N_CTX = 8192
# Up to this context every position stays cached, so a rewind (a new conversation over the same
# tools, a re-encoded turn) is a cut. Beyond it the sliding layers keep only their window:
# prefill at 16k tokens is ~2.4x faster and the cache much smaller, but such a cache cannot be
# cut back reliably, so a rewind evaluates the kept prefix again (bench/runtime.py).
FULL_CACHE_MAX_CTX = 8192


def _full_cache(n_ctx: int) -> bool:
    return n_ctx <= FULL_CACHE_MAX_CTX


GGML_TYPE_F32 = 0
FILE_TYPE_F32 = 0  # llama.cpp's LLAMA_FTYPE_ALL_F32


class LlamaBackend(Backend):
    name = "llama"

    def __init__(self, llm, tokenizer, n_ctx: int, info: dict | None = None):
        super().__init__(tokenizer, n_ctx, info)
        self.llm = llm
        self._vocab = int(llm.n_vocab())
        self.rewinds = 0  # rewinds that evaluated a prefix again
        # freed before interpreter shutdown, when llama-cpp-python's own destructor would fail
        self._finalizer = weakref.finalize(self, llm.close)

    @staticmethod
    def _load(path: Path, n_ctx: int | None):
        """(Llama, its string metadata). Raises BackendError for a file llama.cpp refuses."""
        from llama_cpp import Llama

        from bslm.export.gguf import quiet_native_output

        if not path.is_file():
            raise BackendError(f"{path} does not exist")
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"GGUF":
            raise BackendError(f"{path} is not a GGUF file")
        # an f32 file keeps its cache in f32 too (llama.cpp's f16 default would cost it the
        # precision it was exported for)
        cache = (
            {"type_k": GGML_TYPE_F32, "type_v": GGML_TYPE_F32}
            if (_header_file_type(path) == FILE_TYPE_F32)
            else {}
        )
        try:
            with quiet_native_output():
                llm = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx or DEFAULT_N_CTX,
                    n_threads=os.cpu_count() or 1,
                    logits_all=False,
                    swa_full=_full_cache(n_ctx or DEFAULT_N_CTX),
                    verbose=False,
                    **cache,
                )
        except (ValueError, RuntimeError, OSError) as e:
            raise BackendError(f"{path}: llama.cpp cannot load it (truncated or corrupt?)") from e
        return llm, dict(llm.metadata)

    @classmethod
    def open(cls, path: Path | None, n_ctx: int | None = None) -> LlamaBackend:
        from bslm.export.metadata import MetadataError, tokenizer_from_metadata

        if path is None:
            llm, meta, path = cls._open_default(n_ctx)
        else:
            path = Path(path)
            llm, meta = cls._load(path, n_ctx)
        try:
            tok = tokenizer_from_metadata(meta, str(path))
        except MetadataError as e:
            llm.close()
            raise BackendError(str(e)) from e
        arch = meta.get("general.architecture", "?")
        info = {
            "model": str(path),
            "backend": "llama",
            "quantization": _file_type(meta.get("general.file_type")),
            "architecture": arch,
            "sliding_window": _int(meta.get(f"{arch}.attention.sliding_window")),
        }
        n_train = int(llm.n_ctx())
        return cls(llm, tok, min(n_ctx or n_train, n_train), info)

    @classmethod
    def _open_default(cls, n_ctx: int | None):
        """The default model's GGUF, exported again when the shipped artifact it was made from
        changed (told from the digest in its ``bslm.source``: no model is loaded for that)."""
        path = default_gguf_path()
        if path.is_file():
            try:
                llm, meta = cls._load(path, n_ctx)
                if gguf_is_current(meta.get("bslm.source")):
                    return llm, meta, path
                llm.close()
            except BackendError:
                pass
        from bslm.export.gguf import export_gguf
        from bslm.export.metadata import ExportError
        from bslm.models.build import ensure_default_model

        try:
            ensure_default_model()
        except (ExportError, OSError, ValueError, RuntimeError) as e:
            raise BackendError(str(e).splitlines()[0]) from e
        try:
            export_gguf(None, path, DEFAULT_QUANT, force=True)
        except (ExportError, OSError, ValueError, RuntimeError) as e:
            raise BackendError(f"cannot export the default model: {e}") from e
        llm, meta = cls._load(path, n_ctx)
        return llm, meta, path

    @property
    def n_vocab(self) -> int:
        return self._vocab

    def _eval(self, ids: list[int]) -> np.ndarray:
        import llama_cpp

        try:
            self.llm.eval(ids)
        except RuntimeError as e:
            raise BackendError(f"llama.cpp failed to evaluate: {e}") from e
        ptr = llama_cpp.llama_get_logits_ith(self.llm._ctx.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self._vocab,)).astype(np.float32, copy=True)

    def _rewind(self, n: int) -> None:
        ctx = self.llm._ctx
        if self.llm.context_params.swa_full and n > 0:
            # Llama.eval continues from n_tokens; the positions after it go
            ctx.kv_cache_seq_rm(0, n, -1)
            self.llm.n_tokens = n
            return
        keep = self.tokens[:n]
        ctx.kv_cache_clear()
        self.llm.n_tokens = 0
        if keep:
            self.rewinds += 1
            self.llm.eval(keep)

    def close(self) -> None:
        self._finalizer()


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_FILE_TYPES = {0: "f32", 1: "f16", 7: "q8_0", 15: "q4_k_m"}


def _header_file_type(path: Path) -> int | None:
    """``general.file_type`` read from the GGUF header alone (the tokenizer arrays after it
    are never parsed); None when the header is unreadable or lacks it."""
    import struct

    from gguf import GGUFValueType

    fixed = {
        GGUFValueType.UINT8: 1,
        GGUFValueType.INT8: 1,
        GGUFValueType.UINT16: 2,
        GGUFValueType.INT16: 2,
        GGUFValueType.UINT32: 4,
        GGUFValueType.INT32: 4,
        GGUFValueType.FLOAT32: 4,
        GGUFValueType.BOOL: 1,
        GGUFValueType.UINT64: 8,
        GGUFValueType.INT64: 8,
        GGUFValueType.FLOAT64: 8,
    }
    try:
        with open(path, "rb") as f:

            def read(fmt: str) -> tuple:
                return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))

            def string() -> bytes:
                return f.read(read("Q")[0])

            magic, _version, _tensors, n_kv = read("4sIQQ")
            for _ in range(n_kv if magic == b"GGUF" else 0):
                key, kind = string(), GGUFValueType(read("I")[0])
                if key == b"general.file_type" and kind in fixed:
                    return int.from_bytes(f.read(fixed[kind]), "little")
                if kind == GGUFValueType.STRING:
                    string()
                elif kind == GGUFValueType.ARRAY:
                    item, n = read("IQ")
                    if GGUFValueType(item) == GGUFValueType.STRING:
                        for _ in range(n):
                            string()
                    else:
                        f.seek(fixed[GGUFValueType(item)] * n, 1)
                else:
                    f.seek(fixed[kind], 1)
    except (OSError, ValueError, KeyError, struct.error):
        return None
    return None


def _file_type(value) -> str:
    v = _int(value)
    return _FILE_TYPES.get(v, f"type {v}") if v is not None else "?"
