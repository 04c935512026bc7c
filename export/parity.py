"""Parity of an exported model with PyTorch: the reference decodes greedily, the export is fed
the same ids, and every step's logits are compared.

    stats = parity(reference_backend, exported_backend, prompts, n_tokens=32)
    stats.max_abs, stats.top1          # max |Δlogit| over all steps, share of equal argmax
    stats.flip_margins                 # PyTorch's top-1 lead where the export chose otherwise

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
    # the reference's top-1 minus top-2 logit at each step where the argmax differs: how
    # close a call the export decided the other way
    flip_margins: list[float] = field(default_factory=list)

    @property
    def top1(self) -> float:
        return self.agree / self.steps if self.steps else 0.0

    def add(self, ref: np.ndarray, got: np.ndarray) -> None:
        n = min(len(ref), len(got))  # rows past the vocabulary (padding) are never sampled
        ref, got = ref[:n].astype(np.float64), got[:n]
        d = float(np.max(np.abs(ref - got)))
        self.diffs.append(d)
        self.max_abs = max(self.max_abs, d)
        self.steps += 1
        if np.argmax(ref) == np.argmax(got):
            self.agree += 1
        else:
            top2 = np.partition(ref, -2)[-2:]
            self.flip_margins.append(float(top2[1] - top2[0]))


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


PARITY_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "send_email",
            "description": "Send an e-mail.",
            "parameters": {
                "type": "object",
                "properties": {
                    "to": {"type": "string"},
                    "subject": {"type": "string"},
                    "body": {"type": "string"},
                },
                "required": ["to", "body"],
            },
        },
    },
]


def parity_prompts(tok, window: int | None, n_tokens: int) -> list[list[int]]:
    """The prompts the parity runs decode after: a chat question, a request with tools on offer
    (the agent's own workload: tool-modality tokens), a request for a text answer, and a long
    text whose prompt plus generation run past the sliding window (``window`` None: 512)."""
    from bslm.models.chat import encode_chat

    def chat(content: str, tools=None) -> list[int]:
        messages = [{"role": "user", "content": content}]
        return encode_chat(tok, messages, tools, add_generation_prompt=True).ids

    text = (
        "The old lighthouse keeper climbed the spiral stairs each evening, counting the steps "
        "and listening to the sea below. "
    )
    want = (window or 512) + 8 - n_tokens // 2
    ids: list[int] = [tok.bos_id] if tok.bos_id is not None else []
    while len(ids) < want:
        ids += tok.encode_text(text)
    return [
        chat("What is the weather like in Paris today?"),
        chat(
            "Mail ana@example.com that the meeting moved to 3 pm, and tell me if it rains in Lyon.",
            PARITY_TOOLS,
        ),
        chat("Explain in two sentences why the sky is blue."),
        ids[: max(want, 8)],
    ]
