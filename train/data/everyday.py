"""Builders of everyday examples with the utility tools (``utilities.py``) and small talk
(``chitchat.py``): what a new user types first.

Stage 1: ``chat`` (small talk, knowledge or creative requests with tools on offer, some that
look related: answer in text, no call), ``similar`` (the right one among near-duplicate tools:
clock, time-zone conversion, calculator, units, day counts, currency) and ``crowd`` (one call
among 10-40 candidate tools). Stage 2: ``knowledge`` (values that need knowledge: a city's IANA
zone, unit symbols, an expression, an ISO date, a currency code; descriptions show example
values the user never asked for). Stage 3: ``stop`` (call, result, answer from the result, then
thanks or small talk: no further call), ``multi`` (several independent requests in one message:
that many calls in one turn) and ``smalltalk`` (a conversation mixing small talk and calls).
"""

from __future__ import annotations

from . import answers, chitchat, prompts
from .answers import Style
from .drafts import Context, Draft, Skip, calls, finish_rules, plain, say, user
from .utilities import FAMILIES, UtilityTool, call_args, draw_request, fake_result, server
from .values import Value

ABILITIES = {
    "now": "telling the time anywhere",
    "convert_time": "converting times between zones",
    "calc": "calculations",
    "units": "unit conversions",
    "days": "counting days between dates",
    "currency": "currency conversion",
}
JOINS = [
    "{a} Also, {b}",
    "{a} And {b}",
    "{a}, and {b}",
    "{a}; {b}",
    "{a} Plus: {b}",
    "{a}\n{b}",
    "{a} Then {b}",
]


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text


def _utility_shown(ctx: Context, families: tuple[str, ...] | None = None) -> dict[str, UtilityTool]:
    rng = ctx.rng
    fams = families or tuple(f for f in FAMILIES if rng.random() < 0.7) or ("now",)
    return server(rng, fams)


def _extra(ctx: Context, utils: dict[str, UtilityTool], n: int) -> list:
    """Catalog tools as distractors, none named like a utility."""
    names = {t.name for t in utils.values()}
    return [t for t in ctx.candidates([], max(0, n)) if t.name not in names]


def _request(ctx: Context, tool: UtilityTool) -> tuple[str, dict[str, Value]]:
    try:
        return draw_request(ctx.rng, tool, ctx.today, ctx.pb.held_out)
    except ValueError as e:
        raise Skip(str(e)) from None


def _why(ctx: Context, tool: UtilityTool, args: dict[str, Value], p: float) -> str | None:
    if not ctx.think(p):
        return None
    notes = prompts.conversions(args)
    head = ctx.rng.choice(
        [
            f"{tool.name} fits this request.",
            f"This needs {tool.name}.",
            f"The user wants {ABILITIES[tool.family]}: {tool.name}.",
        ]
    )
    return head + (" " + "; ".join(notes) + "." if notes else "")


def _abilities(tools: dict[str, UtilityTool], ctx: Context) -> str:
    names = [ABILITIES[f] for f in tools]
    ctx.rng.shuffle(names)
    names = names[:3] or ["questions and everyday tasks"]
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def _english_rules(ctx: Context, called: list, shown: list) -> list:
    ctx.allowed_rules.discard("language")  # these answers are written in English
    return ctx.rules(True, called, shown) if ctx.stage == 3 else []


def build_chat(ctx: Context) -> Draft:
    rng = ctx.rng
    utils = _utility_shown(ctx)
    extra = _extra(ctx, utils, rng.randint(0, 6)) if rng.random() < 0.6 else []
    shown = list(utils.values()) + extra
    rng.shuffle(shown)
    rules = _english_rules(ctx, [], shown)
    _, question, text = chitchat.draw(rng, ctx.pb.held_out, _abilities(utils, ctx))
    why = prompts.reason_none(rng) if ctx.think(0.2) else None
    messages = [user(question), say(answers.shape(Style.of(rules), text, rng=rng), why)]
    return Draft("chat", "chat", shown, messages, finish_rules(rng, rules, messages))


def build_similar(ctx: Context) -> Draft:
    rng = ctx.rng
    utils = _utility_shown(ctx, tuple(f for f in FAMILIES if rng.random() < 0.8) or FAMILIES[:3])
    if len(utils) < 2:
        raise Skip("one tool is no choice")
    gold = rng.choice(list(utils.values()))
    text, by_role = _request(ctx, gold)
    args = call_args(gold, by_role)
    shown = list(utils.values()) + _extra(ctx, utils, rng.randint(0, 4))
    rng.shuffle(shown)
    return Draft(
        "similar",
        "utilities",
        shown,
        [user(text), calls([(gold, args)], _why(ctx, gold, args, 0.2))],
    )


def build_crowd(ctx: Context) -> Draft:
    rng = ctx.rng
    n = rng.randint(10, 40)
    if rng.random() < 0.5 and not ctx.pool.held_out:
        utils = _utility_shown(ctx)
        gold = rng.choice(list(utils.values()))
        text, by_role = _request(ctx, gold)
        args = call_args(gold, by_role)
        shown = list(utils.values()) + _extra(ctx, utils, n - len(utils))
        rng.shuffle(shown)
        domain = "utilities"
    else:
        gold = ctx.tool()
        args = ctx.args(gold, 0.25)
        text = ctx.request(gold, args)
        shown = ctx.candidates([gold], n)
        domain = gold.domain
    return Draft("crowd", domain, shown, [user(text), calls([(gold, args)])])


def build_knowledge(ctx: Context) -> Draft:
    rng = ctx.rng
    fam = rng.choice(FAMILIES)
    utils = server(
        rng,
        (fam,) + ((rng.choice([f for f in FAMILIES if f != fam]),) if rng.random() < 0.4 else ()),
    )
    gold = utils[fam]
    text, by_role = _request(ctx, gold)
    args = call_args(gold, by_role)
    shown = list(utils.values())
    rng.shuffle(shown)
    return Draft(
        "knowledge",
        "utilities",
        shown,
        [user(text), calls([(gold, args)], _why(ctx, gold, args, 0.35))],
    )


# --- stage 3 ---------------------------------------------------------------------------------


def say_result(tool: UtilityTool, by_role: dict[str, Value], result: dict) -> str:
    """A short answer from a utility's result."""
    fam = tool.family
    if fam == "now":
        return f"It's {result['datetime'][11:16]} on {result['weekday']} in {by_role['zone'].text}."
    if fam == "convert_time":
        return f"{by_role['time'].text} in {by_role['source'].text} is {result['target_time']} in {by_role['target'].text}."
    if fam == "calc":
        return f"{by_role['expression'].text} = {result['result']}."
    if fam == "units":
        return f"{by_role['value'].text} {by_role['from'].text} is {result['value']} {by_role['to'].text}."
    if fam == "days":
        return f"{result['days']} day{'' if abs(result['days']) == 1 else 's'} ({result['weeks']} weeks)."
    return f"{by_role['amount'].text} {by_role['from'].text} is about {result['amount']} {result['currency']}."


def _exchange(ctx: Context, utils: dict[str, UtilityTool], style: Style) -> list[dict]:
    rng = ctx.rng
    gold = rng.choice(list(utils.values()))
    text, by_role = _request(ctx, gold)
    args = call_args(gold, by_role)
    result = fake_result(rng, gold, by_role, ctx.today)
    return [
        user(text),
        calls([(gold, args)], _why(ctx, gold, args, ctx.reasoning)),
        {"role": "tool", "name": gold.name, "content": _json(result)},
        say(answers.shape(style, _capital(say_result(gold, by_role, result)), rng=rng)),
    ]


def _json(result: dict) -> str:
    import json

    return json.dumps(result, ensure_ascii=False)


def _capital(text: str) -> str:
    return text[0].upper() + text[1:] if text else text


def build_stop(ctx: Context) -> Draft:
    rng = ctx.rng
    utils = _utility_shown(ctx)
    shown = list(utils.values()) + _extra(ctx, utils, rng.randint(0, 5))
    rng.shuffle(shown)
    rules = [r for r in _english_rules(ctx, [], shown) if r.kind != "must_not_use"]
    style = Style.of(rules)
    messages = _exchange(ctx, utils, style)
    if rng.random() < 0.35:
        messages += _exchange(ctx, utils, style)
    if rng.random() < 0.7:
        _, q, a = chitchat.draw(
            rng,
            ctx.pb.held_out,
            kind=rng.choice(["thanks", "thanks", "fact", "joke", "how_are_you"]),
        )
        messages += [user(q), say(answers.shape(style, a, rng=rng))]
    return Draft("stop", "utilities", shown, messages, finish_rules(rng, rules, messages))


def build_multi(ctx: Context) -> Draft:
    rng = ctx.rng
    utils = _utility_shown(ctx)
    n = rng.choice([2, 2, 3, 3, 4])
    same = rng.random() < 0.4
    pool = (
        [rng.choice(list(utils.values()))] * n
        if same
        else [rng.choice(list(utils.values())) for _ in range(n)]
    )
    pairs, texts, said = [], [], set()
    for tool in pool:
        text, by_role = _request(ctx, tool)
        args = call_args(tool, by_role)
        key = tool.name + repr(plain(args))
        if key in said:
            raise Skip("the same request twice")
        said.add(key)
        pairs.append((tool, args, by_role))
        texts.append(text)
    joined = texts[0]
    for t in texts[1:]:
        joined = rng.choice(JOINS).format(a=joined, b=_lower_first(t) if rng.random() < 0.5 else t)
    shown = list(utils.values()) + _extra(ctx, utils, rng.randint(0, 6))
    rng.shuffle(shown)
    rules = [r for r in _english_rules(ctx, [], shown) if r.kind != "must_not_use"]
    style = Style.of(rules)
    names = [t.name for t, _, _ in pairs]
    why = None
    if ctx.think():
        why = rng.choice(
            [
                f"{n} independent requests, so {n} calls at once: {', '.join(names)}.",
                f"The user asks {n} separate things; I'll make all {n} calls together.",
            ]
        )
    messages = [user(joined), calls([(t, a) for t, a, _ in pairs], why)]
    lines = []
    for tool, _, by_role in pairs:
        result = fake_result(rng, tool, by_role, ctx.today)
        messages.append({"role": "tool", "name": tool.name, "content": _json(result)})
        lines.append(_capital(say_result(tool, by_role, result)))
    messages.append(say(answers.shape(style, " ".join(lines), lines=lines, rng=rng)))
    return Draft("multi", "utilities", shown, messages, finish_rules(rng, rules, messages))


def build_smalltalk(ctx: Context) -> Draft:
    rng = ctx.rng
    utils = _utility_shown(ctx)
    shown = list(utils.values()) + _extra(ctx, utils, rng.randint(0, 4))
    rng.shuffle(shown)
    rules = [r for r in _english_rules(ctx, [], shown) if r.kind != "must_not_use"]
    style = Style.of(rules)
    _, q, a = chitchat.draw(
        rng, ctx.pb.held_out, _abilities(utils, ctx), rng.choice(["greeting", "who", "how_are_you"])
    )
    messages = [user(q), say(answers.shape(style, a, rng=rng))]
    messages += _exchange(ctx, utils, style)
    _, q, a = chitchat.draw(rng, ctx.pb.held_out, _abilities(utils, ctx))
    messages += [user(q), say(answers.shape(style, a, rng=rng))]
    return Draft("smalltalk", "utilities", shown, messages, finish_rules(rng, rules, messages))


BUILDERS = {
    "chat": build_chat,
    "similar": build_similar,
    "crowd": build_crowd,
    "knowledge": build_knowledge,
    "stop": build_stop,
    "multi": build_multi,
    "smalltalk": build_smalltalk,
}
