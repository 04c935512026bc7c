"""What the agent loop tells whoever listens (``Agent(on_event=...)``), called from the thread
that produced it: ``Step`` (a model turn starts), ``TextDelta`` (answer or reasoning text as it
streams), ``CallEvent`` (a call decoded, then finished with its result), ``Answer``,
``Notice``; and what one user message came to, ``TurnResult`` (``bslm run --json`` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Step:
    """A model turn starts (``index`` from 0 within one user message)."""

    index: int
    prompt_tokens: int
    tools: int


@dataclass(frozen=True)
class TextDelta:
    text: str
    kind: str = "text"  # "text" (the answer) or "think" (reasoning)


@dataclass(frozen=True)
class CallEvent:
    """A tool call: emitted once decoded (``result`` None), once more when it finished."""

    id: str
    name: str
    arguments: dict
    server: str | None = None
    result: str | None = None
    is_error: bool = False
    ms: float = 0.0

    @property
    def finished(self) -> bool:
        return self.result is not None


@dataclass(frozen=True)
class Answer:
    text: str
    stopped: bool = False  # the user stopped generation


@dataclass(frozen=True)
class Notice:
    """Something the user should know (a step limit, a truncated context, a stopped turn)."""

    message: str


Event = Step | TextDelta | CallEvent | Answer | Notice


@dataclass
class TurnResult:
    answer: str = ""
    calls: list[CallEvent] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    ms: float = 0.0
    steps: int = 0
    stopped: bool = False
    decode_seconds: float = 0.0
    head_seconds: float = 0.0  # the system prompt and tools into the cache (stored or not)
    prefill_seconds: float = 0.0  # the rest of each prompt
    tool_seconds: float = 0.0  # waiting for tool results

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.decode_seconds if self.decode_seconds else 0.0

    def to_json(self) -> dict:
        return {
            "answer": self.answer,
            "tool_calls": [
                {
                    "server": c.server or "",
                    "name": c.name,
                    "arguments": c.arguments,
                    "result": c.result or "",
                    "is_error": c.is_error,
                    "ms": round(c.ms, 1),
                }
                for c in self.calls
            ],
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "ms": round(self.ms, 1),
            "timing": {
                "head_s": round(self.head_seconds, 3),
                "prefill_s": round(self.prefill_seconds, 3),
                "decode_s": round(self.decode_seconds, 3),
                "tools_s": round(self.tool_seconds, 3),
            },
        }
