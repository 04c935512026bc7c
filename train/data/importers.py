"""Tool-use conversations users bring, converted to training records.

Three formats are read, from JSON (an array, or one object) or JSONL files:

- ``openai``: ``{"messages": [...], "tools": [...]}`` as the Chat Completions API writes them
  (``tool_calls`` with JSON-string arguments, ``tool`` messages answering a ``tool_call_id``);
- ``xlam``: xLAM / APIGen records ``{"query", "tools", "answers"}`` (``tools`` and ``answers``
  as JSON strings or lists; parameters as ``{name: {"type": "str, optional", ...}}`` with
  Python type names, turned into JSON Schema by ``python_type_schema``);
- ``sharegpt``: ``{"conversations": [{"from", "value"}], "tools"}`` with ``function_call`` and
  ``observation`` turns (LLaMA-Factory's tool format).

Each record comes out as ``{"id", "stage": 3, "kind": "imported", "split": "train", "domain",
"tools", "messages", "rules": []}``: OpenAI tool dicts, and messages as
``bslm.models.chat.encode_chat`` takes them (call arguments as dicts, tool results with the
name of the call they answer, one result per call in call order). Every record is checked to
come back unchanged from the tool language (``chat_items`` then ``parse_chat``). Malformed
input raises ValueError with one line that names the file, the record and what is wrong.

    from bslm.train.data.importers import import_file
    records = list(import_file("calls.jsonl", "xlam"))
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bslm.models.chat import chat_items, parse_chat
from bslm.models.tools import EMPTY_OBJECT_SCHEMA, from_openai_call, from_openai_tool

# --- shared pieces ---------------------------------------------------------------------------


_KIND_NAMES = {list: "list", dict: "JSON object", str: "string"}


def _json_field(raw: dict, key: str, kind: type, default: Any = None) -> Any:
    """``raw[key]`` as ``kind``, decoding it first when it is a JSON string."""
    value = raw.get(key, default)
    if isinstance(value, str) and kind is not str:
        try:
            value = json.loads(value) if value.strip() else default
        except json.JSONDecodeError as e:
            raise ValueError(f"{key!r} is not valid JSON ({e})") from None
    if not isinstance(value, kind):
        raise ValueError(f"{key!r} must be a {_KIND_NAMES[kind]}, got {type(value).__name__}")
    return value


def _tool(raw: Any, where: str, python_types: bool = False) -> dict:
    """An OpenAI tool dict from a wrapped (``{"type": "function", "function": ...}``) or bare
    function object; ``python_types``: parameters in the xLAM dialect."""
    fn = raw.get("function") if isinstance(raw, dict) and raw.get("type") == "function" else raw
    if not isinstance(fn, dict):
        raise ValueError(f"{where}: a tool must be a JSON object, got {type(fn).__name__}")
    name = fn.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: tool without a name")
    params = fn.get("parameters")
    if params is None or params == {}:
        params = dict(EMPTY_OBJECT_SCHEMA)
    if not isinstance(params, dict):
        raise ValueError(f"{where} ({name}): parameters must be a JSON object")
    if python_types and not isinstance(params.get("type"), str):
        params = _xlam_parameters(params, f"{where} ({name})")
    out: dict = {"name": name}
    description = fn.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise ValueError(f"{where} ({name}): description must be a string")
        if description:
            out["description"] = description
    out["parameters"] = params
    return {"type": "function", "function": out}


def _call(raw: Any, where: str) -> dict:
    """A tool call (OpenAI ``tool_calls`` entry or a bare ``{"name", "arguments"}``) with its
    arguments as a dict."""
    fn = raw.get("function", raw) if isinstance(raw, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise ValueError(f"{where}: a call must be an object with a name, got {raw!r:.80}")
    try:
        call = from_openai_call(raw)
    except ValueError as e:  # arguments that are not a JSON object
        raise ValueError(f"{where}: {e}") from None
    return {"type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _text(content: Any, where: str) -> str:
    """Message content as one string (OpenAI content parts of type ``text`` are joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not (isinstance(part, dict) and part.get("type") == "text"):
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise ValueError(f"{where}: content part of type {kind!r} is not text")
            parts.append(str(part.get("text", "")))
        return "\n".join(parts)
    raise ValueError(f"{where}: content must be text, got {type(content).__name__}")


def _assistant(content: str, calls: list[dict]) -> dict:
    msg: dict = {"role": "assistant", "content": content or None}
    if calls:
        msg["tool_calls"] = calls
    return msg


# --- Python type names (xLAM) -> JSON Schema ---------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\.\.\.)|([A-Za-z_][\w.]*)|('[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?)|(.))")
_SCALARS = {
    "str": "string",
    "string": "string",
    "text": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "double": "number",
    "decimal": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "none": "null",
    "nonetype": "null",
    "null": "null",
}
_ARRAYS = {"list", "array", "tuple", "set", "frozenset", "sequence", "iterable"}
_OBJECTS = {"dict", "object", "mapping", "json"}
_OPTIONAL = re.compile(r",\s*optional\b", re.IGNORECASE)


def python_type_schema(text: str) -> dict:
    """JSON Schema for a Python type name as xLAM writes them: ``str``, ``List[int]``,
    ``Dict[str, float]``, ``Optional[str]``, ``int | None``, ``Literal['a', 'b']``... Unknown
    names (``Callable``, ``datetime``...) give ``{}`` (any value). What follows a top-level
    comma (``str, optional``) is not part of the type. Raises ValueError when the text is not a
    type expression."""
    tokens = [next(g for g in groups if g) for groups in _TOKEN.findall(text)]
    tokens = [t for t in tokens if t.strip()]
    depth = 0
    for i, tok in enumerate(tokens):
        depth += {"[": 1, "]": -1}.get(tok, 0)
        if tok == "," and depth == 0:
            tokens = tokens[:i]
            break
    if not tokens:
        return {}
    try:
        pos, node = _parse_union(tokens, 0)
    except ValueError as e:
        raise ValueError(f"unreadable type {text!r} ({e})") from None
    if pos != len(tokens):
        raise ValueError(f"unreadable type {text!r} (unexpected {tokens[pos]!r})")
    return node


def _parse_union(toks: list[str], pos: int) -> tuple[int, dict]:
    pos, first = _parse_atom(toks, pos)
    members = [first]
    while pos < len(toks) and toks[pos] in ("|", "or"):
        pos, member = _parse_atom(toks, pos + 1)
        members.append(member)
    return pos, _union(members) if len(members) > 1 else first


def _parse_atom(toks: list[str], pos: int) -> tuple[int, dict]:
    if pos >= len(toks):
        raise ValueError("type ends too early")
    tok = toks[pos]
    if tok[0] in "'\"-0123456789":
        return pos + 1, {"const": json.loads(tok) if tok[0] != "'" else tok[1:-1]}
    if tok == "...":
        return pos + 1, {"ellipsis": True}
    if tok == "[":  # a bare list of types, as in Callable[[int], str]
        return _parse_args(toks, pos + 1)[0], {}
    if not (tok[0].isalpha() or tok[0] == "_"):
        raise ValueError(f"unexpected {tok!r}")
    pos, args = pos + 1, []
    if pos < len(toks) and toks[pos] == "[":
        pos, args = _parse_args(toks, pos + 1)
    return pos, _named(tok.rsplit(".", 1)[-1].lower(), args)


def _parse_args(toks: list[str], pos: int) -> tuple[int, list[dict]]:
    args = []
    while True:
        pos, arg = _parse_union(toks, pos)
        args.append(arg)
        if pos < len(toks) and toks[pos] == ",":
            pos += 1
            continue
        if pos < len(toks) and toks[pos] == "]":
            return pos + 1, args
        raise ValueError("unclosed [")


def _named(name: str, args: list[dict]) -> dict:
    args = [a for a in args if not a.get("ellipsis")]
    if name in _SCALARS:
        return {"type": _SCALARS[name]}
    if name in _ARRAYS:
        out: dict = {"type": "array"}
        if args and all(a == args[0] for a in args) and args[0]:
            out["items"] = args[0]
        return out
    if name in _OBJECTS:
        out = {"type": "object"}
        if len(args) == 2 and args[1]:
            out["additionalProperties"] = args[1]
        return out
    if name == "optional" and len(args) == 1:
        return args[0]
    if name == "union" and args:
        return _union(args)
    if name == "literal" and args and all("const" in a for a in args):
        values = [a["const"] for a in args]
        strings = all(type(v) is str for v in values)
        return {"type": "string", "enum": values} if strings else {"enum": values}
    return {}


def _union(members: list[dict]) -> dict:
    members = [m for m in members if m != {"type": "null"}] or [{"type": "null"}]
    if any(m == {} for m in members):
        return {}
    if all(set(m) == {"type"} for m in members):
        types = list(dict.fromkeys(m["type"] for m in members))
        return {"type": types if len(types) > 1 else types[0]}
    return members[0] if len(members) == 1 else {"anyOf": members}


def _xlam_parameters(params: dict, where: str) -> dict:
    props, required = {}, []
    for name, spec in params.items():
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: parameter {name!r} must be an object with a type")
        type_text = spec.get("type", "")
        if not isinstance(type_text, str):
            raise ValueError(f"{where}: parameter {name!r} has a type that is not a string")
        try:
            schema = python_type_schema(type_text)
        except ValueError as e:
            raise ValueError(f"{where}: parameter {name!r}: {e}") from None
        if spec.get("description"):
            schema = {"description": str(spec["description"]), **schema}
        if "default" in spec:
            schema["default"] = spec["default"]
        props[name] = schema
        if not _OPTIONAL.search(type_text):
            required.append(name)
    out: dict = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


# --- the three formats ---------------------------------------------------------------------


def from_openai(raw: dict) -> tuple[list[dict], list[dict]]:
    """OpenAI chat JSON -> (messages, tools). Raises ValueError when malformed."""
    tools = [_tool(t, f"tool {i}") for i, t in enumerate(_json_field(raw, "tools", list, []))]
    messages: list[dict] = []
    call_ids: list = []  # the ids of the last assistant turn's calls, in order
    names: list[str] = []  # and their names
    results: list[tuple[Any, dict]] = []  # the tool results since then, with the ids they answer

    def flush() -> None:
        # Results answer calls by position: put them in call order when their ids say it.
        if all(cid is not None and cid in call_ids for cid, _ in results):
            results.sort(key=lambda r: call_ids.index(r[0]))
        messages.extend(msg for _, msg in results)
        results.clear()

    for i, msg in enumerate(_json_field(raw, "messages", list)):
        where = f"message {i}"
        if not isinstance(msg, dict):
            raise ValueError(f"{where}: must be a JSON object")
        role = msg.get("role")
        if role in ("tool", "function"):
            cid = msg.get("tool_call_id")
            name = names[call_ids.index(cid)] if cid is not None and cid in call_ids else None
            name = name or msg.get("name")
            if name is None and len(results) < len(names):  # no id, no name: by position
                name = names[len(results)]
            if not isinstance(name, str):
                raise ValueError(f"{where}: a tool result that answers no known call")
            results.append(
                (cid, {"role": "tool", "name": name, "content": _text(msg.get("content"), where)})
            )
            continue
        flush()
        if role in ("system", "developer", "user"):
            messages.append(
                {
                    "role": "user" if role == "user" else "system",
                    "content": _text(msg.get("content"), where),
                }
            )
        elif role == "assistant":
            raw_calls = msg.get("tool_calls") or []
            if not isinstance(raw_calls, list):
                raise ValueError(f"{where}: tool_calls must be a list")
            if msg.get("function_call"):  # the API's older, single-call form
                raw_calls = [*raw_calls, msg["function_call"]]
            calls = [_call(c, f"{where} call {j}") for j, c in enumerate(raw_calls)]
            call_ids = [c.get("id") for c in raw_calls]
            names = [c["function"]["name"] for c in calls]
            out = _assistant(_text(msg.get("content"), where), calls)
            reasoning = msg.get("reasoning", msg.get("reasoning_content"))
            if isinstance(reasoning, str) and reasoning:
                out["reasoning"] = reasoning
            messages.append(out)
        else:
            raise ValueError(f"{where}: unknown role {role!r}")
    flush()
    return messages, tools


def from_xlam(raw: dict) -> tuple[list[dict], list[dict]]:
    """xLAM / APIGen record -> (messages, tools). Raises ValueError when malformed."""
    query = _json_field(raw, "query", str)
    tools = [
        _tool(t, f"tool {i}", python_types=True)
        for i, t in enumerate(_json_field(raw, "tools", list))
    ]
    answers = _json_field(raw, "answers", list)
    if not answers:
        raise ValueError("'answers' is empty: there is no call to learn")
    calls = [_call(a, f"answer {i}") for i, a in enumerate(answers)]
    return [{"role": "user", "content": query}, _assistant("", calls)], tools


_SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "function_call": "call",
    "observation": "tool",
    "tool": "tool",
}


def from_sharegpt(raw: dict) -> tuple[list[dict], list[dict]]:
    """ShareGPT with tools -> (messages, tools). Raises ValueError when malformed."""
    tools = [_tool(t, f"tool {i}") for i, t in enumerate(_json_field(raw, "tools", list, []))]
    messages: list[dict] = []
    if isinstance(raw.get("system"), str) and raw["system"]:
        messages.append({"role": "system", "content": raw["system"]})
    pending: list[str] = []  # names of the calls still waiting for their observation
    for i, turn in enumerate(_json_field(raw, "conversations", list)):
        where = f"turn {i}"
        if not isinstance(turn, dict) or not isinstance(turn.get("value"), str):
            raise ValueError(f"{where}: must be an object with a string 'value'")
        speaker = turn.get("from")
        role = _SHAREGPT_ROLES.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            raise ValueError(f"{where}: unknown speaker {speaker!r}")
        value = turn["value"]
        if role != "tool" and pending:
            raise ValueError(f"{where}: {len(pending)} call(s) before it got no observation")
        if role in ("system", "user"):
            messages.append({"role": role, "content": value})
        elif role == "assistant":
            messages.append(_assistant(value, []))
        elif role == "call":
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: function_call is not JSON ({e})") from None
            batch = parsed if isinstance(parsed, list) else [parsed]
            calls = [_call(c, f"{where} call {j}") for j, c in enumerate(batch)]
            last = messages[-1] if messages else {}
            if last.get("role") == "assistant" and "tool_calls" not in last:
                last["tool_calls"] = calls  # text, then calls: one model turn
            else:
                messages.append(_assistant("", calls))
            pending = [c["function"]["name"] for c in calls]
        else:
            if not pending:
                raise ValueError(f"{where}: observation without a function_call before it")
            results = _split_observation(value, len(pending))
            messages += [{"role": "tool", "name": pending.pop(0), "content": r} for r in results]
    if pending:
        raise ValueError(f"the last {len(pending)} call(s) got no observation")
    return messages, tools


def _split_observation(value: str, waiting: int) -> list[str]:
    """One observation answers one call; for several calls, a JSON list may answer them all."""
    if waiting > 1:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and len(parsed) == waiting:
            return [p if isinstance(p, str) else json.dumps(p, ensure_ascii=False) for p in parsed]
    return [value]


IMPORTERS: dict[str, Callable[[dict], tuple[list[dict], list[dict]]]] = {
    "openai": from_openai,
    "xlam": from_xlam,
    "sharegpt": from_sharegpt,
}


# --- records ----------------------------------------------------------------------------------


def check_conversation(messages: list[dict], tools: list[dict]) -> None:
    """Refuse what training cannot use: no model turn, an empty model turn, a call to a tool
    not declared, results that do not answer the calls before them one to one (a conversation
    may end on calls), or anything that does not come back unchanged from the tool language.
    Raises ValueError."""
    names = {t["function"]["name"] for t in tools}
    if not any(m["role"] == "assistant" for m in messages):
        raise ValueError("no assistant turn: there is nothing to learn")
    waiting = 0
    for i, msg in enumerate(messages):
        if msg["role"] == "tool":
            waiting -= 1
            if waiting < 0:
                raise ValueError(f"message {i}: a tool result that answers no call")
            continue
        if waiting > 0:
            raise ValueError(f"message {i}: {waiting} call(s) before it got no result")
        if msg["role"] == "assistant":
            calls = msg.get("tool_calls", [])
            if not calls and not msg.get("content") and not msg.get("reasoning"):
                raise ValueError(f"message {i}: an assistant turn with neither text nor calls")
            for call in calls:
                if call["function"]["name"] not in names:
                    raise ValueError(
                        f"message {i}: calls {call['function']['name']!r}, which is not among "
                        f"the record's tools ({', '.join(sorted(names)) or 'none'})"
                    )
            waiting = len(calls)
    try:
        back, specs = parse_chat(chat_items(messages, tools, full=True))
    except ValueError as e:
        raise ValueError(f"cannot be written in the tool language ({e})") from None
    if back != messages:
        diff = next(i for i, m in enumerate(messages) if i >= len(back) or back[i] != m)
        raise ValueError(f"message {diff} does not come back unchanged from the tool language")
    if specs != [from_openai_tool(t) for t in tools]:
        raise ValueError("the tools do not come back unchanged from the tool language")


def _importer(fmt: str) -> Callable[[dict], tuple[list[dict], list[dict]]]:
    if fmt not in IMPORTERS:
        raise ValueError(f"unknown import format {fmt!r} (expected one of {', '.join(IMPORTERS)})")
    return IMPORTERS[fmt]


def convert(raw: dict, fmt: str) -> tuple[list[dict], list[dict]]:
    """One record of format ``fmt`` -> (messages, tools), checked by ``check_conversation``.
    Raises ValueError when the record is malformed or the format unknown."""
    messages, tools = _importer(fmt)(raw)
    # An empty system prompt says nothing (and the chat format leaves it out).
    messages = [m for m in messages if m["role"] != "system" or m["content"]]
    check_conversation(messages, tools)
    return messages, tools


def read_records(path: str | Path) -> Iterator[tuple[str, Any]]:
    """``(where, record)`` for each record of a JSON file (an array or one object) or a JSONL
    file (one object a line), ``where`` naming it for messages. Raises ValueError for text that
    is not JSON, OSError when the file cannot be read."""
    path = Path(path)
    if path.suffix not in (".jsonl", ".ndjson"):
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None  # perhaps JSONL under another name
        if data is not None:
            for n, record in enumerate(data if isinstance(data, list) else [data], 1):
                yield f"{path.name}: record {n}", record
            return
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield f"{path.name}: line {n}", json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path.name}: line {n}: not JSON ({e})") from None


def import_file(path: str | Path, fmt: str, *, domain: str | None = None) -> Iterator[dict]:
    """The records of a file in format ``fmt`` (a key of ``IMPORTERS``). ``domain`` defaults to
    the record's own ``domain`` field, else the file's name without its suffix; ids are the
    file's name and the record's own ``id`` (else its position). Raises ValueError for an
    unknown format or a malformed record (the message names the file and the record), OSError
    when the file cannot be read."""
    _importer(fmt)
    path = Path(path)
    for n, (where, raw) in enumerate(read_records(path), 1):
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: a record must be a JSON object, got {type(raw).__name__}")
        try:
            messages, tools = convert(raw, fmt)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        own_id, own_domain = raw.get("id"), raw.get("domain")
        yield {
            "id": f"{path.stem}:{own_id if own_id is not None else n}",
            "stage": 3,
            "kind": "imported",
            "split": "train",
            "domain": domain or (own_domain if isinstance(own_domain, str) else path.stem),
            "tools": tools,
            "messages": messages,
            "rules": [],
        }
