"""The decoding engine: one model turn decoded on a backend, under the tool grammar.

Everything that decodes goes through here: the agent (``runtime/agent.py``), evaluation, the
GRPO and DPO rollouts, and greedy decoding of a plain model. Like nanochat's engine it knows
nothing about tokenization: token ids in, token ids out, and a grammar that says which ids may
come next.

- ``Backend``: one model with one KV cache (batch 1), token ids in and next-token logits out.
  ``models/torch_backend.py`` runs a transformers model; ``runtime/backends`` adds llama.cpp
  and onnxruntime.
- ``generate(backend, prompt, grammar, mode)``: one model turn. For every token it reports the
  id, its log-probability (``logprobs=True``) and whether the grammar forced it.
- ``turn_grammar(tok, tools, system, called)``: the grammar of one turn, from the tools on
  offer, the rules the system prompt states about them ("Never call the tool X.", "Always use
  the tool X") and the tools already called.

``hard``: only tokens the grammar allows can be chosen. ``soft``: allowed tokens get a logit
bonus; a refused token can still win when the model is sure enough, and from there the rest of
the turn is decoded freely (the grammar has lost its place). ``off``: the logits as they are.
Greedy at temperature 0, sampled above it (``models/choice.py``).
"""

from __future__ import annotations

import json
import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bslm.models.choice import DEFAULT_SOFT_BIAS, Chooser, logprob, pick
from bslm.models.errors import BslmError
from bslm.models.grammar import Allowed, Grammar, Matcher
from bslm.models.tools import ToolSpec


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """The length of the prefix ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


# --- backends -------------------------------------------------------------------------------


class BackendError(BslmError, RuntimeError):
    """A model that cannot be opened or run; the message is one line for the user."""


class Backend(ABC):
    """One model with one KV cache (batch 1).

    Every backend keeps the ids it has evaluated (``tokens``), so a new prompt that shares a
    prefix with the cache only evaluates the rest (``prime``)."""

    name: str = "?"
    # ``_eval`` returns a view of the backend's own buffer, overwritten by the next evaluation
    views: bool = False

    def __init__(self, tokenizer, n_ctx: int, info: dict | None = None):
        self.tokenizer = tokenizer  # a DualTokenizer (None for a plain text model)
        self.n_ctx = n_ctx
        # what a user may want to see: model name/path, quantization, sliding window...
        self.info: dict = dict(info or {})
        self.tokens: list[int] = []
        # the last prompt primed and the logits after it, while the cache still holds it
        self._primed: tuple[list[int], np.ndarray] | None = None

    @property
    def n_past(self) -> int:
        return len(self.tokens)

    @property
    @abstractmethod
    def n_vocab(self) -> int:
        """Length of a logits row (at least ``len(tokenizer)``)."""

    @abstractmethod
    def _eval(self, ids: list[int]) -> np.ndarray:
        """Append ``ids`` after the cached positions; float32 logits of the last one."""

    @abstractmethod
    def _rewind(self, n: int) -> None:
        """Keep only the first ``n`` cached positions."""

    def eval(self, ids: list[int], copy: bool = True) -> np.ndarray:
        """Logits after ``ids`` appended to the cache. ``copy=False``: they may be a view of
        the backend's buffer that the next evaluation overwrites (no copy of the vocabulary per
        token, for a decoding loop; never write into it). Raises BackendError when the context
        is full."""
        if not ids:
            raise ValueError("nothing to evaluate")
        if self.n_past + len(ids) > self.n_ctx:
            raise BackendError(f"context full: {self.n_past + len(ids)} tokens > {self.n_ctx}")
        logits = self._eval(list(ids))
        self.tokens.extend(ids)
        return logits.copy() if copy and self.views else logits

    def rewind(self, n: int) -> None:
        n = max(0, min(n, self.n_past))
        if n < self.n_past:
            self._rewind(n)
            del self.tokens[n:]
        if self._primed is not None and n < len(self._primed[0]):
            self._primed = None

    def reset(self) -> None:
        self.rewind(0)

    def shared(self, ids: list[int]) -> int:
        """How many of ``ids`` the cache already holds (the common prefix)."""
        return common_prefix(self.tokens, ids)

    def hold(self, ids: list[int], head: bool = False) -> int:
        """Make the cache hold exactly ``ids``, reusing the cached prefix. ``head``: ``ids`` is
        a prompt head that recurs across requests (the system prompt and the tools), which a
        backend that stores heads loads or stores. Returns how many tokens were evaluated."""
        keep = self.shared(ids)
        self.rewind(keep)
        if keep < len(ids):
            self.eval(ids[keep:])
        return len(ids) - keep

    def prime(self, prompt: list[int], copy: bool = True) -> np.ndarray:
        """Logits after ``prompt``, reusing the longest cached prefix (at least the last
        prompt token is evaluated again, so there are logits to return). The prompt primed
        last, while the cache still holds it (as after decoding from it), gives back the
        logits kept from then: decoding one prompt again, another way, evaluates nothing and
        starts from the very same numbers (the last token evaluated again, alone, would come
        out slightly different: llama.cpp's results depend on the batch a token is in)."""
        prompt = list(prompt)
        primed = self._primed
        if primed is not None and primed[0] == prompt and self.shared(prompt) == len(prompt):
            self.rewind(len(prompt))
            return primed[1].copy() if copy else primed[1]
        keep = self.shared(prompt[:-1])
        self.rewind(keep)
        logits = self.eval(prompt[keep:], copy)
        self._primed = (prompt, np.array(logits))  # a copy: ``logits`` may be a view
        return logits

    def close(self) -> None:  # noqa: B027 - optional
        pass


# --- inference-side help -------------------------------------------------------------------


@dataclass(frozen=True)
class Help:
    """Help the decoder gives the model where it is weak, apart from the mask, chosen on the
    development set and reported apart from what training gives (``train/eval/calibrate.py``).

    - ``call_threshold``: where a turn decides whether to call (its first token, or the first
      after a thought it opens with), a call opens when the (masked) probability of ``⟨call⟩``
      is at least this, whatever the model's top choice (None: the model's own choice). A
      threshold above 0.5 makes calls rarer on small talk and after results; 0 always calls
      there, above 1 never.
    - ``copy_bias``: a logit bonus, inside string values, for the text tokens of the
      conversation's user and tool messages (``copy_ids``, from ``for_conversation``), so that
      values come from what was said rather than from examples in the tools' descriptions.
    """

    call_threshold: float | None = None
    copy_bias: float = 0.0
    copy_ids: tuple[int, ...] = ()

    @property
    def active(self) -> bool:
        return self.call_threshold is not None or self.copy_bias != 0.0

    @classmethod
    def from_settings(
        cls,
        settings: dict | None,
        call_threshold: float | None = None,
        copy_bias: float | None = None,
    ) -> Help:
        """The help of a model's calibrated ``settings`` (``{"call_threshold", "copy_bias"}``,
        from its ``bslm.decoding`` metadata; None: none), each overridden by the argument that
        is not None. Raises ValueError for settings out of range."""
        settings = settings or {}
        t = settings.get("call_threshold") if call_threshold is None else call_threshold
        b = settings.get("copy_bias") if copy_bias is None else copy_bias
        if t is not None and not (isinstance(t, int | float) and 0.0 <= t <= 1.0):
            raise ValueError(f"call threshold {t!r} is not a probability between 0 and 1")
        if b is not None and not (isinstance(b, int | float) and math.isfinite(b)):
            raise ValueError(f"copy bias {b!r} is not a number")
        return cls(None if t is None else float(t), float(b or 0.0))

    def for_conversation(self, tok, messages: list[dict]) -> Help:
        """This help with ``copy_ids`` from ``messages`` (user and tool messages): each word's
        text tokens, as it starts a value and as it follows a space."""
        if not self.copy_bias:
            return self
        ids: set[int] = set()
        for m in messages:
            if m.get("role") not in ("user", "tool"):
                continue
            content = m.get("content")
            if not isinstance(content, str):
                content = json.dumps(content, ensure_ascii=False)
            words = set(_WORD.findall(content))
            for word in words | {w.rstrip(".!?:") for w in words} - {""}:
                for form in (word, " " + word):
                    ids.update(tok.encode_text(form))
        off = tok.offset
        return Help(self.call_threshold, self.copy_bias, tuple(sorted(i for i in ids if i < off)))


_WORD = re.compile(r"[^\s\"'`,;()\[\]{}<>]+")


# --- one model turn -------------------------------------------------------------------------


@dataclass
class Generation:
    ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)  # with logprobs=True: one per id
    forced: list[bool] = field(default_factory=list)  # the mask changed the model's choice
    prompt_tokens: int = 0
    ended: bool = False  # the turn closed with a stop id (not cut by the limit or a stop)
    seconds: float = 0.0
    prefill_seconds: float = 0.0
    mask_seconds: float = 0.0  # time spent in the grammar and the masked choice
    left_grammar: bool = False  # soft mode: the model chose a refused token
    # with a call threshold: the masked probability of opening a call at the first token
    # (None where no call could open there)
    call_p: float | None = None
    call_own: bool | None = None  # ... and whether the model's own choice there was a call

    @property
    def overridden(self) -> int:
        """Tokens where the mask changed the model's choice."""
        return sum(self.forced)

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
    rng: np.random.Generator | None = None,
    stop: Collection[int] | None = None,
    logprobs: bool | str = False,
    on_token: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    help: Help | None = None,
) -> Generation:
    """Decode one model turn after ``prompt``. ``grammar`` None or mode ``off``: unconstrained.
    Stops at a ``stop`` id (default: the tokenizer's ``⟨eot⟩``), the token limit, or
    ``should_stop()``. Sampling draws from ``rng`` (default: a generator seeded with ``seed``).
    ``logprobs``: also each token's log-probability under the distribution it was drawn from
    (the masked logits at ``temperature``; greedy: at 1); ``logprobs="model"``: under the
    model's own, unmasked logits at ``temperature`` (what a trainer recomputes from the
    weights). ``help``: inference-side help (``Help``), under a mask only. Raises
    BackendError from the backend."""
    if logprobs not in (False, True, "model"):
        raise ValueError(f"logprobs must be a bool or 'model', not {logprobs!r}")
    stop = {backend.tokenizer.eot_id} if stop is None else set(stop)
    rng = rng if rng is not None else np.random.default_rng(seed)
    out = Generation(prompt_tokens=len(prompt))
    t0 = time.perf_counter()
    logits = backend.prime(prompt, copy=False)
    out.prefill_seconds = time.perf_counter() - t0
    matcher = Matcher(grammar) if grammar is not None and mode != "off" else None
    chooser = Chooser(grammar, mode, bias, temperature, rng=rng) if grammar is not None else None
    if matcher is None or help is None or not help.active:
        help = None
    copy = np.array(help.copy_ids, dtype=np.int64) if help is not None else None
    # the call threshold's decision is still to come
    pending = [help is not None and help.call_threshold is not None]
    # the shortcut of a hard mask at temperature 0, where the mask's logits are not wanted
    greedy_first = mode == "hard" and matcher is not None and temperature <= 0
    greedy_first = greedy_first and logprobs in (False, "model")
    for _ in range(max_new_tokens):
        if should_stop is not None and should_stop():
            break
        allowed = None
        if chooser is None:
            t = pick(logits, temperature, rng)
            out.forced.append(False)
        elif greedy_first and not _helping(help, matcher, copy, pending):
            # hard mask, greedy: the model's own choice is tried first; only when the grammar
            # refuses it is what it allows worked out
            m0 = time.perf_counter()
            t = int(logits.argmax())
            forced = False
            if not matcher.advance(t):
                allowed = matcher.allowed()
                t = chooser.choose(logits, allowed)
                forced = chooser.overrode
                if not matcher.advance(t):  # nothing allowed: the model left the grammar
                    matcher, greedy_first, out.left_grammar = None, False, True
            out.forced.append(forced)
            out.mask_seconds += time.perf_counter() - m0
        else:
            m0 = time.perf_counter()
            allowed = matcher.allowed() if matcher is not None else None
            if help is None:
                t = chooser.choose(logits, allowed)
                out.forced.append(chooser.overrode)
            else:
                t, forced = _helped(chooser, matcher, logits, allowed, help, copy, pending, out)
                out.forced.append(forced)
            if matcher is not None and not matcher.advance(t):
                matcher = None  # soft mode only: the model left the grammar
                out.left_grammar = True
            out.mask_seconds += time.perf_counter() - m0
        if logprobs:
            masked = allowed is not None and logprobs != "model"
            drawn = chooser.masked(logits, allowed) if masked else logits
            out.logprobs.append(logprob(drawn, t, temperature))
        out.ids.append(t)
        if on_token is not None:
            on_token(t)
        if t in stop:
            out.ended = True
            break
        logits = backend.eval([t], copy=False)
    out.seconds = time.perf_counter() - t0
    return out


def _helping(help: Help | None, matcher: Matcher, copy: np.ndarray, pending: list[bool]) -> bool:
    """Whether ``help`` may change the next token: the call threshold's decision is still to
    come, or values are copied and the next token may continue a string."""
    if help is None:
        return False
    return pending[0] or bool(help.copy_bias and len(copy) and matcher.in_string)


def _helped(
    chooser: Chooser,
    matcher: Matcher,
    logits: np.ndarray,
    allowed,
    help: Help,
    copy: np.ndarray,
    pending: list[bool],
    out: Generation,
) -> tuple[int, bool]:
    """The next token under ``help``, and whether the mask or the help changed the model's
    choice. ``pending[0]``: the call threshold has yet to decide this turn (it decides once,
    where a call may open: at the first token, or after a thought the turn opens with)."""
    g = chooser.g
    call = g.sym["call"]
    if pending[0] and call in allowed.ids:
        own = chooser.choose(logits, allowed)
        if own == g.sym["think"]:
            return own, chooser.overrode  # a thought first: the decision follows it
        pending[0] = False
        z = chooser.masked(logits, allowed).astype(np.float64)
        z -= z.max()
        p = np.exp(z)
        out.call_p = float(p[call] / p.sum())
        out.call_own = own == call
        if out.call_p >= help.call_threshold:
            t = call
        else:
            t = chooser.choose(logits, Allowed(allowed.text, allowed.names, allowed.ids - {call}))
        return t, t != int(logits.argmax())
    if pending[0] and not matcher.in_think:
        pending[0] = False  # no call can open here: nothing to decide
    if help.copy_bias and len(copy) and matcher.in_string:
        own = int(logits.argmax())
        boosted = np.array(logits, dtype=np.float32)
        boosted[copy[copy < len(boosted)]] += np.float32(help.copy_bias)
        t = chooser.choose(boosted, allowed)
        return t, t != own
    t = chooser.choose(logits, allowed)
    return t, chooser.overrode


# --- the grammar of one turn ----------------------------------------------------------------

_TOOLISH = r"(?:the\s+)?(?:tool|function)?\s*[`'\"]?([A-Za-z0-9_.\-]+)[`'\"]?"
_NEVER = re.compile(
    r"\b(?:never|do\s+not|don'?t|must\s+not|may\s+not)\s+(?:ever\s+)?(?:call|use|invoke)\s+"
    + _TOOLISH,
    re.IGNORECASE,
)
_ALWAYS = re.compile(r"\b(?:always|must)\s+(?:call|use|invoke)\s+" + _TOOLISH, re.IGNORECASE)


def tool_rules(system: str | None, tools: list[ToolSpec]) -> tuple[frozenset[str], str | None]:
    """(tools the system prompt forbids, the tool it requires) among ``tools``."""
    if not system:
        return frozenset(), None
    names = {t.name for t in tools}

    def found(rx: re.Pattern) -> list[str]:
        # a name may contain dots, a sentence ends with one
        return [n for m in rx.finditer(system) if (n := m.group(1).rstrip(".")) in names]

    forbid = frozenset(found(_NEVER))
    force = next((n for n in found(_ALWAYS) if n not in forbid), None)
    return forbid, force


def turn_grammar(
    tok,
    tools: list[ToolSpec],
    system: str | None = None,
    called: Iterable[str] = (),
    *,
    forbid: Iterable[str] = (),
    answer: bool = False,
) -> Grammar:
    """The grammar of one model turn: the ``tools`` on offer, minus those the system prompt
    forbids and those in ``forbid``; the tool it requires must be called before the turn may
    end, unless ``called`` (the tools already called) holds it. ``answer``: the turn must
    answer in text (no tool can be spelled)."""
    never, force = tool_rules(system, tools)
    never = never | frozenset(forbid)
    if force is not None and force in set(called):
        force = None
    if answer:
        never, force = frozenset(t.name for t in tools), None
    return Grammar(tok, tools, forbid=never, force=force)


def called_tools(messages: list[dict]) -> set[str]:
    """The names of the tools the assistant turns of ``messages`` called."""
    return {
        c.get("function", c).get("name") if isinstance(c, dict) else c.name
        for m in messages
        for c in m.get("tool_calls") or []
    }
