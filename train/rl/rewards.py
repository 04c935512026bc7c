"""Reward functions for GRPO, pure functions with TRL's signature.

A reward takes the completions of one batch and the dataset's other columns as keyword
arguments (lists aligned with the completions), and returns one float per completion, or None
where it does not apply (TRL leaves a None unscored). A completion is a parsed model turn
(``ModelOutput``, see ``bslm.models.parser.parse_output``) or, for a multi-turn episode, the
list of the model's turns in order. Single-turn rewards score the first turn; ``format`` and
``schema`` score every turn; ``rules`` scores the last turn's text and all the calls made.

Columns: ``calls`` (the reference calls of the first turn, ``{"name", "arguments"}`` dicts;
empty: the right move is to answer in text), ``tools`` (OpenAI tool dicts), ``rules`` (rule
dicts, ``bslm.train.data.rules``), ``errors`` (per turn, whether each call returned an error) and
``score`` (the environment's final score in [0, 1]). In the trainer:

    funcs, weights = weighted({"format": 0.2, "tool_name": 0.3, "arguments": 0.5})
    GRPOTrainer(..., reward_funcs=funcs, args=GRPOConfig(reward_weights=weights, ...))
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence

import jsonschema

from bslm.models.chat import as_spec
from bslm.models.parser import ModelOutput
from bslm.models.tools import ToolCall, ToolSpec, from_openai_call
from bslm.train.config import ConfigError
from bslm.train.data.rules import Rule

Completion = ModelOutput | Sequence[ModelOutput]


def call_validity(call: ToolCall, tools: dict) -> tuple[bool, bool]:
    """(schema_valid, hallucinated): an unknown tool or an unknown parameter is hallucinated."""
    spec = tools.get(call.name)
    if spec is None:
        return False, True
    params = spec.parameters or {}
    props = params.get("properties")
    if isinstance(props, dict) and any(k not in props for k in call.arguments):
        return False, True
    try:
        jsonschema.validate(call.arguments, params)
    except (jsonschema.ValidationError, jsonschema.SchemaError):
        return False, False
    return True, False


def turns(completion: Completion) -> list[ModelOutput]:
    """The model's turns of a completion: one for a single turn, all of an episode.

    >>> len(turns([ModelOutput(["a"]), ModelOutput(["b"])]))
    2
    """
    return [completion] if isinstance(completion, ModelOutput) else list(completion)


def first(completion: Completion) -> ModelOutput:
    """The first turn (an empty, unparsed turn for an empty episode).

    >>> first(ModelOutput(["hi"])).text
    'hi'
    """
    ts = turns(completion)
    return ts[0] if ts else ModelOutput()


def _column(values, n: int) -> list:
    return [None] * n if values is None else list(values)


def _refs(calls) -> list[ToolCall]:
    return [c if isinstance(c, ToolCall) else from_openai_call(c) for c in calls or []]


def _specs(tools) -> dict[str, ToolSpec]:
    return {s.name: s for s in map(as_spec, tools or [])}


def _props(schema) -> dict:
    props = schema.get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def _canon(call: ToolCall) -> str:
    return json.dumps([call.name, call.arguments], sort_keys=True)


def format_reward(completions: list[Completion], **kwargs) -> list[float]:
    """1.0 when every turn parsed and was closed by ``eot``, else 0.0.

    >>> format_reward([ModelOutput(["hi"], ended=True), ModelOutput(["cut sh"])])
    [1.0, 0.0]
    """
    return [
        float(bool(ts := turns(c)) and all(t.error is None and t.ended for t in ts))
        for c in completions
    ]


def tool_name_reward(completions: list[Completion], calls: list, **kwargs) -> list[float | None]:
    """F1 between the called names and the reference names (multisets) of the first turn; 1.0
    when both are empty, 0.0 when only one is; None without a reference (``calls`` None).

    >>> tool_name_reward([ModelOutput([ToolCall("a"), ToolCall("b")])], calls=[[{"name": "a"}]])
    [0.6666666666666666]
    """
    out: list[float | None] = []
    for c, ref in zip(completions, calls, strict=True):
        if ref is None:  # no reference turn (an environment task solved its own way)
            out.append(None)
            continue
        pred = Counter(call.name for call in first(c).calls)
        gold = Counter(call.name for call in _refs(ref))
        if not pred or not gold:
            out.append(float(not pred and not gold))
        else:
            hits = sum((pred & gold).values())
            out.append(2 * hits / (pred.total() + gold.total()))
    return out


def _norm(s: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", s).casefold().split()).rstrip(".").strip()


def _number(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def same_value(a, b, schema: dict | None = None) -> bool:
    """Whether two JSON values mean the same: numbers within a relative 1e-6 (plus 1e-9),
    strings after normalisation (NFKC, casefold, whitespace collapsed, a trailing '.'
    dropped), lists in order unless ``schema`` says ``"uniqueItems": true`` (then as
    multisets), objects key by key (following the schema's ``properties`` and ``items``).

    >>> same_value(3, 3.0), same_value("New York", " new  york."), same_value(3, 3.1)
    (True, True, False)
    >>> same_value([1, 2], [2, 1]), same_value([1, 2], [2, 1], {"uniqueItems": True})
    (False, True)
    """
    schema = schema if isinstance(schema, dict) else {}
    if _number(a) and _number(b):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, str) and isinstance(b, str):
        return _norm(a) == _norm(b)
    if isinstance(a, list) and isinstance(b, list):
        items = schema.get("items")
        if len(a) != len(b):
            return False
        if not schema.get("uniqueItems"):
            return all(same_value(x, y, items) for x, y in zip(a, b, strict=True))
        left = list(b)
        for x in a:
            j = next((j for j, y in enumerate(left) if same_value(x, y, items)), None)
            if j is None:
                return False
            left.pop(j)
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        props = _props(schema)
        return a.keys() == b.keys() and all(same_value(a[k], b[k], props.get(k)) for k in a)
    return type(a) is type(b) and a == b


def _exact(a, b, schema: dict | None = None) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _argument_score(pred: list[ToolCall], ref: list[ToolCall], specs: dict, same) -> float:
    """Matched reference arguments over all the arguments in play: those of the reference,
    the extra ones predicted, and those of unpaired calls on either side. A call without
    arguments counts as one unit, so a missing or extra ``now()`` still weighs."""
    pairs = []
    for i, p in enumerate(pred):
        for j, r in enumerate(ref):
            if p.name != r.name:
                continue
            props = _props(specs[r.name].parameters) if r.name in specs else {}
            if r.arguments or p.arguments:
                args = r.arguments.items()
                m = sum(k in p.arguments and same(p.arguments[k], v, props.get(k)) for k, v in args)
                u = len(r.arguments) + sum(k not in r.arguments for k in p.arguments)
            else:
                m = u = 1
            pairs.append((m / u, m, u, i, j))
    pairs.sort(key=lambda t: (-t[0], -t[1]))
    used_p, used_r, matched, units = set(), set(), 0, 0
    for _, m, u, i, j in pairs:
        if i not in used_p and j not in used_r:
            used_p.add(i)
            used_r.add(j)
            matched, units = matched + m, units + u
    units += sum(max(1, len(p.arguments)) for i, p in enumerate(pred) if i not in used_p)
    units += sum(max(1, len(r.arguments)) for j, r in enumerate(ref) if j not in used_r)
    return matched / units


def _arguments(completions, calls, tools, same) -> list[float | None]:
    out = []
    for c, ref, offered in zip(completions, calls, _column(tools, len(completions)), strict=True):
        gold = _refs(ref)
        out.append(_argument_score(first(c).calls, gold, _specs(offered), same) if gold else None)
    return out


def argument_reward(
    completions: list[Completion], calls: list, tools: list | None = None, **kwargs
) -> list[float | None]:
    """Semantic argument correctness of the first turn (``same_value`` per argument, with the
    parameter schemas from ``tools``). Predicted calls pair with reference calls of the same
    name in any order, best pairs first; the score is the matched reference arguments over the
    reference arguments, the extra predicted ones and those of unpaired calls. None when the
    reference makes no call.

    >>> ref = [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    >>> pred = ModelOutput([ToolCall("get_weather", {"city": "paris", "unit": "C"})])
    >>> argument_reward([pred, pred], calls=[ref, []])
    [0.5, None]
    """
    return _arguments(completions, calls, tools, same_value)


def exact_argument_reward(
    completions: list[Completion], calls: list, tools: list | None = None, **kwargs
) -> list[float | None]:
    """``argument_reward`` with exact JSON equality per argument.

    >>> ref = [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    >>> exact_argument_reward([ModelOutput([ToolCall("get_weather", {"city": "paris"})])], [ref])
    [0.0]
    """
    return _arguments(completions, calls, tools, _exact)


def schema_reward(completions: list[Completion], tools: list, **kwargs) -> list[float | None]:
    """Share of the calls (all turns) that name a tool on offer and whose arguments validate
    against its schema (unknown argument names are invalid); None when no call was made.

    >>> tool = {"type": "function", "function": {"name": "f", "parameters": {
    ...     "type": "object", "properties": {"x": {"type": "integer"}}}}}
    >>> schema_reward([ModelOutput([ToolCall("f", {"x": 1}), ToolCall("g")]), ModelOutput()],
    ...               tools=[[tool], [tool]])
    [0.5, None]
    """
    out = []
    for c, offered in zip(completions, _column(tools, len(completions)), strict=True):
        specs = _specs(offered)
        made = [call for t in turns(c) for call in t.calls]
        valid = sum(call_validity(call, specs)[0] for call in made)
        out.append(valid / len(made) if made else None)
    return out


def irrelevance_reward(completions: list[Completion], calls: list, **kwargs) -> list[float | None]:
    """When the reference makes no call: 1.0 if the first turn made none either, else 0.0;
    None when the reference makes calls or there is none (``calls`` None).

    >>> irrelevance_reward([ModelOutput(["No tool fits."]), ModelOutput([ToolCall("f")])],
    ...                    calls=[[], []])
    [1.0, 0.0]
    """
    return [
        None if ref or ref is None else float(not first(c).calls)
        for c, ref in zip(completions, calls, strict=True)
    ]


def rule_reward(
    completions: list[Completion], rules: list | None = None, **kwargs
) -> list[float | None]:
    """Share of the rules that the final text and all the calls made obey; None without rules.

    >>> rule_reward([ModelOutput(["Sunny."])], rules=[[{"kind": "max_words", "params": {"n": 3}}]])
    [1.0]
    """
    out = []
    for c, rs in zip(completions, _column(rules, len(completions)), strict=True):
        if not rs:
            out.append(None)
            continue
        ts = turns(c)
        text = ts[-1].text if ts else ""
        made = [call for t in ts for call in t.calls]
        checks = [r if isinstance(r, Rule) else Rule.from_dict(r) for r in rs]
        out.append(sum(r.check(text, made) for r in checks) / len(checks))
    return out


def step_scores(turns: list[ModelOutput], errors: list | None = None) -> list[float]:
    """Per-turn scores of an episode: 0.0 for a turn that did not parse; 1.0 for one that
    parsed and ended, repeated no earlier call (same name and arguments) and got no error
    result; 0.5 for the other parsed turns (a call repeated or errored, or cut off).

    >>> call = ToolCall("f", {"x": 1})
    >>> step_scores([ModelOutput([call], ended=True)] * 2 + [ModelOutput(["Done."], ended=True)])
    [1.0, 0.5, 1.0]
    """
    seen: set[str] = set()
    out = []
    for i, t in enumerate(turns):
        errs = errors[i] if errors and i < len(errors) and errors[i] else []
        keys = [_canon(call) for call in t.calls]
        clean = t.ended and not any(errs) and not any(k in seen for k in keys)
        out.append(0.0 if t.error is not None else 1.0 if clean else 0.5)
        seen.update(keys)
    return out


def step_reward(completions: list[Completion], errors: list | None = None, **kwargs) -> list[float]:
    """The mean of ``step_scores`` per episode (no ``errors``: no call errored).

    >>> step_reward([[ModelOutput([ToolCall("f")], ended=True), ModelOutput(["ok"], ended=True)]],
    ...             errors=[[[True], []]])
    [0.75]
    """
    out = []
    for c, errs in zip(completions, _column(errors, len(completions)), strict=True):
        scores = step_scores(turns(c), errs)
        out.append(sum(scores) / len(scores) if scores else 0.0)
    return out


def outcome_reward(completions: list[Completion], score: list, **kwargs) -> list[float | None]:
    """The environment's final score, as is.

    >>> outcome_reward([ModelOutput(), ModelOutput()], score=[0.25, 1])
    [0.25, 1.0]
    """
    return [None if s is None else float(s) for s in score]


REWARDS: dict[str, Callable] = {
    "format": format_reward,
    "tool_name": tool_name_reward,
    "arguments": argument_reward,
    "exact_arguments": exact_argument_reward,
    "schema": schema_reward,
    "irrelevance": irrelevance_reward,
    "rules": rule_reward,
    "steps": step_reward,
    "outcome": outcome_reward,
}


def weighted(names_weights: dict[str, float]) -> tuple[list[Callable], list[float]]:
    """The reward functions and their weights, for ``reward_funcs`` and ``reward_weights``.
    Raises ValueError naming an unknown reward.

    >>> funcs, weights = weighted({"format": 0.5, "arguments": 1})
    >>> [f.__name__ for f in funcs], weights
    (['format_reward', 'argument_reward'], [0.5, 1.0])
    """
    unknown = [n for n in names_weights if n not in REWARDS]
    if unknown:
        raise ConfigError(
            f"unknown reward {unknown[0]!r}: choose among {', '.join(REWARDS)} "
            "(check the rewards of your GRPO config)"
        )
    return [REWARDS[n] for n in names_weights], [float(w) for w in names_weights.values()]
