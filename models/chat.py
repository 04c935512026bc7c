"""The chat format: where the system prompt, tool schemas, user turns, model turns and tool
results go.

    ⟨system⟩ Text? TOOL* ⟨eot⟩          system prompt, then the tools (tool modality)
    ⟨user⟩ Text? ⟨eot⟩
    ⟨model⟩ PART* ⟨eot⟩                 text, ⟨think⟩ Text ⟨end⟩, CALL, in any order
    ⟨results⟩ RESULT* ⟨eot⟩             one RESULT per call of the model turn before, in order

Messages are OpenAI/Hugging Face style dicts (``role`` system, user, assistant, tool).
An assistant message holds ``reasoning``, ``content`` and ``tool_calls`` (written in that
order) or, for any other order, ``parts``: a list of ``str``, ``Thought`` and ``ToolCall``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .language import Item, Sym, Text, call_items, result_items, tool_items
from .parser import (
    LanguageError,
    ModelOutput,
    Reader,
    Thought,
    read_model_parts,
    read_result,
    read_tool,
)
from .tokenizer import DualTokenizer
from .tools import (
    ToolCall,
    ToolResult,
    ToolSpec,
    from_openai_call,
    from_openai_tool,
    to_openai_call,
)

ROLES = ("system", "user", "assistant", "tool")


def as_spec(tool) -> ToolSpec:
    return tool if isinstance(tool, ToolSpec) else from_openai_tool(tool)


def assistant_parts(msg: dict) -> list:
    """The parts of an assistant message, in the order they are written."""
    if "parts" in msg:
        return list(msg["parts"])
    parts: list = []
    reasoning = msg.get("reasoning", msg.get("reasoning_content"))
    if reasoning:
        parts.append(Thought(reasoning))
    if msg.get("content"):
        parts.append(msg["content"])
    parts += [
        c if isinstance(c, ToolCall) else from_openai_call(c) for c in msg.get("tool_calls") or []
    ]
    return parts


def tool_message_result(msg: dict) -> ToolResult:
    content = msg.get("content")
    blocks = (
        [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
    )
    return ToolResult(
        content=blocks,
        structured=msg.get("structured_content"),
        is_error=bool(msg.get("is_error", False)),
        name=msg.get("name"),
    )


def part_items(part, out: list[Item]) -> None:
    if isinstance(part, str):
        if part:
            out.append(Text(part))
    elif isinstance(part, Thought):
        out.append(Sym("think"))
        if part.text:
            out.append(Text(part.text))
        out.append(Sym("end"))
    else:
        call_items(part, out)


def turn_items(
    messages: list[dict], tools: list | None = None, full: bool = False
) -> list[tuple[str, list[Item]]]:
    """The conversation as ``(role, items)`` turns; tool messages in a row share one turn.
    ``full`` keeps schema keywords prompts drop (``language.PROMPT_DROPPED``)."""
    turns: list[tuple[str, list[Item]]] = []
    specs = [as_spec(t) for t in tools or []]
    i = 0
    if specs and not (messages and messages[0].get("role") == "system"):
        messages = [{"role": "system", "content": ""}, *messages]
    while i < len(messages):
        msg = messages[i]
        role = msg.get("role")
        if role not in ROLES:
            raise ValueError(
                f"message {i}: unknown role {role!r} (expected one of {', '.join(ROLES)})"
            )
        if role == "tool":
            items: list[Item] = [Sym("results")]
            while i < len(messages) and messages[i].get("role") == "tool":
                result_items(tool_message_result(messages[i]), items)
                i += 1
            turns.append(("tool", items + [Sym("eot")]))
            continue
        if role == "system":
            items = [Sym("system")]
            if msg.get("content"):
                items.append(Text(msg["content"]))
            if i == 0:
                for spec in specs:
                    tool_items(spec, full, items)
        elif role == "user":
            items = [Sym("user")]
            if msg.get("content"):
                items.append(Text(msg["content"]))
        else:
            items = [Sym("model")]
            for part in assistant_parts(msg):
                part_items(part, items)
        turns.append((role, items + [Sym("eot")]))
        i += 1
    return turns


def chat_items(
    messages: list[dict],
    tools: list | None = None,
    add_generation_prompt: bool = False,
    full: bool = False,
) -> list[Item]:
    items = [it for _, turn in turn_items(messages, tools, full) for it in turn]
    if add_generation_prompt:
        items.append(Sym("model"))
    return items


def assistant_message(out: ModelOutput) -> dict:
    msg: dict = {"role": "assistant"}
    kinds = [0 if isinstance(p, Thought) else 1 if isinstance(p, str) else 2 for p in out.parts]
    if kinds != sorted(kinds) or kinds.count(0) > 1 or kinds.count(1) > 1:
        msg["parts"] = out.parts
        return msg
    msg["content"] = out.text or None
    if out.thinking:
        msg["reasoning"] = out.thinking
    if out.calls:
        msg["tool_calls"] = [to_openai_call(c, arguments_as="dict") for c in out.calls]
    return msg


def result_message(res: ToolResult) -> dict:
    msg: dict = {"role": "tool"}
    if res.name:
        msg["name"] = res.name
    simple = (
        len(res.content) == 1 and res.content[0].get("type") == "text" and len(res.content[0]) == 2
    )
    msg["content"] = res.content[0]["text"] if simple else res.content
    if res.structured is not None:
        msg["structured_content"] = res.structured
    if res.is_error:
        msg["is_error"] = True
    return msg


def parse_chat(items: list[Item]) -> tuple[list[dict], list[ToolSpec]]:
    """Inverse of ``chat_items``: the messages and the tools. Raises LanguageError where the
    sequence breaks."""
    r = Reader(items)
    messages: list[dict] = []
    tools: list[ToolSpec] = []
    while r.peek() is not None:
        role = r.expect("system", "user", "model", "results")
        if role == "system":
            content = r.text()
            while r.sym() == "tool":
                tools.append(read_tool(r))
            if content or not tools or messages:
                messages.append({"role": "system", "content": content})
        elif role == "user":
            messages.append({"role": "user", "content": r.text()})
        elif role == "model":
            out = ModelOutput()
            read_model_parts(r, out)
            if not out.ended:
                raise LanguageError(r.pos, "model turn not closed by ⟨eot⟩")
            messages.append(assistant_message(out))
            continue
        else:
            while r.sym() == "result":
                messages.append(result_message(read_result(r)))
        r.expect("eot")
    return messages, tools


@dataclass
class ChatEncoding:
    ids: list[int]
    modality: list[int]  # 0 text, 1 tool
    learn: list[int]  # 1 where the model writes (its turns, up to and including ⟨eot⟩)

    def __len__(self) -> int:
        return len(self.ids)


def encode_chat(
    tok: DualTokenizer,
    messages: list[dict],
    tools: list | None = None,
    add_generation_prompt: bool = False,
    bos: bool = True,
) -> ChatEncoding:
    """Token ids of a conversation, with the modality of each id and the mask of the ids the
    model is trained to write (not its ``⟨model⟩`` opener: the runtime writes that). Turns are
    encoded one by one, so ``bos=False`` encodes turns that continue a conversation."""
    enc = ChatEncoding([], [], [])
    if bos and tok.bos_id is not None:
        enc.ids.append(tok.bos_id)
        enc.modality.append(0)
        enc.learn.append(0)
    turns = turn_items(messages, tools)
    if add_generation_prompt:
        turns.append(("prompt", [Sym("model")]))
    for role, items in turns:
        opener = tok.encode(items[:1])
        body = tok.encode(items[1:])
        learn = 1 if role == "assistant" else 0
        enc.ids += opener.ids + body.ids
        enc.modality += opener.modality + body.modality
        enc.learn += [0] * len(opener.ids) + [learn] * len(body.ids)
    return enc


def decode_chat(tok: DualTokenizer, ids: list[int]) -> tuple[list[dict], list[ToolSpec]]:
    """Inverse of ``encode_chat`` (a leading BOS is skipped)."""
    if ids and tok.bos_id is not None and ids[0] == tok.bos_id:
        ids = ids[1:]
    return parse_chat(tok.decode(ids))
