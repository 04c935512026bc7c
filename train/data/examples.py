"""Builders of curriculum examples, one per kind.

Stage 1 teaches choosing: ``select`` (the right tool among 2-20) and ``none`` (no tool fits,
answer in text). Stage 2 teaches arguments: ``args`` (one or two tools, rich values). Stage 3
is whole conversations: ``single`` (call, result, answer), ``chain`` (a later call takes a
value from an earlier result), ``parallel`` (several calls in one turn), ``irrelevant`` (small
talk or a request no tool serves), ``ask`` (a required detail is missing: ask for it),
``error`` (a failed call: retry or explain) and ``forbidden`` (the rules forbid the tool).
The everyday kinds (small talk, near-duplicate utilities, crowds of 10-40 tools, values that
need knowledge, several requests at once, stopping) come from ``everyday.py``; formula tools
with numbers and lists to copy from ``science.py``.

Each builder takes a ``drafts.Context`` and returns a ``drafts.Draft`` (or raises ``Skip``).
"""

from __future__ import annotations

import json
import re

from . import answers, everyday, prompts, science
from .answers import Style
from .catalog import CatalogTool
from .drafts import Context, Draft, Skip, calls, finish_rules, plain, result_msg, say, user
from .phrasings import typo
from .rules import Rule
from .values import Value

STAGE_KINDS: dict[int, dict[str, float]] = {
    1: {"select": 0.5, "none": 0.12, "chat": 0.13, "similar": 0.12, "crowd": 0.13},
    2: {"args": 0.55, "knowledge": 0.27, "science": 0.18},
    3: {
        "single": 0.16,
        "chain": 0.12,
        "parallel": 0.1,
        "irrelevant": 0.07,
        "ask": 0.09,
        "error": 0.11,
        "forbidden": 0.06,
        "stop": 0.1,
        "multi": 0.1,
        "smalltalk": 0.09,
    },
}
# Kinds built on the utility and science tools, which training shows: not for test_unseen.
SEEN_ONLY = frozenset(everyday.BUILDERS) - {"crowd"} | frozenset(science.BUILDERS)
FALLBACK = {1: "select", 2: "args", 3: "single"}
READERS = (
    "get",
    "search",
    "find",
    "check",
    "list",
    "compare",
    "estimate",
    "track",
    "read",
    "fetch",
    "detect",
    "define",
    "calculate",
    "convert",
    "compute",
    "describe",
    "count",
)
FIXABLE = (
    "city",
    "person",
    "title",
    "product",
    "artist",
    "song",
    "team",
    "dish",
    "company",
    "device",
    "topic",
)
TRANSIENT = [
    "Error 503: service temporarily unavailable, please retry.",
    "Timeout: the upstream service did not respond in time. Try again.",
    "Rate limit exceeded; retry in a moment.",
    "Internal error (code 500). Please try again.",
]
FATAL = [
    "Permission denied: your account cannot perform this action.",
    "Quota exceeded for this month.",
    "The service is under maintenance until tomorrow.",
    "Authentication expired: please sign in again in the app.",
]


# --- stage 1 and 2 --------------------------------------------------------------------------------


def build_select(ctx: Context) -> Draft:
    gold = ctx.tool()
    shown = ctx.candidates([gold], ctx.rng.randint(2, 20))
    args = ctx.args(gold, 0.25)
    rules = ctx.rules(False, [gold], shown, n=1 if ctx.think(0.15) else 0)
    why = prompts.reason_call(ctx.rng, gold, args) if ctx.think(0.15) else None
    messages = [user(ctx.request(gold, args)), calls([(gold, args)], why)]
    return Draft(
        "select",
        gold.domain,
        shown,
        messages,
        finish_rules(ctx.rng, rules, messages),
    )


def _decline(ctx: Context, kind: str, n_tools: tuple[int, int]) -> Draft:
    """A request for a tool that is not there; the assistant says so (or small talk)."""
    rng = ctx.rng
    target = ctx.tool()
    shown = ctx.candidates([], rng.randint(*n_tools), avoid_family=target.domain)
    rules = ctx.rules(True, [], shown) if ctx.stage == 3 else []
    style = Style.of(rules)
    why = prompts.reason_none(rng) if ctx.think(0.3) else None
    if kind == "irrelevant" and style.language == "English" and rng.random() < 0.5:
        question, text = answers.say_small_talk(style, rng)
        messages = [user(question), say(text, why)]
        return Draft(kind, shown[0].domain, shown, messages, finish_rules(rng, rules, messages))
    text = answers.say(style, rng, "none")
    messages = [user(ctx.request(target, ctx.args(target))), say(text, why)]
    return Draft(kind, target.domain, shown, messages, finish_rules(rng, rules, messages))


def build_none(ctx: Context) -> Draft:
    return _decline(ctx, "none", (2, 20))


def build_args(ctx: Context) -> Draft:
    gold = ctx.tool()
    siblings = [t for t in ctx.pool.by_domain[gold.domain] if t is not gold]
    shown = [gold] + ([ctx.rng.choice(siblings)] if siblings and ctx.think(0.5) else [])
    ctx.rng.shuffle(shown)
    args = ctx.args(gold, 0.6)
    why = prompts.reason_call(ctx.rng, gold, args) if ctx.think(0.3) else None
    rules = ctx.rules(False, [gold], shown, n=1 if ctx.think(0.1) else 0)
    messages = [user(ctx.request(gold, args)), calls([(gold, args)], why)]
    return Draft(
        "args",
        gold.domain,
        shown,
        messages,
        finish_rules(ctx.rng, rules, messages),
    )


# --- stage 3 ---------------------------------------------------------------------------------------


def _exchange(ctx: Context, tool: CatalogTool, style: Style, args=None) -> list[dict]:
    """One request, its call, the result and the answer."""
    rng = ctx.rng
    args = args if args is not None else ctx.args(tool)
    result = tool.fake_result(rng, plain(args), ctx.today)
    why = prompts.reason_call(rng, tool, args) if ctx.think() else None
    label = tool.label.name if tool.label else None
    text = answers.say_result(style, rng, [result], tool.op, tool.group, label)
    return [
        user(ctx.request(tool, args)),
        calls([(tool, args)], why),
        result_msg(rng, tool, result),
        say(text),
    ]


def _history(ctx: Context, shown: list[CatalogTool], rules: list[Rule]) -> list[dict]:
    """Now and then an earlier, finished exchange with one of the tools the rules allow."""
    banned = {r.params["tool"] for r in rules if r.kind == "must_not_use"}
    allowed = [t for t in shown if t.name not in banned]
    if not allowed or not ctx.think(0.15):
        return []
    return _exchange(ctx, ctx.rng.choice(allowed), Style.of(rules))


def build_single(ctx: Context) -> Draft:
    gold = ctx.tool()
    shown = ctx.candidates([gold], ctx.rng.randint(1, 8))
    rules = ctx.rules(True, [gold], shown)
    style = Style.of(rules)
    messages = _history(ctx, shown, rules) + _exchange(ctx, gold, style)
    return Draft("single", gold.domain, shown, messages, finish_rules(ctx.rng, rules, messages))


def build_parallel(ctx: Context) -> Draft:
    rng = ctx.rng
    same = rng.random() < 0.5  # the same lookup for several values, or two tasks
    first = ctx.tool([t for t in ctx.pool.tools if _looks_up(t)] if same else None)
    pairs = [(first, ctx.args(first, 0.2))]
    varied = None
    if same:
        varied, more = _vary(ctx, first, pairs[0][1], rng.choice([1, 1, 2]))
        pairs += [(first, a) for a in more]
    else:
        other = ctx.tool(
            [t for t in ctx.pool.tools if t is not first and t.op in ("action", "get", "list")]
        )
        pairs.append((other, ctx.args(other, 0.2)))
    if len({json.dumps(plain(a), sort_keys=True) + t.name for t, a in pairs}) < len(pairs):
        raise Skip("parallel calls came out the same")
    tools = list({t.name: t for t, _ in pairs}.values())
    shown = ctx.candidates(tools, len(tools) + rng.randint(0, 5))
    rules = ctx.rules(True, tools, shown)
    style = Style.of(rules)
    try:
        if varied and rng.random() < 0.6:  # "the weather in Paris and Rome": one request
            said = " and ".join(
                [", ".join(a[varied].text for _, a in pairs[:-1]), pairs[-1][1][varied].text]
            )
            text = ctx.pb.core(rng, first, {**pairs[0][1], varied: Value(None, said)})
        else:
            cores = [ctx.pb.core(rng, t, a) for t, a in pairs]
            text = cores[0]
            for core in cores[1:]:
                text = ctx.pb.join(rng, "parallel", text, core)
    except ValueError as e:
        raise Skip(str(e)) from None
    text = ctx.pb.wrap(rng, text)
    results = [t.fake_result(rng, plain(a), ctx.today) for t, a in pairs]
    why = prompts.reason_parallel(rng, [t for t, _ in pairs]) if ctx.think() else None
    messages = _history(ctx, shown, rules) + [user(text), calls(pairs, why)]
    messages += [result_msg(rng, t, r) for (t, _), r in zip(pairs, results, strict=True)]
    messages.append(say(answers.say_result(style, rng, results)))
    return Draft("parallel", first.domain, shown, messages, finish_rules(rng, rules, messages))


def _looks_up(tool: CatalogTool) -> bool:
    """Whether a tool only reads (so calling it for several values at once makes sense)."""
    if tool.op != "action":
        return tool.op in ("get", "list", "search")
    return tool.group.split("_")[0] in READERS


def _vary(ctx: Context, tool: CatalogTool, args: dict[str, Value], n: int) -> tuple[str, list]:
    """``n`` more calls that differ from ``args`` in one required argument (not an ID, flag or
    choice; each call its own value); returns that argument's name and the calls' arguments."""
    free = [
        p
        for p in tool.params
        if p.required
        and p.name in args
        and not p.field.options
        and not p.field.type.startswith("id:")
        and p.field.type not in ("flag", "message")
    ]
    if not free:
        raise Skip(f"{tool.name} has nothing to vary")
    p = ctx.rng.choice(free)
    seen, out = [json.dumps(args[p.name].value)], []
    for _ in range(10 * n):
        v = tool.sample_value(p, ctx.rng, ctx.today)
        if json.dumps(v.value) not in seen:
            seen.append(json.dumps(v.value))
            out.append({**args, p.name: v})
            if len(out) == n:
                return p.name, out
    raise Skip("no other value")


def build_chain(ctx: Context) -> Draft:
    rng = ctx.rng
    entity = rng.random() < 0.55
    options = ctx.pool.entity_chains if entity else ctx.pool.list_chains
    if not options:
        raise Skip("no chain in this pool")
    chosen = rng.choice(options)
    first, second = chosen[0], chosen[1]
    id_param = (
        chosen[2]
        if not entity
        else next(p for p in second.params if p.field.type == f"id:{second.group}")
    )
    args_a = ctx.args(first, 0.2)
    result_a = first.fake_result(rng, plain(args_a), ctx.today)
    ident, how, label = _pick(ctx, first, args_a, result_a)
    args_b = ctx.args(second, 0.3, omit=(id_param.name,))
    try:
        core_a = ctx.pb.core(rng, first, args_a)
        if entity and how == "it":
            intent = rng.choice(ctx.pb.pronoun_intents(second.op))
            core_b = ctx.pb.core(rng, second, args_b, intent=intent)
        elif entity:
            noun, _ = ctx.pb.pick(rng, how, label)
            intents = [i for i in ctx.pb.pronoun_intents(second.op) if re.search(r"\bit\b", i)]
            intent = re.sub(r"\bit\b", noun, rng.choice(intents))
            core_b = ctx.pb.core(rng, second, args_b, intent=intent)
        else:
            core_b = ctx.pb.core(
                rng, second, args_b, refs={id_param.name: ctx.pb.pick(rng, how, label)}
            )
    except ValueError as e:
        raise Skip(str(e)) from None
    full_b = {**args_b, id_param.name: Value(ident, ident)}
    full_b = {p.name: full_b[p.name] for p in second.params if p.name in full_b}
    result_b = second.fake_result(rng, plain(full_b), ctx.today)
    shown = ctx.candidates([first, second], rng.randint(2, 8))
    rules = ctx.rules(True, [first, second], shown)
    style = Style.of(rules)
    need = id_param.field.noun.replace(" id", " ID")
    think = ctx.think()
    messages = [
        user(ctx.pb.wrap(rng, ctx.pb.join(rng, "chain", core_a, core_b))),
        calls(
            [(first, args_a)],
            prompts.reason_chain_first(rng, first, second, need) if think else None,
        ),
        result_msg(rng, first, result_a),
        calls(
            [(second, full_b)],
            prompts.reason_chain_next(rng, second, need, ident) if think else None,
        ),
        result_msg(rng, second, result_b),
    ]
    label = second.label.name if second.label else None
    messages.append(say(answers.say_result(style, rng, [result_b], second.op, second.group, label)))
    return Draft("chain", first.domain, shown, messages, finish_rules(rng, rules, messages))


def _pick(ctx: Context, first: CatalogTool, args: dict, result) -> tuple[str, str, str]:
    """The ID the second call needs from the first result, how the user points at it
    ("it", "first", "cheapest" or "match") and the label of the item."""
    rng = ctx.rng
    if first.op == "create":
        return result["id"], "it", ""
    items = result["items"] if isinstance(result, dict) else result
    if not isinstance(items, list) or not items:
        raise Skip("no items to pick from")
    id_key = next(k for k in items[0] if k == "id" or k.endswith("_id"))
    label_key = (
        first.label.name if first.label else next((k for k in items[0] if k != id_key), id_key)
    )
    if first.op == "search":  # the user named the item: the search query
        query = next(args[p.name].value for p in first.params if p.field.name == "query")
        match = next(x for x in items if x.get(label_key) == query)
        return match[id_key], "it", ""
    prices = [k for k in items[0] if k in ("price", "price_per_night", "total")]
    options = (
        ["first"] + (["cheapest"] if prices else []) + (["match"] if first.op == "list" else [])
    )
    how = rng.choice(options)
    best = items[0]
    if how == "cheapest":
        best = min(items, key=lambda x: x[prices[0]])
        if sum(x[prices[0]] == best[prices[0]] for x in items) > 1:
            how, best = "first", items[0]
    elif how == "match":
        best = rng.choice(items)
        if sum(x.get(label_key) == best.get(label_key) for x in items) > 1:
            how, best = "first", items[0]
    return best[id_key], how, str(best.get(label_key, ""))


def build_irrelevant(ctx: Context) -> Draft:
    return _decline(ctx, "irrelevant", (1, 8))


def build_ask(ctx: Context) -> Draft:
    rng = ctx.rng
    gold = ctx.tool()
    missing = [p for p in gold.params if p.required and p.field.type != "flag"]
    if not missing:
        raise Skip(f"{gold.name} needs nothing")
    p = rng.choice(missing)
    args = ctx.args(gold, 0.3)
    partial = {k: v for k, v in args.items() if k != p.name}
    shown = ctx.candidates([gold], rng.randint(1, 6))
    go_on = rng.random() < 0.6
    rules = ctx.rules(True, [gold] if go_on else [], shown)
    style = Style.of(rules)
    why = prompts.reason_ask(rng, gold, p.field.noun) if ctx.think() else None
    messages = [
        user(ctx.request(gold, partial)),
        say(answers.say(style, rng, "ask", noun=p.field.noun), why),
    ]
    if go_on:
        result = gold.fake_result(rng, plain(args), ctx.today)
        messages += [
            user(ctx.pb.ask_reply(rng, args[p.name])),
            calls([(gold, args)]),
            result_msg(rng, gold, result),
        ]
        label = gold.label.name if gold.label else None
        messages.append(say(answers.say_result(style, rng, [result], gold.op, gold.group, label)))
    return Draft("ask", gold.domain, shown, messages, finish_rules(rng, rules, messages))


def build_error(ctx: Context) -> Draft:
    rng = ctx.rng
    how = rng.choice(["transient", "fixable", "fatal"])
    tools = ctx.pool.tools
    if how == "fixable":
        tools = [
            t
            for t in tools
            if t.op == "action" and any(p.required and p.field.type in FIXABLE for p in t.params)
        ]
    gold = ctx.tool(tools)
    args = ctx.args(gold, 0.3)
    shown = ctx.candidates([gold], rng.randint(1, 6))
    rules = ctx.rules(True, [gold], shown)
    style = Style.of(rules)
    think = ctx.think()
    first = args
    if how == "fixable":
        p = rng.choice([p for p in gold.params if p.required and p.field.type in FIXABLE])
        good = args[p.name].value
        bad = typo(rng, good)
        if bad == good or len(good) < 4:
            raise Skip("no typo")
        first = {**args, p.name: Value(bad, bad)}
        errors = [
            f"Unknown {p.field.noun} '{bad}'. Did you mean '{good}'?",
            f"'{bad}' was not found. Did you mean '{good}'?",
        ]
        if p.field.noun != "name":
            errors.append(f"No {p.field.noun} named '{bad}' found. Did you mean '{good}'?")
        error = rng.choice(errors)
    else:
        error = rng.choice(TRANSIENT if how == "transient" else FATAL)
    why = prompts.reason_call(rng, gold, first) if think else None
    messages = [
        user(ctx.request(gold, first)),
        calls([(gold, first)], why),
        result_msg(rng, gold, error, True),
    ]
    if how == "fatal":
        messages.append(say(answers.say(style, rng, "error", error=error.rstrip("."))))
    else:
        retry = (
            prompts.reason_retry(rng, "transient" if how == "transient" else f"'{good}'")
            if think
            else None
        )
        result = gold.fake_result(rng, plain(args), ctx.today)
        label = gold.label.name if gold.label else None
        messages += [
            calls([(gold, args)], retry),
            result_msg(rng, gold, result),
            say(answers.say_result(style, rng, [result], gold.op, gold.group, label)),
        ]
    return Draft("error", gold.domain, shown, messages, finish_rules(rng, rules, messages))


def build_forbidden(ctx: Context) -> Draft:
    rng = ctx.rng
    if "must_not_use" not in ctx.allowed_rules:
        raise Skip("tool rules are off")
    gold = ctx.tool()
    shown = ctx.candidates([gold], rng.randint(1, 6))
    others = ctx.rules(True, [], [t for t in shown if t is not gold], n=rng.choice([0, 0, 1]))
    rules = [Rule("must_not_use", {"tool": gold.name})] + [
        r for r in others if r.kind not in ("must_use", "must_not_use")
    ]
    style = Style.of(rules)
    why = prompts.reason_forbidden(rng, gold.name) if ctx.think() else None
    text = answers.say(style, rng, "forbidden", tool=gold.name)
    messages = [user(ctx.request(gold, ctx.args(gold))), say(text, why)]
    return Draft("forbidden", gold.domain, shown, messages, finish_rules(rng, rules, messages))


BUILDERS = {
    **everyday.BUILDERS,
    **science.BUILDERS,
    "select": build_select,
    "none": build_none,
    "args": build_args,
    "single": build_single,
    "chain": build_chain,
    "parallel": build_parallel,
    "irrelevant": build_irrelevant,
    "ask": build_ask,
    "error": build_error,
    "forbidden": build_forbidden,
}
