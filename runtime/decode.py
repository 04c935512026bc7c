"""Decoding a model turn on a backend, with the tool grammar as a hard mask, a soft bias, or off.

``hard``: only tokens the grammar allows can be chosen. ``soft``: allowed tokens get a logit
bonus of ``bias``; a refused token can still win when the model is sure enough, and from there
the rest of the turn is decoded freely (the grammar has lost its place). ``off``: plain argmax.

The mask never touches the whole vocabulary when it does not have to: the model's own choice
is checked first (a set lookup), and only when the grammar refuses it is the best allowed token
searched for, over the allowed ranges only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bslm.models.choice import DEFAULT_SOFT_BIAS, Chooser, pick
from bslm.models.grammar import Grammar, Matcher
from bslm.runtime.backends import Backend


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
    logits = backend.prime(prompt, copy=False)
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
        logits = backend.eval([t], copy=False)
    out.seconds = time.perf_counter() - t0
    return out
