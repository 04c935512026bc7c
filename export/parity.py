"""Parity of an exported model with PyTorch: the reference decodes greedily, the export is fed
the same ids, and every step's logits are compared.

    stats = parity(reference_backend, exported_backend, prompts, n_tokens=32)
    stats.max_abs, stats.top1          # max |Δlogit| over all steps, share of equal argmax

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


def parity(reference, backend, prompts: list[list[int]], n_tokens: int = 32) -> Parity:
    """Greedy decoding of ``n_tokens`` after each prompt by ``reference`` (a Backend), with
    ``backend`` fed the same ids; compares the logits of the last prompt position and of each
    generated position."""
    out = Parity()
    for prompt in prompts:
        ref, got = reference.prime(prompt), backend.prime(prompt)
        out.add(ref, got)
        for _ in range(n_tokens):
            nxt = int(np.argmax(ref))
            ref, got = reference.eval([nxt]), backend.eval([nxt])
            out.add(ref, got)
        reference.reset()
        backend.reset()
    return out


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
