"""Rollouts decoded together: the episodes of a GRPO step share one llama.cpp context, and every
decoding step evaluates one token of each of them in a single ``llama_decode``, so the weights
are read once per step for all of them instead of once per episode.

Each episode still runs the engine as the runtime does (``models/engine.generate`` under the
turn's grammar, through ``rollout.play``): it runs in a thread of its own and sees a
``Sequence``, an engine ``Backend`` over one sequence of the shared cache. A sequence's
evaluation waits until every episode still playing has asked for its next evaluation (or
ended); the last one to ask runs the batch for all. So a batch is made of what the episodes
asked for, whatever the threads' timing, and each episode samples from its own generator:
the rollouts are the same from run to run.

The cache is unified: the episodes of one task copy their shared prompt from the first one to
evaluate it (``llama_memory_seq_cp``, which shares the cells) instead of evaluating it again.

    with BatchedLlama(path, tok, n_seq=8) as llm:
        results = play_together(llm, tok, jobs, mode="hard", temperature=1.0)
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bslm.models.engine import Backend, BackendError, common_prefix

MIN_SHARED = 16  # a prompt shares its head with another sequence from this many tokens on


@dataclass
class _Request:
    seq: int
    ids: list[int]
    logits: np.ndarray | None = None


class BatchedLlama:
    """One GGUF model and one unified cache of ``n_seq`` sequences, decoded in batches."""

    def __init__(self, path: str | Path, tok, n_seq: int = 8, n_ctx: int = 4096, n_batch=512):
        import llama_cpp as L

        from bslm.export.gguf import quiet_native_output
        from bslm.runtime.backends.llama import GGML_TYPE_F32, f32_file, gguf_header, threads

        self.L, self.tok, self.n_seq, self.n_ctx = L, tok, n_seq, n_ctx
        self.n_batch = n_batch
        path = Path(path)
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        with quiet_native_output():
            self.model = L.llama_model_load_from_file(str(path).encode(), mp)
            if not self.model:
                raise BackendError(f"{path}: llama.cpp cannot load it")
            cp = L.llama_context_default_params()
            cp.n_ctx, cp.n_batch, cp.n_ubatch = n_ctx, n_batch, n_batch
            cp.n_seq_max, cp.kv_unified, cp.swa_full = n_seq, True, True
            cp.n_threads = cp.n_threads_batch = threads()
            if f32_file(gguf_header(path)):
                cp.type_k = cp.type_v = GGML_TYPE_F32
            self.ctx = L.llama_init_from_model(self.model, cp)
        if not self.ctx:
            L.llama_model_free(self.model)
            raise BackendError(f"{path}: llama.cpp cannot make a context of {n_seq} sequences")
        self.batch = L.llama_batch_init(n_batch, 0, n_seq)
        self.mem = L.llama_get_memory(self.ctx)
        self.n_vocab = int(L.llama_vocab_n_tokens(L.llama_model_get_vocab(self.model)))
        self.tokens: list[list[int]] = [[] for _ in range(n_seq)]
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._live = 0
        self._error: BaseException | None = None
        self.batches = 0  # rounds decoded
        self.shared = 0  # prompt tokens copied from another sequence instead

    # --- sequences ---

    def sequence(self, seq: int) -> Sequence:
        """An engine ``Backend`` over sequence ``seq`` (emptied first)."""
        if not 0 <= seq < self.n_seq:
            raise ValueError(f"sequence {seq} outside 0..{self.n_seq - 1}")
        self.L.llama_memory_seq_rm(self.mem, seq, -1, -1)
        self.tokens[seq] = []
        return Sequence(self, seq)

    def join(self) -> None:
        with self._cond:
            self._live += 1

    def leave(self) -> None:
        """A playing episode is over: the others no longer wait for it."""
        with self._cond:
            self._live -= 1
            self._maybe_run()

    def rewind(self, seq: int, n: int) -> None:
        self.L.llama_memory_seq_rm(self.mem, seq, n, -1)
        del self.tokens[seq][n:]

    def evaluate(self, seq: int, ids: list[int]) -> np.ndarray:
        """Logits after ``ids`` appended to sequence ``seq``, once every live episode has
        asked (the caller blocks until its batch is decoded)."""
        req = _Request(seq, list(ids))
        with self._cond:
            self._pending.append(req)
            self._maybe_run()
            while req.logits is None and self._error is None:
                self._cond.wait()
            if req.logits is None:
                raise BackendError(f"a batched decode failed: {self._error}")
            return req.logits

    def _maybe_run(self) -> None:
        """(under the lock) Decode the pending requests when every live episode has asked."""
        if not self._pending or len(self._pending) < self._live:
            return
        pending, self._pending = self._pending, []
        try:
            self._run(pending)
        except BaseException as e:  # noqa: BLE001 - handed to every waiting episode
            self._error = e
        self._cond.notify_all()

    def _run(self, requests: list[_Request]) -> None:
        # a fresh prompt whose head another sequence holds (or will hold after this round's
        # first pass) copies those cells rather than evaluating them again
        first, later = [], []
        for r in sorted(requests, key=lambda r: r.seq):
            if len(self.tokens[r.seq]) + len(r.ids) > self.n_ctx:
                raise BackendError(f"context full: more than {self.n_ctx} tokens")
            if not self.tokens[r.seq] and self._share(r):
                first.append(r)
            elif not self.tokens[r.seq] and any(
                common_prefix(r.ids, o.ids) >= MIN_SHARED for o in first if not self.tokens[o.seq]
            ):
                later.append(r)
            else:
                first.append(r)
        self._decode(first)
        if later:
            for r in later:
                self._share(r)
            self._decode(later)
        self.batches += 1

    def _share(self, r: _Request) -> bool:
        """Copy into ``r``'s empty sequence the longest head of ``r.ids`` that another
        sequence holds (at least MIN_SHARED, and one token short of all of it, so that there
        are logits to return); ``r.ids`` keeps what is left to evaluate."""
        best, src = 0, -1
        for s, held in enumerate(self.tokens):
            if s != r.seq and held:
                n = min(common_prefix(held, r.ids), len(r.ids) - 1)
                if n > best:
                    best, src = n, s
        if best < MIN_SHARED:
            return False
        self.L.llama_memory_seq_cp(self.mem, src, r.seq, 0, best)
        self.tokens[r.seq] = r.ids[:best]
        r.ids = r.ids[best:]
        self.shared += best
        return True

    def _decode(self, requests: list[_Request]) -> None:
        """Evaluate the requests' ids, in as many ``llama_decode`` calls as the batch size
        needs, keeping the logits of each request's last token."""
        L, b = self.L, self.batch
        todo = [(r, i) for r in requests for i in range(len(r.ids))]
        for start in range(0, len(todo), self.n_batch):
            chunk = todo[start : start + self.n_batch]
            b.n_tokens = len(chunk)
            for j, (r, i) in enumerate(chunk):
                b.token[j] = r.ids[i]
                b.pos[j] = len(self.tokens[r.seq]) + i
                b.n_seq_id[j] = 1
                b.seq_id[j][0] = r.seq
                b.logits[j] = i == len(r.ids) - 1
            code = L.llama_decode(self.ctx, b)
            if code != 0:
                raise BackendError(f"llama_decode returned {code} (is the cache full?)")
            for j, (r, i) in enumerate(chunk):
                if i == len(r.ids) - 1:
                    ptr = L.llama_get_logits_ith(self.ctx, j)
                    r.logits = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy()
        for r in requests:
            self.tokens[r.seq].extend(r.ids)

    def close(self) -> None:
        if getattr(self, "ctx", None):
            self.L.llama_batch_free(self.batch)
            self.L.llama_free(self.ctx)
            self.L.llama_model_free(self.model)
            self.ctx = None

    def __enter__(self) -> BatchedLlama:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Sequence(Backend):
    """One sequence of a ``BatchedLlama``, as an engine backend (batch 1 to the engine)."""

    name = "llama-batched"

    def __init__(self, llm: BatchedLlama, seq: int):
        super().__init__(llm.tok, llm.n_ctx, {"backend": "llama", "sequence": seq})
        self.llm, self.seq = llm, seq

    @property
    def n_vocab(self) -> int:
        return self.llm.n_vocab

    def _eval(self, ids: list[int]) -> np.ndarray:
        return self.llm.evaluate(self.seq, ids)

    def _rewind(self, n: int) -> None:
        self.llm.rewind(self.seq, n)


def equip(jobs: list[dict], rng: np.random.Generator) -> list[dict]:
    """``jobs`` (``{"task", "prefix"}``) with what playing at once needs: an environment of
    each job's own, and a generator of its own drawn from ``rng`` (in order, so the same
    ``rng`` gives the same rollouts)."""
    from bslm.train.rl.envs import make_env

    return [
        dict(job, env=make_env(job["task"].env), rng=np.random.default_rng(rng.integers(2**63)))
        for job in jobs
    ]


def play_together(llm: BatchedLlama, tok, jobs: list[dict], **kwargs) -> list[tuple]:
    """``rollout.play`` for every job (``{"env", "task", "prefix", "rng"}``), the episodes
    decoded together on ``llm`` (at most ``llm.n_seq`` at a time). Returns (episode, sampler)
    per job, in order. An episode's error is raised once all have stopped."""
    from bslm.train.rl.rollout import play

    results: list = [None] * len(jobs)
    errors: list[BaseException] = []
    for start in range(0, len(jobs), llm.n_seq):
        group = list(enumerate(jobs))[start : start + llm.n_seq]
        seqs = {i: llm.sequence(i - start) for i, _ in group}
        for _ in group:
            llm.join()

        def work(i: int, job: dict, seq: Sequence) -> None:
            try:
                results[i] = play(
                    seq,
                    tok,
                    job["env"],
                    job["task"],
                    prefix=job.get("prefix", 0),
                    rng=job["rng"],
                    **kwargs,
                )
            except BaseException as e:  # noqa: BLE001 - raised below, after the others
                errors.append(e)
            finally:
                llm.leave()

        threads = [threading.Thread(target=work, args=(i, job, seqs[i])) for i, job in group]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
    return results
