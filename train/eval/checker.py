"""BFCL's AST checker for the Python categories, reimplemented so evaluation runs offline.

The ``bfcl-eval`` package's own checker (``eval_checker/ast_eval/ast_checker.py``) cannot be
imported as is: it imports the leaderboard's model registry, which imports every vendor's API
client. This module follows that checker rule for rule, quirks included, so scores compare
with the published ones:

- the name must match (``underscore_dots=True``: a dotted name is expected with ``_`` for
  ``.``, as BFCL does for models whose APIs refuse dots);
- every ``required`` parameter is present, every emitted parameter exists in the schema and in
  the possible answer, and parameters left out must allow ``""``;
- types match exactly (``type(v) is T``: ``True`` is no integer), an int passes for a
  ``float``; a value of the answer's own type passes as a "variable" (e.g. a string where the
  answer holds strings for an ``integer`` parameter); arrays check their items one level deep;
- strings compare after ``standardize``; lists in order; dicts key by key, one level deep;
- ``simple``: exactly one call; ``multiple``: one call, to the expected function;
  ``parallel*``: as many calls as answers, matched in any order, greedily as BFCL does (each
  answer, in order, takes the first unmatched call that fits);
- ``irrelevance``: right when no call is made; ``relevance``: right when one is.

``check`` never raises on what a model wrote: wrong types, unknown functions and nested junk
all come back as a failed ``CheckResult``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bslm.models.tools import ToolCall
from bslm.train.config import ConfigError

# BFCL's Python type names -> the Python type a value must have (``any`` is checked as str).
PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
NESTED_TYPES = ("array", "tuple")
_STANDARDIZE = re.compile(r"[ \,\.\/\-\_\*\^]")
_UNSUPPORTED = ("java", "javascript", "multi_turn", "memory", "web_search", "format_sensitivity")


@dataclass(frozen=True)
class CheckResult:
    """A verdict: ``reason`` says what was wrong, ``error_type`` names it as BFCL does
    (e.g. ``"type_error:simple"``, ``"simple_function_checker:wrong_count"``)."""

    ok: bool
    reason: str = ""
    error_type: str = ""


OK = CheckResult(True)


def _fail(error_type: str, reason: str) -> CheckResult:
    return CheckResult(False, reason, error_type)


def standardize(text: str) -> str:
    """BFCL's string normal form: no spaces or ``, . / - _ * ^``, lowercase, ``'`` as ``"``."""
    return _STANDARDIZE.sub("", text).lower().replace("'", '"')


def category_kind(category: str) -> str:
    """How a category is scored: ``irrelevance``, ``relevance``, ``parallel``, ``multiple`` or
    ``simple`` (BFCL's substring rules). Raises ValueError for categories this checker does not
    score (Java, JavaScript, multi-turn, agentic)."""
    if any(word in category for word in _UNSUPPORTED):
        raise ConfigError(
            f"BFCL category {category!r} is not scored by the AST checker for Python calls"
        )
    for kind in ("irrelevance", "relevance", "parallel", "multiple"):
        if kind in category:
            return kind
    return "simple"


def check(
    category: str,
    calls: list[ToolCall],
    functions: list[dict],
    possible_answer: list[dict],
    *,
    underscore_dots: bool = False,
) -> CheckResult:
    """Score one BFCL item: ``calls`` are what the model wrote, ``functions`` the item's BFCL
    schemas, ``possible_answer`` its ground truth (a list of ``{name: {param: [values]}}``;
    empty for the relevance categories). Raises ValueError only for a category it does not
    score (see ``category_kind``); whatever the calls hold gives a verdict."""
    kind = category_kind(category)
    calls = list(calls or [])
    if kind == "irrelevance":
        if calls:
            return _fail("irrelevance_error:decoder_success", "a call was made where none fits")
        return OK
    if kind == "relevance":
        if not calls:
            return _fail("relevance_error:decoder_failed", "no call was made")
        return OK
    outputs = []
    for call in calls:
        name, args = getattr(call, "name", None), getattr(call, "arguments", None)
        if type(name) is not str or type(args) is not dict:
            return _fail(
                "ast_decoder:decoder_wrong_output_format",
                f"not a call with a name and an argument object: {call!r}",
            )
        outputs.append({name: args})
    try:
        if kind == "parallel":
            return _check_parallel(functions, outputs, possible_answer, underscore_dots)
        if kind == "multiple":
            return _check_multiple(functions, outputs, possible_answer, underscore_dots)
        if len(outputs) != 1:
            return _fail("simple_function_checker:wrong_count", "Wrong number of functions.")
        return _check_call(functions[0], outputs[0], possible_answer[0], underscore_dots)
    except Exception as e:  # noqa: BLE001 - the contract is "never raises" on model output
        return _fail("checker:unreadable", f"the call could not be checked ({e!r})")


# --- whole outputs ---------------------------------------------------------------------------


def _find(functions: list[dict], name: str) -> dict | None:
    return next((fn for fn in functions if fn.get("name") == name), None)


def _check_multiple(functions, outputs, answers, underscore_dots) -> CheckResult:
    if len(outputs) != len(answers):
        return _fail("multiple_function_checker:wrong_count", "Wrong number of functions.")
    expected = next(iter(answers[0]))
    fn = _find(functions, expected)
    if fn is None:
        return _fail("checker:missing_function", f"no schema for the expected {expected!r}")
    return _check_call(fn, outputs[0], answers[0], underscore_dots)


def _check_parallel(functions, outputs, answers, underscore_dots) -> CheckResult:
    if len(outputs) != len(answers):
        return _fail("parallel_function_checker_no_order:wrong_count", "Wrong number of functions.")
    matched: set[int] = set()
    for i, answer in enumerate(answers):
        expected = next(iter(answer))
        fn = _find(functions, expected)
        if fn is None:
            return _fail("checker:missing_function", f"no schema for the expected {expected!r}")
        errors = []
        for j, output in enumerate(outputs):
            if j in matched:
                continue
            result = _check_call(fn, output, answer, underscore_dots)
            if result.ok:
                matched.add(j)
                break
            errors.append(f"call {j}: {result.reason}")
        else:
            return _fail(
                "parallel_function_checker_no_order:cannot_find_match",
                f"no call matches answer {i} ({expected}): " + " ".join(errors),
            )
    return OK


def _check_call(fn: dict, output: dict, answer: dict, underscore_dots: bool) -> CheckResult:
    """BFCL's ``simple_function_checker``: one call ``{name: args}`` against one answer."""
    answers = next(iter(answer.values()))
    name = fn["name"]
    props = fn["parameters"]["properties"]
    required = fn["parameters"].get("required", [])
    if underscore_dots:
        name = name.replace(".", "_")
    if name not in output:
        return _fail(
            "simple_function_checker:wrong_func_name",
            f"Function name {name!r} not found in model output.",
        )
    args = output[name]
    for param in required:
        if param not in args:
            return _fail(
                "simple_function_checker:missing_required",
                f"Missing required parameter: {param!r}.",
            )
    for param, value in args.items():
        if param not in props or param not in answers:
            return _fail(
                "simple_function_checker:unexpected_param", f"Unexpected parameter: {param!r}."
            )
        result = _check_param(param, value, props[param], answers[param])
        if not result.ok:
            return result
    for param, options in answers.items():
        if param not in args and "" not in options:
            return _fail(
                "simple_function_checker:missing_optional",
                f"Optional parameter {param!r} not provided and not marked as optional.",
            )
    return OK


# --- one parameter ---------------------------------------------------------------------------


def _check_param(param: str, value: Any, schema: dict, options: list) -> CheckResult:
    desc = schema.get("type")
    expected = PYTHON_TYPES.get(desc)
    if expected is None:
        return _fail("checker:unsupported_type", f"parameter {param!r} has BFCL type {desc!r}")
    nested = None
    if desc in NESTED_TYPES:
        nested_desc = (schema.get("items") or {}).get("type")
        nested = PYTHON_TYPES.get(nested_desc)
        if nested is None:
            return _fail(
                "checker:unsupported_type", f"items of {param!r} have BFCL type {nested_desc!r}"
            )
    if desc == "tuple" and type(value) is tuple:
        value = list(value)
    if desc == "float" and type(value) is int:
        value = float(value)
    result, is_variable = _check_type(param, value, options, desc, expected, nested)
    if not result.ok:
        return result
    if not is_variable:
        if expected is dict:
            return _check_dict(param, value, options)
        if expected is list and nested is dict:
            return _check_list_of_dicts(param, value, options)
        if expected is str:
            if standardize(value) not in [standardize(o) for o in options if type(o) is str]:
                return _fail(
                    "value_error:string",
                    f"Invalid value for parameter {param!r}: {value!r}. "
                    f"Expected one of {options}. Case insensitive.",
                )
            return OK
        if expected is list:
            if _standardize_list(value) not in [_standardize_list(o) for o in options]:
                return _fail(
                    "value_error:list/tuple",
                    f"Invalid value for parameter {param!r}: {value!r}. Expected one of {options}.",
                )
            return OK
    if value not in options:
        return _fail(
            "value_error:others",
            f"Invalid value for parameter {param!r}: {value!r}. Expected one of {options}.",
        )
    return OK


def _answer_type(options: Any) -> type | None:
    """The type of the first acceptable value that is not ``""`` (the omission marker)."""
    for option in options:
        if option != "":
            return type(option)
    return None


def _check_type(param, value, options, desc, expected, nested) -> tuple[CheckResult, bool]:
    """BFCL's ``type_checker``: the verdict, and whether the value is a "variable" (of the
    answer's type rather than the schema's, compared as is)."""
    answer_type = _answer_type(options)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return OK, is_variable
        for option in options:
            # BFCL only looks inside options that are lists: a "" option passes any list.
            if type(option) is not list or all(
                _check_type(param, item, option, str(nested), nested, None)[0].ok for item in value
            ):
                return OK, is_variable
        error_type = "type_error:nested" if type(value) is answer_type else "type_error:simple"
        return _fail(
            error_type,
            f"Nested type checking failed for parameter {param!r}. Expected outer type {desc} "
            f"with inner type {nested.__name__}. Parameter value: {value!r}.",
        ), False
    if answer_type is not None and type(value) is answer_type:
        return OK, True
    return _fail(
        "type_error:simple",
        f"Incorrect type for parameter {param!r}. Expected type {desc}, "
        f"got {type(value).__name__}. Parameter value: {value!r}.",
    ), False


def _standardize_list(values: Any) -> Any:
    if type(values) is str:  # BFCL walks an answer's characters; "" becomes []
        return [standardize(c) for c in values]
    if not isinstance(values, (list, tuple)):
        return values
    return [standardize(v) if type(v) is str else v for v in values]


def _check_dict(param: str, value: dict, options: list) -> CheckResult:
    """BFCL's ``dict_checker``: each option is ``{key: [acceptable values]}``, one level deep."""
    result = _fail("dict_checker:unclear", f"no acceptable value for {param!r}")
    for option in options:
        if option == "":
            continue
        if type(option) is not dict:
            result = _fail("dict_checker:unclear", f"no acceptable value for {param!r}")
            continue
        result = _dict_matches(value, option)
        if result.ok:
            return OK
    return result


def _dict_matches(value: Any, option: dict) -> CheckResult:
    if type(value) is not dict:
        return _fail("value_error:dict_value", f"expected a dict, got {value!r}")
    for key, item in value.items():
        if key not in option:
            return _fail("value_error:dict_key", f"Unexpected dict key parameter: {key!r}.")
        accepted = [standardize(o) if type(o) is str else o for o in option[key]]
        if (standardize(item) if type(item) is str else item) not in accepted:
            return _fail(
                "value_error:dict_value",
                f"Invalid value for parameter {key!r}: {item!r}. Expected one of {accepted}.",
            )
    for key, accepted in option.items():
        if key not in value and "" not in accepted:
            return _fail("value_error:dict_key", f"Missing dict key parameter: {key!r}.")
    return OK


def _check_list_of_dicts(param: str, value: list, options: list) -> CheckResult:
    """BFCL's ``list_dict_checker``: the dicts in order, each against its option's dict."""
    result = _fail("list_dict_checker:unclear", f"no acceptable value for {param!r}")
    for option in options:
        if not isinstance(option, (list, str)) or len(value) != len(option):
            result = _fail(
                "value_error:list_dict_count", "Wrong number of dictionaries in the list."
            )
            continue
        for item, wanted in zip(value, option, strict=True):
            result = _check_dict(param, item, [wanted])
            if not result.ok:
                break
        else:
            return OK
    return result
