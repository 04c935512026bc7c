"""Choosing the next token under the tool grammar: a hard mask, a soft logit bias, or none.

``hard``: only tokens the grammar allows can be chosen. ``soft``: allowed tokens get a logit
bonus of ``bias``; a refused token can still win when the model is sure enough. ``off``: the
logits as they are. Greedy at temperature 0, sampled above it.

The mask never touches the whole vocabulary when it does not have to: the model's own choice
is checked first (a set lookup), and only when the grammar refuses it is the best allowed token
searched for, over the allowed ranges only.
"""

from __future__ import annotations

import math

import numpy as np

from bslm.models.grammar import Allowed, Grammar

MASKS = ("hard", "soft", "off")
DEFAULT_SOFT_BIAS = 8.0


class Chooser:
    """Pick the next token from logits under an ``Allowed`` set."""

    def __init__(
        self,
        grammar: Grammar,
        mode: str = "hard",
        bias: float = DEFAULT_SOFT_BIAS,
        temperature: float = 0.0,
        seed: int = 0,
        rng: np.random.Generator | None = None,
    ):
        if mode not in MASKS:
            raise ValueError(f"unknown mask mode {mode!r} (choose from {', '.join(MASKS)})")
        self.g, self.mode, self.bias = grammar, mode, bias
        self.temperature = temperature
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.overrode = False
        self._arrays: dict[frozenset, np.ndarray] = {}
        self._refused = np.array(sorted(grammar.text_refused), dtype=np.int64)

    def _ids(self, ids: frozenset) -> np.ndarray:
        arr = self._arrays.get(ids)
        if arr is None:
            arr = np.fromiter(ids, dtype=np.int64, count=len(ids))
            if len(self._arrays) > 4096:
                self._arrays.clear()
            self._arrays[ids] = arr
        return arr

    def best_allowed(self, logits: np.ndarray, a: Allowed) -> int:
        g = self.g
        best, value = -1, -math.inf
        if a.text:
            seg = logits[: g.text_hi]
            j = int(seg.argmax())
            if j in g.text_refused:
                seg = seg.copy()
                seg[self._refused] = -np.inf
                j = int(seg.argmax())
            best, value = j, float(seg[j])
        if a.names:
            j = int(logits[g.name_lo : g.name_hi].argmax()) + g.name_lo
            if logits[j] > value:
                best, value = j, float(logits[j])
        if a.ids:
            arr = self._ids(a.ids)
            arr = arr[arr < len(logits)]
            if len(arr):
                j = int(arr[int(logits[arr].argmax())])
                if logits[j] > value:
                    best, value = j, float(logits[j])
        return best

    def masked(self, logits: np.ndarray, a: Allowed) -> np.ndarray:
        """Logits with the refused tokens at -inf (hard) or the allowed ones raised (soft)."""
        g = self.g
        keep = np.zeros(len(logits), dtype=bool)
        if a.text:
            keep[: g.text_hi] = True
            keep[self._refused] = False
        if a.names:
            keep[g.name_lo : g.name_hi] = True
        if a.ids:
            arr = self._ids(a.ids)
            keep[arr[arr < len(logits)]] = True
        if self.mode == "hard":
            return np.where(keep, logits, -np.inf)
        return logits + keep * np.float32(self.bias)

    def choose(self, logits: np.ndarray, a: Allowed | None) -> int:
        """The next token; ``overrode`` then says whether the mask replaced the model's greedy
        choice."""
        self.overrode = False
        if a is None or self.mode == "off":
            return pick(logits, self.temperature, self.rng)
        if self.temperature > 0:
            return pick(self.masked(logits, a), self.temperature, self.rng)
        top = int(logits.argmax())
        if self.g.allows(a, top):
            return top
        best = self.best_allowed(logits, a)
        if best < 0 or (self.mode == "soft" and logits[best] + self.bias < logits[top]):
            return top
        self.overrode = True
        return best


def pick(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Greedy at temperature 0, else a sample from the softmax at ``temperature``."""
    if temperature <= 0:
        return int(logits.argmax())
    z = logits.astype(np.float64) / temperature
    z -= z.max()
    p = np.exp(z)
    return int(rng.choice(len(p), p=p / p.sum()))


def logprob(logits: np.ndarray, t: int, temperature: float) -> float:
    """The log-probability of ``t`` under softmax(logits / temperature) (at 1 when greedy)."""
    z = logits.astype(np.float64)
    if temperature > 0:
        z = z / temperature
    z -= z.max()
    return float(z[t] - np.log(np.exp(z).sum()))


def sample(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> tuple[int, float]:
    """A token drawn from softmax(logits / temperature) (argmax at 0) and its log-probability."""
    t = pick(logits, temperature, rng)
    return t, logprob(logits, t, temperature)
