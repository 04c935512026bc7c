"""The agent loop: system prompt + tools + history -> model turn -> calls -> results -> ...

    agent = Agent(backend, hub, system="Answer briefly.", mask="hard", on_event=print)
    result = await agent.send("What time is it in Tokyo?")   # TurnResult

Each step encodes the conversation (tool schemas in the tool modality), decodes one model turn
under the grammar of the tools available right now, and parses it. Calls are validated,
approved and run through the MCP hub (independent calls of a turn concurrently); their results
go back into the conversation as a results turn and the loop goes on, until the model answers
in text or ``max_steps`` turns have called tools. Generation runs in a worker thread, so the
event loop (a terminal UI) never waits on the model; ``stop()`` ends it at the next token.

Whoever listens gets events (``on_event``, ``runtime/events.py``), called from the thread that
produced them: ``Step``, ``TextDelta`` (answer or reasoning text as it streams), ``CallEvent``
(a call decoded, then finished with its result), ``Answer``, ``Notice``.

Rules a system prompt states about tools ("Never call the tool X.", "Always use the tool X")
are enforced by the grammar: a forbidden tool cannot be spelled, a required one must be
called before the turn may end (once per user message).

With many tools (more than the hub's retrieval threshold, 20 by default) only the ones most
relevant to the conversation go into the context (the hub's BM25 retrieval), plus a tool a
rule requires.

Long conversations are fitted to the model's context: the system prompt and the tool schemas
always stay; the oldest exchanges go first, then long tool results are shortened.

Tool results are data: they enter the context only inside the results turn, as text (the
tokenizer keeps control-token text plain), so nothing a server returns can close that turn,
open a call or become a system message. Tools over :mod:`bslm.runtime.limits` never reach the
grammar (a notice says so). A tool that only tool results named, never the user, is passed to
the hub as such (:func:`~bslm.runtime.screening.named_only_in_results`): the approval policy
may ask about it (``approval.namedInResults: "ask"``) or, with ``"deny"``, the grammar cannot
even spell it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from bslm.models.chat import assistant_message, encode_chat, result_message
from bslm.models.choice import DEFAULT_SOFT_BIAS
from bslm.models.engine import Backend, Generation, Help, generate, tool_rules, turn_grammar
from bslm.models.errors import BslmError
from bslm.models.grammar import Grammar
from bslm.models.parser import ModelOutput, parse_output
from bslm.models.tools import ToolCall, ToolResult, ToolSpec
from bslm.runtime.events import (
    Answer,
    CallEvent,
    Event,
    Notice,
    Step,
    TextDelta,
    TurnResult,
)
from bslm.runtime.limits import Limits, check_tool
from bslm.runtime.screening import named_only_in_results

# --- streaming ------------------------------------------------------------------------------


class _Stream:
    """Turns generated ids into text deltas: answer text and reasoning, never the text inside
    a call (string values)."""

    def __init__(self, tok, emit: Callable[[Event], None]):
        self.tok, self.emit = tok, emit
        s = tok.sym
        self.call, self.think, self.end = s("call"), s("think"), s("end")
        self.opens = {s("arr"), s("obj")}
        self.where = "text"  # text | think | call
        self.depth = 0
        self.run: list[int] = []
        self.shown = ""

    def _flush(self) -> None:
        self.run, self.shown = [], ""

    def __call__(self, t: int) -> None:
        tok = self.tok
        if tok.is_tool(t):
            if self.where == "call":
                if t in self.opens:
                    self.depth += 1
                elif t == self.end:
                    if self.depth:
                        self.depth -= 1
                    else:
                        self.where = "text"
            elif t == self.call:
                self.where, self.depth = "call", 0
            elif t == self.think and self.where == "text":
                self.where = "think"
            elif t == self.end and self.where == "think":
                self.where = "text"
            self._flush()
            return
        if self.where == "call":
            return
        self.run.append(t)
        text = tok.decode_text(self.run)
        if text.endswith("\ufffd"):  # half a character: wait for the rest
            return
        if text.startswith(self.shown) and len(text) > len(self.shown):
            self.emit(TextDelta(text[len(self.shown) :], self.where))
        self.shown = text


# --- the agent ------------------------------------------------------------------------------


class Agent:
    """One conversation with a model and the tools of an MCP hub (or a fixed tool list)."""

    def __init__(
        self,
        backend: Backend,
        hub: Any = None,
        *,
        system: str | None = None,
        mask: str = "hard",
        bias: float = DEFAULT_SOFT_BIAS,
        max_steps: int = 6,
        max_new_tokens: int = 384,
        temperature: float = 0.0,
        tools: list[ToolSpec] | None = None,
        select_tools: Callable[[list[dict], list[ToolSpec]], list[ToolSpec]] | None = None,
        on_event: Callable[[Event], None] | None = None,
        help: Help | None = None,
    ):
        self.backend, self.hub = backend, hub
        self.help = help  # inference-side help under the mask (engine.Help)
        self.tok = backend.tokenizer
        self.system, self.mask, self.bias = system, mask, bias
        self.max_steps, self.max_new_tokens = max_steps, max_new_tokens
        self.temperature = temperature
        self.fixed_tools = tools
        self.select_tools = select_tools
        self.on_event = on_event
        self.messages: list[dict] = []
        self._stop = threading.Event()
        self._backend_lock = threading.Lock()  # one evaluation at a time (warm vs a turn)
        self._ids = 0
        self.last_prompt_tokens = 0
        self.limits = getattr(getattr(hub, "settings", None), "limits", None) or Limits()
        self._refused: set[str] = set()

    # --- state ---

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def stop(self) -> None:
        """End the current generation at its next token (safe from any thread)."""
        self._stop.set()

    def clear(self) -> None:
        self.messages = []

    def tools(self) -> list[ToolSpec]:
        """The tools on offer, within the limits (a tool over one is left out, with a notice)."""
        if self.fixed_tools is not None:
            tools = list(self.fixed_tools)
        else:
            tools = self.hub.tools() if self.hub is not None else []
        out = []
        for t in tools:
            why = check_tool(t, self.limits)
            if why is None:
                out.append(t)
            elif t.name not in self._refused:
                self._refused.add(t.name)
                self.emit(Notice(f"the tool {str(t.name)[:80]!r} is left out: {why}"))
        return out

    def _named_in_results(self, tools: list[ToolSpec]) -> set[str]:
        return named_only_in_results([t.name for t in tools], self.conversation())

    def _results_policy(self) -> str:
        policy = getattr(self.hub, "policy", None)
        return getattr(policy, "named_in_results", "allow") if self.fixed_tools is None else "allow"

    def _select(self, tools: list[ToolSpec]) -> list[ToolSpec]:
        """The tools to put in the context: all of them, or (many tools) the relevant ones."""
        if self.select_tools is not None:
            return self.select_tools(self.conversation(), tools)
        if self.fixed_tools is None and hasattr(self.hub, "select_tools"):
            return self.hub.select_tools(self.conversation())
        return tools

    def head(self, tools: list[ToolSpec]) -> list[int]:
        """The ids every prompt over ``tools`` starts with: the system prompt and the tools'
        schemas (what a backend may keep from one request to the next)."""
        system = [{"role": "system", "content": self.system}] if self.system else []
        return encode_chat(self.tok, system, tools).ids

    def conversation(self) -> list[dict]:
        return ([{"role": "system", "content": self.system}] if self.system else []) + [
            m for m in self.messages
        ]

    # --- context ---

    def fit(self, tools: list[ToolSpec]) -> tuple[list[int], bool]:
        """The prompt ids of the conversation within the context (room left for the answer):
        drops the oldest exchanges, then shortens long tool results; the system prompt, the
        tools and the last user message always stay. Returns (ids, whether it cut)."""
        budget = self.backend.n_ctx - self.max_new_tokens
        msgs = self.conversation()
        head = 1 if self.system else 0
        cut = False
        while True:
            ids = encode_chat(self.tok, msgs, tools, add_generation_prompt=True).ids
            if len(ids) <= budget:
                return ids, cut
            body = msgs[head:]
            users = [i for i, m in enumerate(body) if m.get("role") == "user"]
            if len(users) > 1:  # drop the oldest exchange
                msgs = msgs[:head] + body[users[1] :]
                cut = True
                continue
            longest = max(
                (i for i, m in enumerate(msgs) if m.get("role") == "tool"),
                key=lambda i: len(str(msgs[i].get("content", ""))),
                default=None,
            )
            content = str(msgs[longest].get("content", "")) if longest is not None else ""
            if longest is None or len(content) < 200:
                raise ContextError(
                    f"the conversation needs {len(ids)} tokens; the model's context holds "
                    f"{self.backend.n_ctx} (with {self.max_new_tokens} for the answer)"
                )
            keep = len(content) // 2
            msgs = list(msgs)
            msgs[longest] = {
                **msgs[longest],
                "content": content[:keep] + f"\n[... {len(content) - keep} characters cut]",
            }
            cut = True

    # --- one user message ---

    async def send(self, text: str) -> TurnResult:
        """Add a user message and run the loop until the model answers in text."""
        t0 = time.perf_counter()
        self._stop.clear()
        self.messages.append({"role": "user", "content": text})
        res = TurnResult()
        answer_only = False
        made: set[str] = set()  # the calls already run for this message
        called: set[str] = set()  # and their tools
        for step in range(self.max_steps + 1):
            all_tools = self.tools()
            tools = self._select(all_tools)
            deny = self._named_in_results(tools) if self._results_policy() == "deny" else ()
            _, force = tool_rules(self.system, all_tools)
            if force is not None and all(t.name != force for t in tools):
                tools = [*tools, *(t for t in all_tools if t.name == force)]
            grammar = turn_grammar(
                self.tok,
                tools,
                self.system,
                called,
                forbid=deny,
                answer=step == self.max_steps or answer_only,  # this turn must answer
            )
            prompt, cut = self.fit(tools)
            if cut:
                self.emit(Notice("older messages were left out to fit the model's context"))
            self.emit(Step(step, len(prompt), len(tools)))
            gen, held = await asyncio.to_thread(self._generate, prompt, grammar, self.head(tools))
            res.steps += 1
            res.prompt_tokens += len(prompt)
            res.completion_tokens += len(gen.ids)
            res.decode_seconds += gen.seconds - gen.prefill_seconds
            res.prefill_seconds += gen.prefill_seconds
            res.head_seconds += held
            out = parse_output(self.tok.decode(gen.ids))
            if self._stop.is_set():
                res.stopped = True
            calls = [] if res.stopped else self._calls(out)
            keys = [_call_key(c) for c in calls]
            if calls and all(k in made for k in keys) and not answer_only:
                # the same calls again: their results are above, so the model must answer
                answer_only = True
                self.emit(Notice("the model repeated a call; asking it to answer"))
                continue
            made.update(keys)
            self.messages.append(assistant_message(_complete(out, calls)))
            if not calls:
                res.answer = out.text.strip()
                if not gen.ended and not res.stopped:
                    self.emit(Notice(f"the answer was cut at {self.max_new_tokens} tokens"))
                if out.error is not None and not calls:
                    self.emit(Notice(f"the model's output broke off: {out.error.message}"))
                break
            called.update(c.name for c in calls)
            t1 = time.perf_counter()
            for ev, result in await self._run(calls):
                res.calls.append(ev)
                self.messages.append(result_message(result))
            res.tool_seconds += time.perf_counter() - t1
            if self._stop.is_set():
                res.stopped = True
                break
        if res.stopped:
            self.emit(Notice("stopped"))
        res.ms = (time.perf_counter() - t0) * 1000
        self.emit(Answer(res.answer, res.stopped))
        return res

    def idle(self, timeout: float = -1) -> bool:
        """Wait until no evaluation holds the backend (True), at most ``timeout`` seconds."""
        if self._backend_lock.acquire(timeout=timeout):
            self._backend_lock.release()
            return True
        return False

    def warm(self) -> int:
        """Evaluate the conversation so far (system prompt, tool schemas, history) into the
        backend's cache, so the next message only costs its own tokens. Blocking: run it in a
        worker thread while the user types. Returns the tokens evaluated."""
        tools = self._select(self.tools())
        ids = encode_chat(self.tok, self.conversation(), tools).ids
        if len(ids) + self.max_new_tokens > self.backend.n_ctx:
            return 0
        with self._backend_lock:
            head = self.head(tools)
            evaluated = self.backend.hold(head, head=True) if ids[: len(head)] == head else 0
            return evaluated + self.backend.hold(ids)

    def _generate(
        self, prompt: list[int], grammar: Grammar, head: list[int]
    ) -> tuple[Generation, float]:
        """The model's turn after ``prompt``, and the seconds spent making the cache hold
        ``head`` first (loaded from the backend's store when it keeps prompt heads)."""
        with self._backend_lock:
            t0 = time.perf_counter()
            if prompt[: len(head)] == head and self.backend.shared(head) < len(head):
                self.backend.hold(head, head=True)
            held = time.perf_counter() - t0
            return self._generate_locked(prompt, grammar), held

    def _generate_locked(self, prompt: list[int], grammar: Grammar) -> Generation:
        stream = _Stream(self.tok, self.emit)
        gen = generate(
            self.backend,
            prompt,
            grammar,
            self.mask,
            max_new_tokens=self.max_new_tokens,
            bias=self.bias,
            temperature=self.temperature,
            on_token=stream,
            should_stop=self._stop.is_set,
            help=self.help.for_conversation(self.tok, self.messages) if self.help else None,
        )
        self.last_prompt_tokens = len(prompt)
        return gen

    def _calls(self, out: ModelOutput) -> list[ToolCall]:
        calls = []
        for c in out.calls:
            self._ids += 1
            calls.append(ToolCall(c.name, c.arguments, f"call_{self._ids}"))
        return calls

    async def _run(self, calls: list[ToolCall]) -> list[tuple[CallEvent, ToolResult]]:
        for c in calls:
            server = self._server(c.name)
            self.emit(CallEvent(c.id, c.name, dict(c.arguments), server))
        out = []
        for c, (r, ms) in zip(calls, await self._execute(calls), strict=True):
            ev = CallEvent(
                c.id, c.name, dict(c.arguments), self._server(c.name), r.text(), r.is_error, ms
            )
            self.emit(ev)
            r = (
                r
                if r.name
                else ToolResult(r.content, r.structured, r.is_error, c.name, c.id, r.extra)
            )
            out.append((ev, r))
        return out

    def _server(self, name: str) -> str | None:
        if self.hub is None or not hasattr(self.hub, "lookup"):
            return None
        where = self.hub.lookup(name)
        return where[0] if where else None

    async def _execute(self, calls: list[ToolCall]) -> list[tuple[ToolResult, float]]:
        if self.hub is None:
            return [
                (ToolResult.from_text("no tools are connected", is_error=True), 0.0) for _ in calls
            ]
        t0 = time.perf_counter()
        if self._results_policy() != "allow":
            named = self._named_in_results(self.tools())
            results = await self.hub.call_many(calls, named_in_results=named)
        else:
            results = await self.hub.call_many(calls)
        total = (time.perf_counter() - t0) * 1000
        out = []
        for r in results:
            ms = r.extra.get("ms") if isinstance(r.extra, dict) else None
            out.append((r, float(ms) if ms is not None else total))
        return out


class ContextError(BslmError, RuntimeError):
    """The conversation cannot be made to fit the model's context."""


def _call_key(call: ToolCall) -> str:
    return call.name + json.dumps(call.arguments, sort_keys=True, ensure_ascii=False)


def _complete(out: ModelOutput, calls: list[ToolCall]) -> ModelOutput:
    """The turn as it goes into the history: calls carry their ids; a broken tail is dropped."""
    parts = []
    it = iter(calls)
    for p in out.parts:
        parts.append(next(it) if isinstance(p, ToolCall) and calls else p)
    return ModelOutput(parts=parts, ended=True)
