"""Lossless conversions: MCP -> ours -> MCP and OpenAI -> ours -> OpenAI, through the tool
language (items) and back."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp import types

from bslm.models.language import call_items, result_items, tool_items
from bslm.models.parser import parse_call, parse_result, parse_tool
from bslm.models.tools import (
    from_mcp_result,
    from_mcp_tool,
    from_openai_call,
    from_openai_tool,
    to_mcp_call,
    to_mcp_result,
    to_mcp_tool,
    to_openai_call,
    to_openai_tool,
)

from ..strategies import (
    calls_args,
    json_objects,
    object_schemas,
    parameters,
    text,
    tool_descriptions,
)
from .test_language import same_json

tool_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,40}", fullmatch=True)


def through_language(spec):
    back = parse_tool(tool_items(spec))
    back.extra = spec.extra  # fields the model never sees ride beside the items
    return back


@given(
    tool_names, tool_descriptions, object_schemas(), st.none() | st.just({"read_only_hint": True})
)
def test_mcp_tool_round_trip(name, desc, schema, annotations):
    kwargs = {"annotations": annotations} if annotations else {}
    tool = types.Tool(name=name, description=desc, input_schema=schema, title="T", **kwargs)
    back = to_mcp_tool(through_language(from_mcp_tool(tool)))
    assert back == tool
    assert same_json(back.input_schema, tool.input_schema)


@given(tool_names, calls_args)
def test_mcp_call_round_trip(name, args):
    spec_call = parse_call(
        call_items(from_openai_call({"function": {"name": name, "arguments": args}}))
    )
    assert to_mcp_call(spec_call)[0] == name
    assert same_json(to_mcp_call(spec_call)[1], args)


@given(st.lists(text, max_size=3), st.none() | json_objects, st.booleans())
def test_mcp_result_round_trip(texts, structured, is_error):
    blocks = [types.TextContent(type="text", text=t) for t in texts]
    blocks.append(types.ImageContent(type="image", data="aGk=", mime_type="image/png"))
    result = types.CallToolResult(content=blocks, structured_content=structured, is_error=is_error)
    ours = from_mcp_result(result)
    back = parse_result(result_items(ours))
    back.extra = ours.extra
    assert to_mcp_result(back) == result


@given(tool_names, tool_descriptions, parameters)
def test_openai_tool_round_trip(name, desc, params):
    fn = {"name": name}
    if desc is not None:
        fn["description"] = desc
    if params is not None:
        fn["parameters"] = params
    tool = {"type": "function", "function": fn}
    back = to_openai_tool(through_language(from_openai_tool(tool)))
    assert same_json(back, tool)


@given(tool_names, calls_args, st.none() | st.text(min_size=1, max_size=12))
def test_openai_call_round_trip(name, args, call_id):
    call = {"type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    if call_id:
        call["id"] = call_id
    ours = from_openai_call(call)
    back = parse_call(call_items(ours))
    back.id = ours.id  # ids are transport metadata: results answer calls by position
    out = to_openai_call(back)
    assert out["function"]["name"] == name and out.get("id") == call.get("id")
    assert same_json(json.loads(out["function"]["arguments"]), args)
    hf = to_openai_call(back, arguments_as="dict")
    assert same_json(hf["function"]["arguments"], args)


@pytest.mark.parametrize("bad", ['{"x": ', "[1, 2]", "3"])
def test_openai_call_with_bad_arguments_refused(bad):
    with pytest.raises(ValueError, match="arguments"):
        from_openai_call({"function": {"name": "f", "arguments": bad}})
