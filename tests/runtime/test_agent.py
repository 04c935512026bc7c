"""The agent loop against the real demo MCP server, with a scripted backend (each model turn
is a token sequence written in advance), so every path of the loop is deterministic."""

import asyncio
import json

import numpy as np
import pytest

from bslm.models.engine import tool_rules
from bslm.models.language import Sym, Text, call_items
from bslm.models.tools import ToolCall, ToolSpec
from bslm.runtime.agent import Agent, ContextError
from bslm.runtime.backends import Backend
from bslm.runtime.events import Answer, CallEvent, Notice, Step, TextDelta


class Scripted(Backend):
    """Turn ``k`` of the conversation emits ``turns[k]`` token by token (then ⟨eot⟩ forever)."""

    name = "scripted"

    def __init__(self, tok, turns: list[list[int]], n_ctx: int = 4096):
        super().__init__(tok, n_ctx, {"model": "scripted"})
        self.turns, self.turn, self.pos = turns, -1, 0
        self.prompts: list[list[int]] = []

    @property
    def n_vocab(self):
        return len(self.tokenizer)

    def prime(self, prompt, copy=True):
        self.prompts.append(list(prompt))
        self.turn += 1
        self.pos = 0
        self._primed = None  # a script's next turn is not a function of the prompt
        return super().prime(prompt, copy)

    def _logits(self):
        script = self.turns[self.turn] if self.turn < len(self.turns) else []
        want = script[self.pos] if self.pos < len(script) else self.tokenizer.eot_id
        self.pos += 1
        x = np.zeros(self.n_vocab, dtype=np.float32)
        x[want] = 10.0
        return x

    def _eval(self, ids):
        return self._logits()

    def _rewind(self, n):
        pass


def turn(tok, *items):
    return tok.encode([*items, Sym("eot")]).ids


def call(name, **args):
    return call_items(ToolCall(name, args))


@pytest.fixture
def demo_hub(tmp_path, monkeypatch):
    from bslm.runtime.approval import Policy
    from bslm.runtime.mcp_client import MCPHub
    from bslm.runtime.mcp_config import demo_config

    monkeypatch.setenv("BSLM_DEMO_ROOT", str(tmp_path))
    monkeypatch.setenv("BSLM_DEMO_DATA", str(tmp_path))
    config = demo_config()
    return lambda **kw: MCPHub(
        config, policy=Policy(config, override=kw.pop("approve", "all")), **kw
    )


def run(coro):
    return asyncio.run(coro)


def test_a_call_then_an_answer(tok, demo_hub):
    script = [
        turn(
            tok,
            Sym("think"),
            Text("I should compute it."),
            Sym("end"),
            *call("calculate", expression="6*7"),
        ),
        turn(tok, Text("It is 42.")),
    ]
    events = []

    async def go():
        async with demo_hub() as hub:
            agent = Agent(Scripted(tok, script), hub, on_event=events.append)
            return agent, await agent.send("What is six times seven?")

    agent, res = run(go())
    assert res.answer == "It is 42."
    [c] = res.calls
    assert (c.server, c.name, c.arguments, c.is_error) == (
        "demo",
        "calculate",
        {"expression": "6*7"},
        False,
    )
    assert c.result == "42" and c.ms >= 0
    out = res.to_json()
    assert set(out) == {"answer", "tool_calls", "tokens", "ms", "timing"}
    assert out["tokens"]["completion"] == res.completion_tokens > 0
    assert set(out["timing"]) == {"head_s", "prefill_s", "decode_s", "tools_s"}
    assert sum(out["timing"].values()) <= out["ms"] / 1000 + 0.01
    json.dumps(out)
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "Step" and kinds[-1] == "Answer"
    assert [e for e in events if isinstance(e, CallEvent)][0].result is None  # decoded first
    think = "".join(e.text for e in events if isinstance(e, TextDelta) and e.kind == "think")
    text = "".join(e.text for e in events if isinstance(e, TextDelta) and e.kind == "text")
    assert think == "I should compute it." and text == "It is 42."
    roles = [m["role"] for m in agent.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert agent.messages[2]["content"] == "42"


def test_parallel_calls_and_errors_reach_the_model(tok, demo_hub):
    script = [
        turn(
            tok,
            *call("calculate", expression="2+2"),
            *call("calculate", expression="1/0"),
            *call("convert_units", value=1, from_unit="km", to_unit="m"),
        ),
        turn(tok, Text("Done.")),
    ]

    async def go():
        async with demo_hub() as hub:
            backend = Scripted(tok, script)
            agent = Agent(backend, hub)
            return backend, await agent.send("compute")

    backend, res = run(go())
    assert [c.is_error for c in res.calls] == [False, True, False]
    assert "division" in res.calls[1].result.lower()
    # the second turn's prompt holds the three results, in the tool modality
    second = tok.decode(backend.prompts[1])
    assert second.count(Sym("result")) == 3


def test_the_mask_stops_an_invented_argument(tok, demo_hub):
    """The script writes a parameter calculate does not have; the hard mask refuses it, so the
    call that runs is a valid one, and the loop goes on."""
    bad = turn(tok, *call("calculate", expression="1+1", precision=3))

    async def go():
        async with demo_hub() as hub:
            agent = Agent(Scripted(tok, [bad, turn(tok, Text("ok"))]), hub, max_new_tokens=64)
            return await agent.send("x")

    res = run(go())
    assert res.calls and all(set(c.arguments) <= {"expression"} for c in res.calls)
    assert not any(c.is_error and "invalid" in (c.result or "") for c in res.calls)


def test_repeated_calls_make_the_model_answer(tok, demo_hub):
    same = turn(tok, *call("calculate", expression="3*3"))
    notices = []

    async def go():
        async with demo_hub() as hub:
            agent = Agent(
                Scripted(tok, [same, same, turn(tok, Text("9"))]),
                hub,
                on_event=lambda e: isinstance(e, Notice) and notices.append(e),
            )
            return await agent.send("x")

    res = run(go())
    assert len(res.calls) == 1 and res.answer == "9"
    assert any("repeated" in n.message for n in notices)


def test_step_limit_forces_an_answer(tok, demo_hub):
    loop = [turn(tok, *call("calculate", expression=f"{i}+1")) for i in range(5)]

    async def go():
        async with demo_hub() as hub:
            agent = Agent(
                Scripted(tok, loop + [turn(tok, Text("end"))]), hub, max_steps=2, max_new_tokens=48
            )
            return await agent.send("x")

    res = run(go())
    assert len(res.calls) == 2 and res.steps == 3  # the third turn could only answer


def test_system_rules_are_enforced(tok, demo_hub):
    """'Never call the tool calculate': the scripted call cannot be spelled; 'Always use ...':
    the turn cannot end before that tool is called."""
    tools = [
        ToolSpec("calculate", None, {"type": "object", "properties": {}}),
        ToolSpec("list_notes", None, {"type": "object", "properties": {}}),
    ]
    forbid, force = tool_rules("Never call the tool calculate. Always use list_notes.", tools)
    assert forbid == {"calculate"} and force == "list_notes"
    assert tool_rules("Use tools freely.", tools) == (frozenset(), None)
    assert tool_rules("Never use `weather`.", tools) == (frozenset(), None)  # not a tool here

    async def go():
        async with demo_hub() as hub:
            agent = Agent(
                Scripted(tok, [turn(tok, *call("calculate", expression="1"))]),
                hub,
                system="Never call the tool calculate.",
                max_new_tokens=40,
            )
            return await agent.send("x")

    res = run(go())
    assert all(c.name != "calculate" for c in res.calls)


def test_context_is_fitted_without_losing_system_or_tools(tok, demo_hub):
    async def go():
        async with demo_hub() as hub:
            script = [turn(tok, Text(f"answer number {i}")) for i in range(8)]
            backend = Scripted(tok, script, n_ctx=4096)
            agent = Agent(backend, hub, system="Be brief.", max_new_tokens=64)
            for i in range(3):
                await agent.send("tell me something long " * 30 + str(i))
            base = len(backend.prompts[-1])
            backend.n_ctx = base + 64 - 200  # less than the history: the oldest must go
            notes = []
            agent.on_event = lambda e: isinstance(e, Notice) and notes.append(e.message)
            await agent.send("last question")
            return backend, notes, agent

    backend, notes, agent = run(go())
    last = tok.decode(backend.prompts[-1])
    assert Text("Be brief.") in last and Sym("tool") in last
    assert Text("last question") in last
    assert Text("tell me something long " * 30 + "0") not in last
    assert any("left out" in n for n in notes)
    assert len(agent.messages) == 8  # the history itself keeps everything

    async def too_small():
        async with demo_hub() as hub:
            backend = Scripted(tok, [], n_ctx=100)
            await Agent(backend, hub, max_new_tokens=64).send("hello")

    with pytest.raises(ContextError, match="context holds 100"):
        run(too_small())


def test_stop_ends_generation(tok, demo_hub):
    long = turn(tok, Text("word " * 200))

    async def go():
        async with demo_hub() as hub:
            agent = Agent(Scripted(tok, [long]), hub, max_new_tokens=400)
            count = 0

            def on_event(e):
                nonlocal count
                if isinstance(e, TextDelta):
                    count += 1
                    if count == 5:
                        agent.stop()

            agent.on_event = on_event
            return await agent.send("x"), count

    (res, count) = run(go())
    assert res.stopped and count <= 6
    assert res.completion_tokens < 20


def test_events_are_typed(tok, demo_hub):
    events = []

    async def go():
        async with demo_hub() as hub:
            agent = Agent(Scripted(tok, [turn(tok, Text("hi"))]), hub, on_event=events.append)
            await agent.send("x")

    run(go())
    assert isinstance(events[0], Step) and events[0].tools >= 5
    assert isinstance(events[-1], Answer) and events[-1].text == "hi"


def test_warm_evaluates_the_prefix_once(tok, demo_hub):
    async def go():
        async with demo_hub() as hub:
            backend = Scripted(tok, [turn(tok, Text("hi"))])
            agent = Agent(backend, hub, system="Be brief.")
            n = await asyncio.to_thread(agent.warm)
            assert n > 100 and backend.n_past == n
            assert await asyncio.to_thread(agent.warm) == 0  # already in the cache
            cached = list(backend.tokens)
            await agent.send("hello")
            # the message's prompt starts with what was warmed
            assert backend.prompts[0][: len(cached)] == cached
            assert agent.idle(1)

    run(go())


class Holding(Scripted):
    """Notes what the agent asks the cache to hold, and as what."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.held: list[tuple[list[int], bool]] = []

    def hold(self, ids, head=False):
        self.held.append((list(ids), head))
        return super().hold(ids, head)


def test_the_system_prompt_and_tools_are_held_as_the_prompt_head(tok, demo_hub):
    async def go():
        async with demo_hub() as hub:
            backend = Holding(tok, [turn(tok, *call("calculate", expression="2*3")),
                                    turn(tok, Text("6"))])  # fmt: skip
            agent = Agent(backend, hub, system="Be brief.")
            head = agent.head(agent.tools())
            res = await agent.send("What is 2*3?")
            return backend, head, res

    backend, head, res = run(go())
    assert res.answer == "6" and len(head) > 100
    # once, before the first prompt, as a head; the second step already shares it
    assert backend.held == [(head, True)]
    assert all(p[: len(head)] == head for p in backend.prompts)
    assert res.head_seconds > 0 and res.prefill_seconds > 0
