"""The llama.cpp backend: a GGUF file written by ``bslm export``, evaluated by llama-cpp-python.

The dual tokenizer comes from the file's ``bslm.*`` metadata, so the GGUF is all it needs.
With no path it opens the default model's q8_0 GGUF in the cache, exporting it from the built
default model first when it is missing or was made from an older build.

The cache keeps only what the model attends to: every position for the global layers, the
last window (plus a batch) for the sliding ones, so that memory stays small at any context
(39 MiB of cache at 8k tokens instead of 151 for the default model). A rewind is a cut while the
sliding layers still hold the window before the new end, as llama.cpp's server decides it;
further back, the longest stored prompt head (``prompt_store``) is loaded and the rest
evaluated again. ``hold`` evaluates a prompt head once and stores it on disk for later
processes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import weakref
from pathlib import Path

import numpy as np

from bslm.models.files import DEFAULT_QUANT, default_gguf_path, gguf_is_current
from bslm.runtime.backends import Backend, BackendError
from bslm.runtime.backends.prompt_store import MIN_TOKENS, PromptStore, default_dir, identity

DEFAULT_N_CTX = 8192
# tokens evaluated together: the largest buffers of a batch (the attention's and the output
# layer's for every position) grow with it, prefill speed does not (measured: bench/lean.py)
N_UBATCH = 256
# metadata values longer than this (the tokenizers' files) are dropped from ``Llama.metadata``
# once the tokenizer is built: as Python strings they cost 4 bytes a character
LARGE_METADATA = 4096


def threads() -> int:
    """The threads llama.cpp decodes with: ``$BSLM_THREADS``, else one per core."""
    value = os.environ.get("BSLM_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise BackendError(f"BSLM_THREADS must be a positive integer, not {value!r}")
        return int(value)
    return os.cpu_count() or 1


GGML_TYPE_F32 = 0
FILE_TYPE_F32 = 0  # llama.cpp's LLAMA_FTYPE_ALL_F32


class LlamaBackend(Backend):
    name = "llama"
    views = True

    def __init__(
        self, llm, tokenizer, n_ctx: int, info: dict | None = None, store: PromptStore | None = None
    ):
        super().__init__(tokenizer, n_ctx, info)
        self.llm = llm
        self._vocab = int(llm.n_vocab())
        self._n_swa = int(_llama().llama_model_n_swa(llm._model.model))
        self.store = store  # prompt heads on disk (None: none)
        self._address, self._view = None, None
        self.rewinds = 0  # rewinds that evaluated a prefix again
        self.restored = 0  # prompt heads loaded from the store
        # freed before interpreter shutdown, when llama-cpp-python's own destructor would fail
        self._finalizer = weakref.finalize(self, llm.close)

    @staticmethod
    def _load(path: Path, n_ctx: int | None, full_cache: bool = False, f32: bool = False):
        """The Llama of a GGUF file whose header was read. Raises BackendError for a file
        llama.cpp refuses. ``full_cache``: the sliding layers keep every position too (any
        rewind is a cut); ``f32``: the file's weights are f32, and so is its cache (llama.cpp's
        f16 default would cost it the precision it was exported for)."""
        from llama_cpp import Llama

        from bslm.export.gguf import quiet_native_output

        cache = {"type_k": GGML_TYPE_F32, "type_v": GGML_TYPE_F32} if f32 else {}
        try:
            with quiet_native_output():
                llm = Llama(
                    model_path=str(path),
                    n_ctx=n_ctx or DEFAULT_N_CTX,
                    n_threads=threads(),
                    n_ubatch=N_UBATCH,
                    logits_all=False,
                    swa_full=full_cache,
                    # attention without its score matrix (a 256-token batch against an 8k
                    # cache: 32 MiB), and faster decoding on the CPU; not for an f32 file,
                    # whose point is precision (its half-precision sums differ by ~2e-3)
                    flash_attn=not f32,
                    verbose=False,
                    **cache,
                )
        except (ValueError, RuntimeError, OSError) as e:
            raise BackendError(f"{path}: llama.cpp cannot load it (truncated or corrupt?)") from e
        # the tokenizers' files, read again by llama-cpp-python, go at once
        llm.metadata = {k: v for k, v in llm.metadata.items() if len(v) <= LARGE_METADATA}
        give_back_freed_memory()
        return llm

    @classmethod
    def open(
        cls,
        path: Path | None,
        n_ctx: int | None = None,
        *,
        full_cache: bool = False,
        store: bool = True,
    ) -> LlamaBackend:
        """``full_cache``: keep every position in the sliding layers too, so that any rewind
        is a cut (for many samples of one prompt, at a small context); ``store``: load and
        store prompt heads on disk.

        The tokenizer is built from the file's header before llama.cpp loads the model, and
        the memory its parse used is given back first: the two never take room together."""
        from bslm.export.metadata import MetadataError, decoding_settings, tokenizer_from_metadata

        if path is None:
            path, meta = cls._default()
        else:
            path = Path(path)
            meta = gguf_header(path)
        try:
            tok = tokenizer_from_metadata(meta, str(path))
        except MetadataError as e:
            raise BackendError(str(e)) from e
        finally:
            meta = {k: v for k, v in meta.items() if len(v) <= LARGE_METADATA}
            give_back_freed_memory()  # the tokenizer's parse leaves ~70 MiB free in the heap
        llm = cls._load(path, n_ctx, full_cache, f32=f32_file(meta))
        arch = meta.get("general.architecture", "?")
        info = {
            "model": str(path),
            "backend": "llama",
            "quantization": _file_type(meta.get("general.file_type")),
            "architecture": arch,
            "sliding_window": _int(meta.get(f"{arch}.attention.sliding_window")),
            "decoding": decoding_settings(meta),  # calibrated decoding help (engine.Help)
        }
        n_train = int(llm.n_ctx())
        heads = PromptStore(default_dir(), identity(path, n_ctx=n_train, cache="swa"))
        return cls(llm, tok, min(n_ctx or n_train, n_train), info, heads if store else None)

    @classmethod
    def _default(cls) -> tuple[Path, dict[str, str]]:
        """The default model's GGUF and its header (``gguf_header``), exported again when it is
        missing or the shipped artifact it was made from changed (told from the digest in its
        header's ``bslm.source``)."""
        path = default_gguf_path()
        with contextlib.suppress(BackendError):
            meta = gguf_header(path)
            if gguf_is_current(meta.get("bslm.source")):
                return path, meta
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
        return path, gguf_header(path)

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
        address = ctypes.addressof(ptr.contents)
        if address != self._address:  # llama.cpp's output buffer, the same from token to token
            self._address = address
            # writeable on purpose: numpy's argmax copies a read-only array before searching it
            # (it asks for a writeable one), a copy of the row per token: 2-3 times the argmax
            self._view = np.ctypeslib.as_array(ptr, shape=(self._vocab,))
        return self._view

    def _rewind(self, n: int) -> None:
        if n > 0 and self._can_cut(n):
            # Llama.eval continues from n_tokens; the positions after it go
            self.llm._ctx.kv_cache_seq_rm(0, n, -1)
            self.llm.n_tokens = n
            return
        keep = self.tokens[:n]
        self.llm._ctx.kv_cache_clear()
        self.llm.n_tokens = 0
        start = self._restore(keep)
        if start < n:
            self.rewinds += 1
            self.llm.eval(keep[start:])

    def _can_cut(self, n: int) -> bool:
        """Whether the cache still holds what the positions from ``n`` on attend to (the
        sliding layers keep only their window)."""
        lib = _llama()
        pos_min = lib.llama_memory_seq_pos_min(lib.llama_get_memory(self.llm._ctx.ctx), 0)
        return pos_min <= max(0, n - max(1, self._n_swa))

    def _restore(self, tokens: list[int]) -> int:
        """Load the longest stored head of ``tokens`` into the (empty) cache; its length, 0
        for none."""
        if self.store is None:
            return 0
        n = self.store.longest(tokens)
        if n == 0:
            return 0
        path = self.store.path(tokens[:n])
        lib = _llama()
        out = (lib.llama_token * n)()
        count = ctypes.c_size_t(0)
        ctx = self.llm._ctx.ctx
        ok = lib.llama_state_load_file(ctx, str(path).encode(), out, n, ctypes.byref(count))
        if not ok or count.value != n or list(out) != tokens[:n]:
            path.unlink(missing_ok=True)  # unreadable, or from another llama.cpp
            self.llm._ctx.kv_cache_clear()
            self.llm.n_tokens = 0
            return 0
        self.llm.input_ids[:n] = tokens[:n]
        self.llm.n_tokens = n
        self.restored += 1
        self.store.touch(path)
        return n

    def hold(self, ids: list[int], head: bool = False) -> int:
        """Make the cache hold ``ids``. A ``head`` is loaded from the store when it was stored,
        else evaluated and stored. Returns the tokens evaluated."""
        if not head or self.store is None or len(ids) < MIN_TOKENS:
            return super().hold(ids)
        stored = self.store.path(ids).is_file()
        if stored and len(ids) - self.shared(ids) >= MIN_TOKENS:  # loading costs less
            self.rewind(0)
            loaded = self._restore(ids)
            self.tokens = list(ids[:loaded])
            if loaded == len(ids):
                return 0
            stored = False  # the file could not be loaded, and is gone
        evaluated = super().hold(ids)
        if not stored:
            self._save(ids)
        return evaluated

    def _save(self, ids: list[int]) -> None:
        """Store the cache's state after ``ids`` (a failure only costs the next process the
        head's evaluation)."""
        from bslm.models.files import atomic_file

        lib = _llama()
        arr = (lib.llama_token * len(ids))(*ids)
        with contextlib.suppress(OSError):
            with atomic_file(self.store.path(ids)) as tmp:
                if not lib.llama_state_save_file(
                    self.llm._ctx.ctx, str(tmp).encode(), arr, len(ids)
                ):
                    raise OSError("llama.cpp could not save its state")
            self.store.prune()

    def close(self) -> None:
        self._finalizer()


def give_back_freed_memory() -> None:
    """Return the C heap's free pages to the system (glibc keeps what a large parse freed,
    and the process's resident memory with it); nothing where the C library lacks it."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return
    trim(0)


def _llama():
    import llama_cpp

    return llama_cpp


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_FILE_TYPES = {0: "f32", 1: "f16", 7: "q8_0", 15: "q4_k_m"}


# GGUF metadata value types, numbered as in the GGUF spec (gguf-py's GGUFValueType, which
# costs its package's import on the way to the model), and the struct formats of the scalars
_GGUF_STRING, _GGUF_ARRAY = 8, 9


_GGUF_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}


def gguf_header(path: Path) -> dict[str, str]:
    """A GGUF file's metadata values that are not arrays, as the strings llama-cpp-python's
    ``Llama.metadata`` gives, read from the header alone: the tokenizer arrays and the
    tensors are skipped, and nothing is loaded. Raises BackendError for a missing file, one
    that is not a GGUF, or one whose header is cut short."""
    import mmap
    import struct

    if not path.is_file():
        raise BackendError(f"{path} does not exist")
    meta: dict[str, str] = {}
    u64 = struct.Struct("<Q")
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            at = 0

            def read(fmt: str) -> tuple:
                nonlocal at
                fmt = "<" + fmt
                value = struct.unpack_from(fmt, buf, at)
                at += struct.calcsize(fmt)
                return value

            def string() -> bytes:
                nonlocal at
                n = read("Q")[0]
                if at + n > len(buf):
                    raise EOFError
                at += n
                return buf[at - n : at]

            if buf[:4] != b"GGUF":
                raise BackendError(f"{path} is not a GGUF file")
            at = 4
            _version, _tensors, n_kv = read("IQQ")
            for _ in range(n_kv):
                key, kind = string().decode("utf-8"), read("I")[0]
                if kind == _GGUF_STRING:
                    meta[key] = string().decode("utf-8")
                elif kind == _GGUF_ARRAY:
                    item, n = read("IQ")
                    if item == _GGUF_STRING:  # skipped: each string's length, then its bytes
                        for _ in range(n):
                            at += 8 + u64.unpack_from(buf, at)[0]
                    else:
                        at += struct.calcsize("<" + _GGUF_SCALARS[item]) * n
                    if at > len(buf):
                        raise EOFError
                else:
                    meta[key] = _as_text(read(_GGUF_SCALARS[kind])[0])
    except (OSError, EOFError, KeyError, ValueError, struct.error) as e:
        raise BackendError(f"{path}: unreadable GGUF header (truncated or corrupt?)") from e
    return meta


def _as_text(value) -> str:
    """A scalar as llama.cpp writes it in its metadata."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:f}" if isinstance(value, float) else str(value)


def f32_file(meta: dict) -> bool:
    """Whether a GGUF's header (``gguf_header``) says its weights are all f32."""
    return _int(meta.get("general.file_type")) == FILE_TYPE_F32


def _file_type(value) -> str:
    v = _int(value)
    return _FILE_TYPES.get(v, f"type {v}") if v is not None else "?"
