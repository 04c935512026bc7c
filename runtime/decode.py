"""Decoding a model turn on a backend, with the tool grammar as a hard mask, a soft bias, or off.

``hard``: only tokens the grammar allows can be chosen. ``soft``: allowed tokens get a logit
bonus of ``bias``; a refused token can still win when the model is sure enough, and from there
the rest of the turn is decoded freely (the grammar has lost its place). ``off``: plain argmax.

The mask never touches the whole vocabulary when it does not have to: the model's own choice
is checked first (a set lookup), and only when the grammar refuses it is the best allowed token
searched for, over the allowed ranges only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bslm.runtime.backends import Backend
from bslm.runtime.constrain import Allowed, Grammar, Matcher

MASKS = ("hard", "soft", "off")
DEFAULT_SOFT_BIAS = 8.0


@dataclass
class Generation:
    ids: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    ended: bool = False  # the turn closed with ⟨eot⟩ (not cut by the token limit or a stop)
    seconds: float = 0.0
    prefill_seconds: float = 0.0
    mask_seconds: float = 0.0  # time spent in the grammar and the masked choice
    overridden: int = 0  # tokens where the mask changed the model's choice
    left_grammar: bool = False  # soft mode: the model chose a refused token

    @property
    def tokens_per_second(self) -> float:
        decode = self.seconds - self.prefill_seconds
        return (len(self.ids) - 1) / decode if decode > 0 and len(self.ids) > 1 else 0.0


class Chooser:
    """Pick the next token from logits under an ``Allowed`` set."""

    def __init__(self, grammar: Grammar, mode: str = "hard", bias: float = DEFAULT_SOFT_BIAS,
                 temperature: float = 0.0, seed: int = 0):  # fmt: skip
        if mode not in MASKS:
            raise ValueError(f"unknown mask mode {mode!r} (choose from {', '.join(MASKS)})")
        self.g, self.mode, self.bias = grammar, mode, bias
        self.temperature = temperature
        self.rng = np.random.default_rng(seed)
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


def generate(
    backend: Backend,
    prompt: list[int],
    grammar: Grammar | None = None,
    mode: str = "hard",
    *,
    max_new_tokens: int = 256,
    bias: float = DEFAULT_SOFT_BIAS,
    temperature: float = 0.0,
    seed: int = 0,
    on_token: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Generation:
    """Decode one model turn after ``prompt`` (which ends with ``⟨model⟩``). ``grammar`` None
    or mode ``off``: unconstrained. Stops at ``⟨eot⟩``, the token limit, or ``should_stop()``."""
    eot = backend.tokenizer.eot_id
    out = Generation(prompt_tokens=len(prompt))
    t0 = time.perf_counter()
    logits = backend.prime(prompt)
    out.prefill_seconds = time.perf_counter() - t0
    matcher = Matcher(grammar) if grammar is not None and mode != "off" else None
    chooser = Chooser(grammar, mode, bias, temperature, seed) if grammar is not None else None
    rng = np.random.default_rng(seed)
    for _ in range(max_new_tokens):
        if should_stop is not None and should_stop():
            break
        if chooser is None:
            t = pick(logits, temperature, rng)
        else:
            m0 = time.perf_counter()
            allowed = matcher.allowed() if matcher is not None else None
            t = chooser.choose(logits, allowed)
            out.overridden += chooser.overrode
            if matcher is not None and not matcher.advance(t):
                matcher = None  # soft mode only: the model left the grammar
                out.left_grammar = True
            out.mask_seconds += time.perf_counter() - m0
        out.ids.append(t)
        if on_token is not None:
            on_token(t)
        if t == eot:
            out.ended = True
            break
        logits = backend.eval([t])
    out.seconds = time.perf_counter() - t0
    return out
