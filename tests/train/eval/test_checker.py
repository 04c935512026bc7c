"""The BFCL AST checker: accept/refuse tables from BFCL's rules, garbage never raising, every
possible answer of the real data accepted, and (slow) verdicts equal to the package's own
checker on perturbed answers."""

import copy
import random
import sys
import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bslm.models.tools import ToolCall
from bslm.train.eval import bfcl
from bslm.train.eval.checker import CheckResult, category_kind, check, standardize

from ...strategies import json_values, text

# Hand-written schemas in BFCL's dialect.
AREA = {
    "name": "geometry.rect_area",
    "description": "Area of a rectangle.",
    "parameters": {
        "type": "dict",
        "required": ["width", "height"],
        "properties": {
            "width": {"type": "integer", "description": "Width."},
            "height": {"type": "float", "description": "Height."},
            "unit": {"type": "string", "description": "Unit of the result."},
            "rounded": {"type": "boolean", "description": "Round the result."},
            "tags": {"type": "array", "items": {"type": "string"}, "description": "Labels."},
            "offset": {"type": "tuple", "items": {"type": "integer"}, "description": "Origin."},
            "style": {"type": "dict", "description": "Drawing style.", "properties": {}},
            "layers": {"type": "array", "items": {"type": "dict"}, "description": "Layers."},
            "precision": {"type": "integer", "description": "Digits."},
            "count": {"type": "integer", "description": "How many."},
        },
    },
}
AREA_ANSWER = {
    "geometry.rect_area": {
        "width": [4],
        "height": [2.5, 3.0],
        "unit": ["square meters", "m^2", ""],
        "rounded": [False, ""],
        "tags": [["Blue Sky", "tile"], ""],
        "offset": [[0, 1], ""],
        "style": [{"color": ["red"], "alpha": [0.5, ""]}, ""],
        "layers": [[{"name": ["base"]}, {"name": ["top"]}], ""],
        "precision": [2],
        "count": ["n", ""],  # a "variable": a name where the schema says integer
    }
}
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "parameters": {
        "type": "dict",
        "required": ["city"],
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    },
}
BASE = {"width": 4, "height": 2.5, "precision": 2}


def area(**changes):
    args = {**BASE, **changes}
    return [ToolCall("geometry.rect_area", {k: v for k, v in args.items() if v is not DROP})]


DROP = object()


def weather(city, **more):
    return ToolCall("get_weather", {"city": city, **more})


@pytest.mark.parametrize(
    "calls",
    [
        area(),
        area(height=3),  # int promoted to float
        area(height=3.0),
        area(unit="Square-Meters"),
        area(unit="square_meters"),
        area(unit="M^2"),
        area(unit="square meters*"),
        area(rounded=False),
        area(tags=["blue sky", "Tile"]),
        area(tags=["Blue_Sky", "tile"]),
        area(offset=[0, 1]),
        area(offset=(0, 1)),
        area(style={"color": "RED"}),
        area(style={"color": "red", "alpha": 0.5}),
        area(layers=[{"name": "Base"}, {"name": "top"}]),
        area(count="n"),
    ],
)
def test_accepts(calls):
    assert check("simple_python", calls, [AREA], [AREA_ANSWER]) == CheckResult(True)


@pytest.mark.parametrize(
    "calls, error_type",
    [
        (area(width=True), "type_error:simple"),  # bool is not int
        (area(width=4.0), "type_error:simple"),  # no float -> int
        (area(width="4"), "type_error:simple"),
        (area(width=5), "value_error:others"),
        (area(height=2), "value_error:others"),
        (area(height="2.5"), "type_error:simple"),
        (area(rounded=0), "type_error:simple"),
        (area(rounded=True), "value_error:others"),
        (area(unit="sq m"), "value_error:string"),
        (area(unit="square\tmeters"), "value_error:string"),  # only spaces are dropped
        (area(unit=5), "type_error:simple"),
        (area(tags=["tile", "Blue Sky"]), "value_error:list/tuple"),  # lists keep their order
        (area(tags=["Blue Sky"]), "value_error:list/tuple"),
        (area(tags=[1, 2]), "value_error:list/tuple"),  # a "" option skips the items' types
        (area(tags="Blue Sky, tile"), "type_error:simple"),
        (area(style={"color": "red", "size": 1}), "value_error:dict_key"),
        (area(style={"alpha": 0.5}), "value_error:dict_key"),
        (area(style={"color": "blue"}), "value_error:dict_value"),
        (area(style="red"), "type_error:simple"),
        # BFCL reports the last option's error: here the "" option's
        (area(layers=[{"name": "top"}, {"name": "base"}]), "value_error:list_dict_count"),
        (area(layers=[{"name": "base"}]), "value_error:list_dict_count"),
        (area(count="N"), "value_error:others"),  # variables compare exactly
        (area(count=3), "value_error:others"),
        (area(depth=1), "simple_function_checker:unexpected_param"),
        (area(width=DROP), "simple_function_checker:missing_required"),
        (area(precision=DROP), "simple_function_checker:missing_optional"),
        ([ToolCall("rect_area", BASE)], "simple_function_checker:wrong_func_name"),
        ([ToolCall("geometry_rect_area", BASE)], "simple_function_checker:wrong_func_name"),
        ([], "simple_function_checker:wrong_count"),
        (area() + area(), "simple_function_checker:wrong_count"),
    ],
)
def test_refuses(calls, error_type):
    result = check("simple_python", calls, [AREA], [AREA_ANSWER])
    assert not result.ok
    assert result.error_type == error_type
    assert result.reason


@pytest.mark.parametrize(
    "sizes, error_type",
    [
        ([1.5, 2.0], None),
        ([1.5, 2], "type_error:nested"),
        (["1.5", 2.0], "type_error:nested"),
        ([2.0, 1.5], "value_error:list/tuple"),
    ],
)
def test_array_items_are_typed_one_level_deep(sizes, error_type):
    schema = {
        "type": "dict",
        "required": ["sizes"],
        "properties": {"sizes": {"type": "array", "items": {"type": "float"}}},
    }
    fn = {"name": "pack", "parameters": schema}
    result = check(
        "simple_python",
        [ToolCall("pack", {"sizes": sizes})],
        [fn],
        [{"pack": {"sizes": [[1.5, 2.0]]}}],
    )
    assert (result.ok, result.error_type) == (error_type is None, error_type or "")


def test_dotted_names_can_be_expected_with_underscores():
    calls = [ToolCall("geometry_rect_area", BASE)]
    assert check("simple_python", calls, [AREA], [AREA_ANSWER], underscore_dots=True).ok
    assert not check("simple_python", area(), [AREA], [AREA_ANSWER], underscore_dots=True).ok


def test_multiple_wants_the_expected_function():
    answer = [{"get_weather": {"city": ["Paris", "Paris, France"], "days": [3, ""]}}]
    functions = [AREA, WEATHER]
    assert check("multiple", [weather("paris")], functions, answer).ok
    assert check("live_multiple", [weather("Paris, France", days=3)], functions, answer).ok
    assert check("multiple", area(), functions, answer).error_type == (
        "simple_function_checker:wrong_func_name"
    )
    wrong_count = check("multiple", [weather("Paris"), weather("Paris")], functions, answer)
    assert wrong_count.error_type == "multiple_function_checker:wrong_count"


PARALLEL_ANSWER = [
    {"get_weather": {"city": ["Paris"], "days": [3, ""]}},
    {"get_weather": {"city": ["Rome"], "days": [3, ""]}},
    {"geometry.rect_area": {**AREA_ANSWER["geometry.rect_area"], "precision": [2, ""]}},
]


@pytest.mark.parametrize(
    "calls, error_type",
    [
        ([weather("Paris"), weather("Rome"), *area()], None),
        ([*area(), weather("rome", days=3), weather("PARIS")], None),
        ([weather("Rome"), *area(), weather("Paris")], None),
        ([weather("Paris"), weather("Rome")], "parallel_function_checker_no_order:wrong_count"),
        (
            [weather("Paris"), weather("Paris"), *area()],
            "parallel_function_checker_no_order:cannot_find_match",
        ),
        (
            [weather("Paris"), weather("Rome", days=4), *area()],
            "parallel_function_checker_no_order:cannot_find_match",
        ),
        (
            [weather("Paris"), weather("Rome"), *area(), weather("Oslo")],
            "parallel_function_checker_no_order:wrong_count",
        ),
    ],
)
def test_parallel_in_any_order(calls, error_type):
    for category in ("parallel", "parallel_multiple", "live_parallel"):
        result = check(category, calls, [WEATHER, AREA], PARALLEL_ANSWER)
        assert result.ok == (error_type is None)
        assert result.error_type == (error_type or "")


def test_parallel_matches_greedily_like_bfcl():
    # An assignment exists (answer 0 <- call 1, answer 1 <- call 0), but BFCL lets each answer
    # in turn take the first call that fits, and so does the checker.
    answer = [{"get_weather": {"city": ["Paris", "Rome"]}}, {"get_weather": {"city": ["Paris"]}}]
    assert not check("parallel", [weather("Paris"), weather("Rome")], [WEATHER], answer).ok
    assert check("parallel", [weather("Rome"), weather("Paris")], [WEATHER], answer).ok


@pytest.mark.parametrize("category", ["irrelevance", "live_irrelevance"])
def test_irrelevance_wants_no_call(category):
    assert check(category, [], [WEATHER], []).ok
    result = check(category, [weather("Paris")], [WEATHER], [])
    assert not result.ok and result.error_type == "irrelevance_error:decoder_success"


def test_relevance_wants_a_call():
    assert check("live_relevance", [ToolCall("anything", {})], [WEATHER], []).ok
    assert not check("live_relevance", [], [WEATHER], []).ok


@pytest.mark.parametrize(
    "category, kind",
    [
        ("simple_python", "simple"),
        ("live_simple", "simple"),
        ("multiple", "multiple"),
        ("parallel_multiple", "parallel"),
        ("live_parallel", "parallel"),
        ("live_irrelevance", "irrelevance"),
        ("live_relevance", "relevance"),
    ],
)
def test_category_kinds(category, kind):
    assert category_kind(category) == kind


@pytest.mark.parametrize("category", ["simple_java", "simple_javascript", "multi_turn_base"])
def test_unscored_categories_are_refused(category):
    with pytest.raises(ValueError, match="not scored"):
        check(category, [], [AREA], [AREA_ANSWER])


def test_standardize_matches_bfcl():
    assert standardize("New York, N.Y. 10001-2/3*4^5_x") == "newyorkny100012345x"
    assert standardize("It's") == 'it"s'
    assert standardize("a\tb") == "a\tb"


@pytest.mark.parametrize(
    "calls",
    [
        [ToolCall("geometry.rect_area", ["width", 4])],  # type: ignore[arg-type]
        [ToolCall(None, {})],  # type: ignore[arg-type]
        [{"geometry.rect_area": BASE}],
        [ToolCall("nope", {})],
        area(style={"color": {"a": [1, {"b": None}]}}),
        area(layers=[1, [2], None]),
        area(tags=[[["deep"]]]),
        area(width=float("nan")),
        area(**{"7": 7}),
    ],
)
def test_garbage_is_refused_without_raising(calls):
    for category in ("simple_python", "multiple", "parallel"):
        assert not check(category, calls, [AREA], [AREA_ANSWER]).ok


@given(
    args=st.dictionaries(
        st.sampled_from([*AREA["parameters"]["properties"], "x"]) | text, json_values, max_size=6
    )
)
def test_any_arguments_give_a_verdict(args):
    for category in ("simple_python", "parallel", "live_multiple"):
        result = check(category, [ToolCall("geometry.rect_area", args)], [AREA], [AREA_ANSWER])
        assert isinstance(result, CheckResult)


# --- the real data ---------------------------------------------------------------------------

ANSWERED = [c for c in bfcl.CATEGORIES if category_kind(c) not in ("irrelevance", "relevance")]


def answer_value(value, schema: dict):
    """An acceptable value as a model would write it: dicts in answers list each key's
    acceptable values, one level deep."""
    if schema.get("type") == "dict" and isinstance(value, dict):
        return {k: v[0] for k, v in value.items() if v and v[0] != ""}
    if (schema.get("items") or {}).get("type") == "dict" and isinstance(value, list):
        return [answer_value(d, {"type": "dict"}) for d in value]
    return value


def answer_calls(answer: list[dict], functions: list[dict], pick: int = 0) -> list[ToolCall]:
    """Each expected call with the ``pick``-th acceptable value of each parameter (the last
    one where there are fewer), leaving out parameters whose value there is ``""``."""
    calls = []
    for expected in answer:
        ((name, params),) = expected.items()
        fn = next(f for f in functions if f["name"] == name)
        props = fn["parameters"]["properties"]
        args = {}
        for param, options in params.items():
            option = options[min(pick, len(options) - 1)] if options else ""
            if option != "":
                args[param] = answer_value(option, props.get(param, {}))
        calls.append(ToolCall(name, args))
    return calls


@pytest.mark.parametrize("category", ANSWERED)
def test_possible_answers_are_accepted(category):
    answers = bfcl.load_answers(category)
    for item in bfcl.load_category(category)[:20]:
        answer = answers[item["id"]]
        result = check(category, answer_calls(answer, item["function"]), item["function"], answer)
        assert result.ok, (item["id"], result)
        if category_kind(category) == "parallel":
            reversed_calls = answer_calls(answer, item["function"])[::-1]
            assert check(category, reversed_calls, item["function"], answer).ok, item["id"]


@pytest.mark.parametrize("category", [c for c in bfcl.CATEGORIES if c not in ANSWERED])
def test_relevance_categories_have_no_answers(category):
    assert bfcl.load_answers(category) == {}
    item = bfcl.eval_items(category, limit=1)[0]
    call = [ToolCall(item.functions[0]["name"], {})]
    assert check(category, [], item.functions, []).ok == (category_kind(category) == "irrelevance")
    assert check(category, call, item.functions, []).ok == (category_kind(category) == "relevance")


def test_eval_items_are_prompts():
    for category in bfcl.CATEGORIES:
        for item in bfcl.eval_items(category, limit=5):
            assert item.messages and all(
                m["role"] in ("system", "user", "assistant") for m in item.messages
            )
            assert [t.name for t in item.tools] == [f["name"] for f in item.functions]
            assert item.tools[0].parameters["type"] == "object"
    with pytest.raises(ValueError, match="no BFCL category"):
        bfcl.load_answers("simple_cobol")


# --- the package's own checker ---------------------------------------------------------------


@pytest.fixture
def bfcl_checker(monkeypatch):
    """bfcl_eval's ``ast_checker``, imported with its model registry (which would import every
    vendor's API client) replaced by a stub; ``underscore_to_dot`` as set on the result."""

    class Config:
        underscore_to_dot = False

    class Registry(dict):
        def __missing__(self, key):
            return Config

    stub = types.ModuleType("bfcl_eval.constants.model_config")
    stub.MODEL_CONFIG_MAPPING = Registry()
    module = "bfcl_eval.eval_checker.ast_eval.ast_checker"
    monkeypatch.setitem(sys.modules, stub.__name__, stub)
    monkeypatch.delitem(sys.modules, module, raising=False)
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker

    def theirs(category, calls, functions, answer):
        output = [{c.name: c.arguments} for c in calls]
        return ast_checker(functions, output, answer, Language.PYTHON, category, "any_model")

    theirs.config = Config
    yield theirs
    sys.modules.pop(module, None)  # it holds the stub: a later import starts afresh


def _mutate(value, rng: random.Random):
    if type(value) is bool:
        return rng.choice([int(value), not value, str(value)])
    if type(value) is int:
        return rng.choice([float(value), str(value), value + 1, True])
    if type(value) is float:
        return rng.choice([int(value), str(value), value + 0.5, round(value)])
    if type(value) is str:
        return rng.choice(
            [
                value.upper(),
                value.replace(" ", "-") + "^",
                "x" + value,
                value.replace(" ", "\t"),
                5,
                [value],
            ]
        )
    if type(value) is list:
        return rng.choice(
            [value[::-1], value[:-1], value + value[:1], [str(v) for v in value], "[]"]
        )
    if type(value) is dict:
        return rng.choice(
            [
                {**value, "extra": 1},
                dict(list(value.items())[:-1]),
                {k: _mutate(v, rng) for k, v in value.items()},
                [value],
            ]
        )
    return None


def perturb(calls: list[ToolCall], kind: str, rng: random.Random) -> list[ToolCall]:
    calls = copy.deepcopy(calls)
    call = rng.choice(calls)
    key = rng.choice(list(call.arguments)) if call.arguments else None
    if kind == "mutate" and key:
        call.arguments[key] = _mutate(call.arguments[key], rng)
    elif kind == "junk" and key:
        call.arguments[key] = rng.choice([None, {"a": [1, {"b": None}]}, [[[]]], ""])
    elif kind == "drop_param" and key:
        del call.arguments[key]
    elif kind == "extra_param":
        call.arguments["zzz"] = 1
    elif kind == "rename":
        call.name += "_x"
    elif kind == "underscore":
        call.name = call.name.replace(".", "_")
    elif kind == "reverse":
        calls.reverse()
    elif kind == "drop_call":
        calls.pop()
    elif kind == "dup_call":
        calls.append(copy.deepcopy(calls[0]))
    return calls


KINDS = [
    "mutate",
    "mutate",
    "mutate",
    "junk",
    "drop_param",
    "extra_param",
    "rename",
    "underscore",
    "reverse",
    "drop_call",
    "dup_call",
]


@pytest.mark.slow
@pytest.mark.parametrize("underscore_dots", [False, True])
def test_verdicts_match_bfcl_eval(bfcl_checker, underscore_dots):
    bfcl_checker.config.underscore_to_dot = underscore_dots
    rng = random.Random(0)
    compared = 0
    for category in ANSWERED:
        answers = bfcl.load_answers(category)
        for item in bfcl.load_category(category):
            functions, answer = item["function"], answers[item["id"]]
            variants = [answer_calls(answer, functions, pick=1)]
            variants += [perturb(answer_calls(answer, functions), k, rng) for k in KINDS]
            for calls in variants:
                ours = check(category, calls, functions, answer, underscore_dots=underscore_dots)
                theirs = bfcl_checker(category, calls, functions, answer)
                assert (ours.ok, ours.error_type) == (
                    theirs["valid"],
                    "" if theirs["valid"] else theirs["error_type"],
                ), (item["id"], calls, ours, theirs)
                compared += 1
    assert compared > 20_000
