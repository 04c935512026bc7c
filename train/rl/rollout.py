"""Sampled episodes for reinforcement learning: a policy plays environment tasks, each model turn
sampled by the engine (``models/engine.py``, under the turn's grammar as the agent builds it, or
none), every token accounted for — the model's own (trained on, with its log-probability) and
the environment's (results turns, not trained on).

The policy is a torch model (decoded through ``TorchBackend``) or any engine backend, such as
the llama.cpp mirror of a training policy (``train/rl/mirror.py``). Log-probabilities are the
policy's own, unmasked, at the sampling temperature: what the trainer recomputes from the
weights, so that the two can be compared (importance sampling) and tested against each other.

``Sampler`` is an ``act`` for ``run_episode``: it keeps the episode's token sequence (the
backend keeps its KV cache), appends each results turn the environment produced, and samples
the next model turn.

    sampler = Sampler(TorchBackend(model, tok), tok, grammar, mode="hard", temperature=1.0)
    episode = run_episode(env, task, sampler)
    sampler.prompt_ids, sampler.completion_ids, sampler.env_mask, sampler.logprobs
"""

from __future__ import annotations

import numpy as np
import torch

from bslm.models.chat import as_spec, encode_chat
from bslm.models.engine import Backend, called_tools, generate, turn_grammar
from bslm.models.grammar import Grammar
from bslm.models.parser import ModelOutput, ParseError, parse_output
from bslm.models.tokenizer import DualTokenizer
from bslm.models.torch_backend import TorchBackend
from bslm.train.rl.envs.base import Environment, Episode, Task, run_episode


class Sampler:
    """Samples the model turns of one episode (make one per episode)."""

    def __init__(
        self,
        backend: Backend,
        tok: DualTokenizer,
        grammar: Grammar | None = None,
        mode: str = "hard",
        temperature: float = 1.0,
        max_turn_tokens: int = 96,
        max_tokens: int = 384,
        rng: np.random.Generator | None = None,
    ):
        """``grammar``: one grammar for every turn; None: each turn's own (``turn_grammar``:
        the tools, the system prompt's rules, the tools already called), unless ``mode`` is
        ``off``."""
        self.backend = backend
        self.tok, self.grammar, self.mode = tok, grammar, mode
        self.temperature, self.max_turn_tokens, self.max_tokens = (
            temperature,
            max_turn_tokens,
            max_tokens,
        )
        self.rng = rng if rng is not None else np.random.default_rng()
        self.prompt_ids: list[int] | None = None
        self.completion_ids: list[int] = []
        self.env_mask: list[int] = []  # 1: the model wrote it; 0: the environment did
        self.logprobs: list[float] = []

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
        gen = generate(
            self.backend,
            self.prompt_ids + self.completion_ids,
            self._grammar(messages, tools),
            self.mode,
            max_new_tokens=budget,
            temperature=self.temperature,
            rng=self.rng,
            logprobs="model",
        )
        self._append(gen.ids, mask=1, logprobs=gen.logprobs)
        return parse_output(self.tok.decode(gen.ids))

    def _grammar(self, messages: list[dict], tools: list) -> Grammar | None:
        if self.mode == "off" or self.grammar is not None:
            return self.grammar
        system = next((m.get("content") for m in messages if m["role"] == "system"), None)
        specs = [as_spec(t) for t in tools or []]
        return turn_grammar(self.tok, specs, system, called_tools(messages))

    def _append(self, ids: list[int], mask: int, logprobs: list[float] | None = None) -> None:
        self.completion_ids += ids
        self.env_mask += [mask] * len(ids)
        self.logprobs += logprobs if logprobs is not None else [0.0] * len(ids)


def play(
    policy,
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
    """One sampled episode of ``task`` by ``policy`` (a torch model or an engine backend),
    starting after ``prefix`` reference turns; returns the episode and its sampler (the
    tokens). ``grammar`` None: each turn's own grammar."""
    if isinstance(policy, Backend):
        backend, model = policy, None
    else:
        model = policy
        was_training = model.training  # the torch backend puts the model in eval mode
        backend = TorchBackend(model, tok)
    sampler = Sampler(backend, tok, grammar, mode, temperature, max_turn_tokens, max_tokens, rng)
    try:
        episode = run_episode(env, task, sampler, prefix=prefix)
    finally:
        if model is not None:
            model.train(was_training)
    return episode, sampler


def policy_logprobs(
    model, prompt_ids: list[int], completion_ids: list[int], temperature: float = 1.0
) -> np.ndarray:
    """The policy's own log-probability of every completion token (unmasked logits at
    ``temperature``), from one forward pass: what the trainer recomputes from the weights."""
    ids = torch.tensor([prompt_ids + completion_ids], device=model.device)
    with torch.no_grad():
        out = model(input_ids=ids, logits_to_keep=len(completion_ids) + 1)
    logps = torch.log_softmax(out.logits[0, :-1].float() / temperature, dim=-1)
    picked = torch.tensor(completion_ids, device=logps.device)[:, None]
    return logps.gather(1, picked)[:, 0].cpu().numpy()
