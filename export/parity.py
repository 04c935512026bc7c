"""Parity of an exported model with PyTorch: the reference decodes greedily, the export is fed
the same ids, and every step's logits are compared.

    stats = parity(reference_backend, exported_backend, prompts, n_tokens=32)
    stats.max_abs, stats.top1          # max |Δlogit| over all steps, share of equal argmax

``reference_runs`` once and ``compare`` per export does the same for several exports.

Prompts should reach past the sliding window, where a wrong layer pattern shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Parity:
    max_abs: float = 0.0
    steps: int = 0
    agree: int = 0
    diffs: list[float] = field(default_factory=list)

    @property
    def top1(self) -> float:
        return self.agree / self.steps if self.steps else 0.0

    def add(self, ref: np.ndarray, got: np.ndarray) -> None:
        n = min(len(ref), len(got))  # rows past the vocabulary (padding) are never sampled
        d = float(np.max(np.abs(ref[:n].astype(np.float64) - got[:n])))
        self.diffs.append(d)
        self.max_abs = max(self.max_abs, d)
        self.steps += 1
        self.agree += int(np.argmax(ref[:n]) == np.argmax(got[:n]))


@dataclass
class Run:
    """The reference's greedy run after one prompt: the ids it chose and its logits before
    each of them (and after the last)."""

    prompt: list[int]
    ids: list[int]
    logits: list[np.ndarray]


def reference_runs(reference, prompts: list[list[int]], n_tokens: int) -> list[Run]:
    """Greedy decoding of ``n_tokens`` after each prompt by ``reference`` (a Backend)."""
    runs = []
    for prompt in prompts:
        logits = [reference.prime(prompt)]
        ids: list[int] = []
        for _ in range(n_tokens):
            ids.append(int(np.argmax(logits[-1])))
            logits.append(reference.eval([ids[-1]]))
        reference.reset()
        runs.append(Run(list(prompt), ids, logits))
    return runs


def compare(backend, runs: list[Run]) -> Parity:
    """Feed ``backend`` the ids of each run and compare its logits step by step."""
    out = Parity()
    for run in runs:
        out.add(run.logits[0], backend.prime(run.prompt))
        for tid, ref in zip(run.ids, run.logits[1:], strict=True):
            out.add(ref, backend.eval([tid]))
        backend.reset()
    return out


def parity(reference, backend, prompts: list[list[int]], n_tokens: int = 32) -> Parity:
    """Greedy decoding by ``reference`` with ``backend`` fed the same ids; compares the logits
    of the last prompt position and of each generated position."""
    return compare(backend, reference_runs(reference, prompts, n_tokens))


def parity_prompts(tok, window: int | None, n_tokens: int) -> list[list[int]]:
    """A short chat-like prompt, and one long enough that prompt plus generation run past the
    sliding window (``window`` None: 512)."""
    from bslm.models.chat import encode_chat

    short = encode_chat(
        tok,
        [{"role": "user", "content": "What is the weather like in Paris today?"}],
        add_generation_prompt=True,
    ).ids
    text = (
        "The old lighthouse keeper climbed the spiral stairs each evening, counting the steps "
        "and listening to the sea below. "
    )
    want = (window or 512) + 8 - n_tokens // 2
    ids: list[int] = [tok.bos_id] if tok.bos_id is not None else []
    while len(ids) < want:
        ids += tok.encode_text(text)
    return [short, ids[: max(want, 8)]]
