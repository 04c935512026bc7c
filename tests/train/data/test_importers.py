"""Importers: OpenAI chat JSON, xLAM / APIGen and ShareGPT records become training records that
the chat format encodes; malformed records are refused with one line that says where and why."""

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bslm.models.chat import decode_chat, encode_chat
from bslm.train.data.importers import (
    IMPORTERS,
    convert,
    import_file,
    python_type_schema,
    read_records,
)

from ...strategies import json_values

FIXTURES = Path(__file__).parent / "fixtures"
FILES = {"openai": "openai.jsonl", "xlam": "xlam.json", "sharegpt": "sharegpt.json"}


def records(fmt: str) -> list[dict]:
    return list(import_file(FIXTURES / FILES[fmt], fmt))


def calls(msg: dict) -> list[tuple[str, dict]]:
    return [(c["function"]["name"], c["function"]["arguments"]) for c in msg.get("tool_calls", [])]


@pytest.mark.parametrize("fmt", IMPORTERS)
def test_records_have_the_training_shape(fmt):
    got = records(fmt)
    assert len(got) >= 2
    for rec in got:
        assert set(rec) == {"id", "stage", "kind", "split", "domain", "tools", "messages", "rules"}
        assert (rec["stage"], rec["kind"], rec["split"], rec["rules"]) == (
            3,
            "imported",
            "train",
            [],
        )
        assert rec["id"].startswith(Path(FILES[fmt]).stem + ":")
        assert all(
            t["type"] == "function" and t["function"]["parameters"]["type"] == "object"
            for t in rec["tools"]
        )
        assert any(m["role"] == "assistant" for m in rec["messages"])
    assert len({rec["id"] for rec in got}) == len(got)


def test_openai():
    weather, files, joke = records("openai")
    assert weather["id"] == "openai:weather-1" and weather["domain"] == "openai"
    assert weather["messages"] == [
        {"role": "user", "content": "Is it cold in Oslo right now?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}},
                }
            ],
        },
        {"role": "tool", "name": "get_weather", "content": "-4 C, light snow"},
        {"role": "assistant", "content": "Yes: -4 °C with light snow."},
    ]
    # content parts joined; results put back in call order (their ids answer c1, c2)
    assert files["domain"] == "files"
    system, _, turn, first, second, _ = files["messages"]
    assert system == {"role": "system", "content": "You manage a small notes folder."}
    assert turn["content"] == "Checking both."
    assert [name for name, _ in calls(turn)] == ["file_size", "read_file"]
    assert (first["name"], first["content"]) == ("file_size", "24 bytes")
    assert (second["name"], second["content"]) == ("read_file", "buy milk\nwater plants")
    assert "description" not in files["tools"][1]["function"]
    # an empty system prompt is left out; a record may answer without calls
    assert joke["id"] == "openai:3"
    assert [m["role"] for m in joke["messages"]] == ["user", "assistant"]


def test_xlam():
    two, leap, avg = records("xlam")
    assert two["id"] == "xlam:7"
    assert [m["role"] for m in two["messages"]] == ["user", "assistant"]
    assert calls(two["messages"][1]) == [
        ("convert_currency", {"amount": 150.0, "source": "USD", "target": "EUR"}),
        ("largest_cities", {"country": "Kenya", "limit": 3}),
    ]
    cities = two["tools"][1]["function"]["parameters"]
    assert cities == {
        "type": "object",
        "properties": {
            "country": {"description": "Country name.", "type": "string"},
            "limit": {"description": "How many cities.", "type": "integer", "default": 5},
            "fields": {
                "description": "Fields to return.",
                "type": "array",
                "items": {"type": "string"},
            },
        },
        "required": ["country"],
    }
    assert calls(leap["messages"][1]) == [("is_leap_year", {"year": 2024})]
    numbers = avg["tools"][0]["function"]["parameters"]["properties"]["numbers"]
    assert numbers["items"] == {"type": ["integer", "number"]}


def test_sharegpt():
    reminder, cities = records("sharegpt")
    assert [m["role"] for m in reminder["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert reminder["messages"][0]["content"] == "You are a helpful planner."
    assert reminder["messages"][3] == {
        "role": "tool",
        "name": "add_reminder",
        "content": '{"ok": true, "id": 41}',
    }
    # a gpt turn then a function_call: one model turn with text and two calls, whose
    # observation (a JSON list) answers each call
    turn = cities["messages"][2]
    assert turn["content"] == "Looking both up."
    assert calls(turn) == [("population", {"city": "Lyon"}), ("population", {"city": "Porto"})]
    assert [m["content"] for m in cities["messages"][3:5]] == ["522000", '{"population": 232000}']
    assert cities["messages"][-1] == {"role": "assistant", "content": "You're welcome."}


def test_records_encode_and_decode(tok):
    for fmt in IMPORTERS:
        for rec in records(fmt):
            enc = encode_chat(tok, rec["messages"], rec["tools"])
            assert any(enc.learn)
            messages, tools = decode_chat(tok, enc.ids)
            assert messages == rec["messages"]
            assert [t.name for t in tools] == [t["function"]["name"] for t in rec["tools"]]


@pytest.mark.parametrize(
    "text, schema",
    [
        ("str", {"type": "string"}),
        ("int, optional", {"type": "integer"}),
        ("float, default=1.0", {"type": "number"}),
        ("bool", {"type": "boolean"}),
        ("List[str]", {"type": "array", "items": {"type": "string"}}),
        (
            "typing.List[List[int]]",
            {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        ),
        ("Tuple[int, ...]", {"type": "array", "items": {"type": "integer"}}),
        ("tuple", {"type": "array"}),
        ("Set[str]", {"type": "array", "items": {"type": "string"}}),
        ("dict", {"type": "object"}),
        ("Dict[str, Any]", {"type": "object"}),
        ("Dict[str, float]", {"type": "object", "additionalProperties": {"type": "number"}}),
        ("Optional[str]", {"type": "string"}),
        ("int | None", {"type": "integer"}),
        ("str or None", {"type": "string"}),
        ("Union[int, float]", {"type": ["integer", "number"]}),
        ("Literal['asc', 'desc']", {"type": "string", "enum": ["asc", "desc"]}),
        ("Literal[1, 2]", {"enum": [1, 2]}),
        ("Any", {}),
        ("Callable[[float], float]", {}),
        ("datetime", {}),
        ("", {}),
    ],
)
def test_python_type_schema(text, schema):
    assert python_type_schema(text) == schema


@pytest.mark.parametrize("text", ["List[str", "str]", "(int)", "int int", "List[,]", "["])
def test_python_type_schema_refuses(text):
    with pytest.raises(ValueError, match="unreadable type"):
        python_type_schema(text)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
USER = {"role": "user", "content": "Weather in Oslo?"}


def ask(*args: str) -> dict:
    """An OpenAI assistant turn calling get_weather with JSON-string arguments."""
    return {
        "role": "assistant",
        "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "get_weather", "arguments": a}}
            for i, a in enumerate(args)
        ],
    }


XLAM_TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather.",
        "parameters": {"city": {"type": "str", "description": "City."}},
    }
]
XLAM_ANSWER = [{"name": "get_weather", "arguments": {"city": "Oslo"}}]


@pytest.mark.parametrize(
    "fmt, record, message",
    [
        ("openai", {"tools": [WEATHER]}, "'messages' must be a list"),
        ("openai", {"messages": "hi"}, "'messages' is not valid JSON"),
        (
            "openai",
            {"tools": [WEATHER], "messages": [USER, ask("{city: Oslo}")]},
            "message 1 call 0: .*arguments are not JSON",
        ),
        (
            "openai",
            {"tools": [WEATHER], "messages": [USER, ask('["Oslo"]')]},
            "message 1 call 0: .*arguments must be a JSON object",
        ),
        (
            "openai",
            {"tools": [WEATHER], "messages": [USER, {"role": "robot", "content": "x"}]},
            "message 1: unknown role 'robot'",
        ),
        (
            "openai",
            {"messages": [USER, ask('{"city": "Oslo"}')]},
            "message 1: calls 'get_weather', which is not among the record's tools \\(none\\)",
        ),
        (
            "openai",
            {"tools": [WEATHER], "messages": [USER, {"role": "tool", "content": "5 C"}]},
            "message 1: a tool result that answers no known call",
        ),
        (
            "openai",
            {
                "tools": [WEATHER],
                "messages": [
                    USER,
                    ask('{"city": "Oslo"}'),
                    {"role": "assistant", "content": "Cold."},
                ],
            },
            "message 2: 1 call.* before it got no result",
        ),
        (
            "openai",
            {
                "tools": [WEATHER],
                "messages": [
                    USER,
                    ask('{"city": "Oslo"}'),
                    {"role": "tool", "tool_call_id": "c0", "content": "1"},
                    {"role": "tool", "name": "get_weather", "content": "2"},
                ],
            },
            "message 3: a tool result that answers no call",
        ),
        ("openai", {"messages": [USER]}, "no assistant turn"),
        (
            "openai",
            {"messages": [USER, {"role": "assistant", "content": ""}]},
            "message 1: an assistant turn with neither text nor calls",
        ),
        (
            "openai",
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "message 0: content part of type 'image_url' is not text",
        ),
        (
            "openai",
            {"tools": [{"type": "function", "function": {"description": "x"}}], "messages": [USER]},
            "tool 0: tool without a name",
        ),
        ("xlam", {"tools": XLAM_TOOLS, "answers": XLAM_ANSWER}, "'query' must be a string"),
        (
            "xlam",
            {"query": "Oslo?", "tools": "[{name: x}]", "answers": XLAM_ANSWER},
            "'tools' is not valid JSON",
        ),
        ("xlam", {"query": "Oslo?", "tools": XLAM_TOOLS, "answers": "[]"}, "'answers' is empty"),
        (
            "xlam",
            {
                "query": "Oslo?",
                "tools": XLAM_TOOLS,
                "answers": [{"name": "get_time", "arguments": {}}],
            },
            "message 1: calls 'get_time', which is not among the record's tools \\(get_weather\\)",
        ),
        (
            "xlam",
            {"query": "Oslo?", "tools": XLAM_TOOLS, "answers": [{"arguments": {}}]},
            "answer 0: a call must be an object with a name",
        ),
        (
            "xlam",
            {
                "query": "Oslo?",
                "answers": XLAM_ANSWER,
                "tools": [{"name": "get_weather", "parameters": {"city": "str"}}],
            },
            r"tool 0 \(get_weather\): parameter 'city' must be an object with a type",
        ),
        (
            "xlam",
            {
                "query": "Oslo?",
                "answers": XLAM_ANSWER,
                "tools": [{"name": "get_weather", "parameters": {"city": {"type": "List[str"}}}],
            },
            r"tool 0 \(get_weather\): parameter 'city': unreadable type 'List\[str' \(unclosed \[\)",
        ),
        (
            "sharegpt",
            {"conversations": [{"from": "bot", "value": "hi"}]},
            "turn 0: unknown speaker 'bot'",
        ),
        (
            "sharegpt",
            {"conversations": [{"from": "human"}]},
            "turn 0: must be an object with a string 'value'",
        ),
        (
            "sharegpt",
            {
                "conversations": [
                    {"from": "human", "value": "hi"},
                    {"from": "observation", "value": "5 C"},
                ]
            },
            "turn 1: observation without a function_call before it",
        ),
        (
            "sharegpt",
            {
                "tools": [WEATHER],
                "conversations": [
                    {"from": "human", "value": "hi"},
                    {"from": "function_call", "value": "get_weather(Oslo)"},
                ],
            },
            "turn 1: function_call is not JSON",
        ),
        (
            "sharegpt",
            {
                "tools": [WEATHER],
                "conversations": [
                    {"from": "human", "value": "hi"},
                    {
                        "from": "function_call",
                        "value": '{"name": "get_weather", "arguments": {"city": "Oslo"}}',
                    },
                    {"from": "gpt", "value": "Cold."},
                ],
            },
            "turn 2: 1 call.* before it got no observation",
        ),
    ],
)
def test_malformed_records_are_refused(tmp_path, fmt, record, message):
    good = {
        "openai": {"tools": [WEATHER], "messages": [USER, {"role": "assistant", "content": "Hi"}]},
        "xlam": {"query": "Oslo?", "tools": XLAM_TOOLS, "answers": XLAM_ANSWER},
        "sharegpt": {
            "conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]
        },
    }[fmt]
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=f"^data.jsonl: line 3: {message}") as e:
        list(import_file(path, fmt))
    assert "\n" not in str(e.value)


def test_files_that_are_not_records(tmp_path):
    with pytest.raises(ValueError, match="unknown import format 'alpaca'"):
        list(import_file(FIXTURES / "xlam.json", "alpaca"))
    lines = tmp_path / "broken.jsonl"
    good = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    lines.write_text(json.dumps(good) + '\n{"messages": [\n', encoding="utf-8")
    with pytest.raises(ValueError, match="^broken.jsonl: line 2: not JSON"):
        list(import_file(lines, "openai"))
    listed = tmp_path / "listed.json"
    listed.write_text('[["user", "hi"]]', encoding="utf-8")
    with pytest.raises(ValueError, match="^listed.json: record 1: a record must be a JSON object"):
        list(import_file(listed, "openai"))


def test_one_object_files_and_jsonl_named_json(tmp_path):
    record = {"query": "Oslo?", "tools": XLAM_TOOLS, "answers": XLAM_ANSWER}
    single = tmp_path / "single.json"
    single.write_text(json.dumps(record, indent=2), encoding="utf-8")
    assert [r["id"] for r in import_file(single, "xlam", domain="weather")] == ["single:1"]
    assert next(import_file(single, "xlam", domain="weather"))["domain"] == "weather"
    lines = tmp_path / "lines.json"
    lines.write_text(
        json.dumps(record) + "\n" + json.dumps({**record, "id": "b"}), encoding="utf-8"
    )
    assert [r["id"] for r in import_file(lines, "xlam")] == ["lines:1", "lines:b"]


SEEDS = [(fmt, rec) for fmt, name in FILES.items() for _, rec in read_records(FIXTURES / name)]


def _paths(node, path=()):
    yield path
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield from _paths(child, (*path, key))


@given(data=st.data())
def test_damaged_records_give_a_record_or_a_value_error(data):
    fmt, record = data.draw(st.sampled_from(SEEDS))
    record = copy.deepcopy(record)
    for key in ("tools", "answers"):  # reach inside the fields stored as JSON text
        if isinstance(record.get(key), str):
            record[key] = json.loads(record[key])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from([p for p in _paths(record) if p] or [None]))
        if path is None:
            break
        parent = record
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = data.draw(json_values | st.sampled_from(["{", "[]", "observation"]))
    try:
        messages, _ = convert(record, fmt)
    except ValueError as e:
        assert "\n" not in str(e)
    else:
        assert any(m["role"] == "assistant" for m in messages)
