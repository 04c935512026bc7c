"""Sampled episodes for reinforcement learning: a torch model plays environment tasks, each
model turn sampled token by token (optionally under the tool grammar), every token accounted
for — the model's own (trained on) and the environment's (results turns, not trained on).

``Sampler`` is an ``act`` for ``run_episode``: it keeps the episode's token sequence and KV
cache, appends each results turn the environment produced, and samples the next model turn.

    sampler = Sampler(model, tok, grammar, mode="hard", temperature=1.0)
    episode = run_episode(env, task, sampler)
    sampler.prompt_ids, sampler.completion_ids, sampler.env_mask, sampler.logprobs
"""

from __future__ import annotations

import numpy as np
import torch

from bslm.models.chat import as_spec, encode_chat
from bslm.models.choice import Chooser
from bslm.models.grammar import Grammar, Matcher
from bslm.models.parser import ModelOutput, ParseError, parse_output
from bslm.models.tokenizer import DualTokenizer
from bslm.train.envs.base import Environment, Episode, Task, run_episode


class Sampler:
    """Samples the model turns of one episode (make one per episode)."""

    def __init__(
        self,
        model,
        tok: DualTokenizer,
        grammar: Grammar | None = None,
        mode: str = "hard",
        temperature: float = 1.0,
        max_turn_tokens: int = 96,
        max_tokens: int = 384,
        rng: np.random.Generator | None = None,
    ):
        self.model, self.tok, self.grammar, self.mode = model, tok, grammar, mode
        self.temperature, self.max_turn_tokens, self.max_tokens = (
            temperature,
            max_turn_tokens,
            max_tokens,
        )
        self.rng = rng if rng is not None else np.random.default_rng()
        self.chooser = Chooser(grammar, mode) if grammar is not None and mode != "off" else None
        self.prompt_ids: list[int] | None = None
        self.completion_ids: list[int] = []
        self.env_mask: list[int] = []  # 1: the model wrote it; 0: the environment did
        self.logprobs: list[float] = []
        self._past = None
        self._fed = 0  # tokens already in the KV cache

    def __call__(self, messages: list[dict], tools: list) -> ModelOutput:
        if self.prompt_ids is None:
            self.prompt_ids = encode_chat(self.tok, messages, tools, add_generation_prompt=True).ids
        else:
            last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
            new = encode_chat(
                self.tok, messages[last + 1 :], add_generation_prompt=True, bos=False
            ).ids
            self._append(new, mask=0)
        budget = min(self.max_turn_tokens, self.max_tokens - len(self.completion_ids))
        if budget <= 0:
            return ModelOutput(error=ParseError(0, "the episode's token budget is spent"))
        return parse_output(self.tok.decode(self._sample_turn(budget)))

    def _append(self, ids: list[int], mask: int, logprobs: list[float] | None = None) -> None:
        self.completion_ids += ids
        self.env_mask += [mask] * len(ids)
        self.logprobs += logprobs if logprobs is not None else [0.0] * len(ids)

    @torch.no_grad()
    def _logits(self) -> np.ndarray:
        seq = self.prompt_ids + self.completion_ids
        ids = torch.tensor([seq[self._fed :]], dtype=torch.long, device=self.model.device)
        out = self.model(
            input_ids=ids, past_key_values=self._past, use_cache=True, logits_to_keep=1
        )
        self._past, self._fed = out.past_key_values, len(seq)
        return out.logits[0, -1].float().cpu().numpy()

    def _sample_turn(self, budget: int) -> list[int]:
        matcher = Matcher(self.grammar) if self.chooser is not None else None
        eot = self.tok.eot_id
        turn: list[int] = []
        for _ in range(budget):
            logits = self._logits()
            if matcher is not None:
                logits = self.chooser.masked(logits, matcher.allowed())
            t, logp = sample(logits, self.temperature, self.rng)
            turn.append(t)
            self._append([t], mask=1, logprobs=[logp])
            if matcher is not None and not matcher.advance(t):
                matcher = None  # soft mode: the model left the grammar; the rest is free
            if t == eot:
                break
        return turn


def sample(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> tuple[int, float]:
    """A token drawn from softmax(logits / temperature) (argmax at 0) and its log-probability."""
    z = logits.astype(np.float64)
    if temperature <= 0:
        t = int(z.argmax())
        z = z - z.max()
        return t, float(z[t] - np.log(np.exp(z).sum()))
    z = z / temperature
    z -= z.max()
    p = np.exp(z)
    total = p.sum()
    t = int(rng.choice(len(p), p=p / total))
    return t, float(z[t] - np.log(total))


def play(
    model,
    tok: DualTokenizer,
    env: Environment,
    task: Task,
    *,
    mode: str = "hard",
    temperature: float = 1.0,
    prefix: int = 0,
    max_turn_tokens: int = 96,
    max_tokens: int = 384,
    rng: np.random.Generator | None = None,
    grammar: Grammar | None = None,
) -> tuple[Episode, Sampler]:
    """One sampled episode of ``task``, starting after ``prefix`` reference turns; returns the
    episode and its sampler (the tokens)."""
    if grammar is None and mode != "off":
        grammar = Grammar(tok, [as_spec(t) for t in task.tools])
    sampler = Sampler(model, tok, grammar, mode, temperature, max_turn_tokens, max_tokens, rng)
    was_training = model.training
    model.eval()
    try:
        episode = run_episode(env, task, sampler, prefix=prefix)
    finally:
        model.train(was_training)
    return episode, sampler
