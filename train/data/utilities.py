"""Everyday utility tools (clock, time-zone conversion, calculator, units, day counts,
currency) in many names and description styles, and the requests that use them.

These are the tools a local assistant meets first, and the ones whose values need knowledge
rather than copying: a city becomes an IANA zone, "miles" becomes ``mi``, "15% of 240" an
expression, "next Friday" an ISO date. Their descriptions often carry example values
("e.g. 'Europe/Paris'"); the drawn request never asks for the example, so a model that copies
it is wrong. A ``UtilityTool`` knows which parameter plays which role and which example values
its description shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from random import Random

from bslm.models.tools import ToolSpec, to_openai_tool

from .knowledge import (
    CITY_ZONES,
    UNIT_LONG,
    UNIT_WORDS,
    convert_unit,
    say_currency,
    say_date,
    say_expression,
    say_unit,
)
from .phrasings import split_phrases
from .values import WEEKDAYS, Value, say_int, say_time

FAMILIES = ("now", "convert_time", "calc", "units", "days", "currency")
EXAMPLE_ZONES = [
    "Europe/Paris",
    "America/New_York",
    "Europe/London",
    "Asia/Tokyo",
    "UTC",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Europe/Berlin",
]
NAMES = {
    "now": [
        ["current", "time"],
        ["get", "current", "time"],
        ["get", "time"],
        ["time", "now"],
        ["world", "clock"],
        ["local", "time"],
        ["what", "time"],
        ["now"],
    ],
    "convert_time": [
        ["convert", "time"],
        ["time", "zone", "convert"],
        ["convert", "timezone"],
        ["translate", "time"],
        ["shift", "time"],
    ],
    "calc": [
        ["calculate"],
        ["calculator"],
        ["evaluate", "expression"],
        ["compute"],
        ["eval", "math"],
        ["math", "eval"],
        ["arithmetic"],
    ],
    "units": [
        ["convert", "units"],
        ["unit", "converter"],
        ["convert", "unit"],
        ["units", "convert"],
        ["measure", "convert"],
    ],
    "days": [
        ["days", "between"],
        ["date", "diff"],
        ["count", "days"],
        ["days", "until"],
        ["date", "difference"],
    ],
    "currency": [
        ["convert", "currency"],
        ["currency", "converter"],
        ["fx", "convert"],
        ["exchange", "money"],
    ],
}
PREFIXES = {
    "now": "clock",
    "convert_time": "clock",
    "calc": "math",
    "units": "units",
    "days": "calendar",
    "currency": "money",
}
DESCRIPTIONS = {
    "now": [
        "The current date and time in a time zone.",
        "Get current time in a specific timezone.",
        "Returns the current local time for a time zone.",
        "What time it is now, anywhere.",
    ],
    "convert_time": [
        "Convert a time of day from one time zone to another.",
        "Convert time between timezones.",
        "Translate a clock time into another zone.",
    ],
    "calc": [
        "Evaluate an arithmetic expression exactly.",
        "Calculator: evaluates a math expression.",
        "Compute the value of a mathematical expression: + - * / ** and sqrt.",
    ],
    "units": [
        "Convert an amount between units of length, mass, volume, speed or temperature.",
        "Unit conversion.",
        "Converts a value from one unit to another of the same quantity.",
    ],
    "days": [
        "Days from one date to another; negative when the end comes first.",
        "Number of days between two dates.",
        "Count the days separating two calendar dates.",
    ],
    "currency": [
        "Convert an amount of money between currencies at today's rate.",
        "Currency conversion using live exchange rates.",
    ],
}
ZONE_DESCS = [
    "IANA time zone, e.g. '{a}'",
    "IANA timezone name (e.g., '{a}', '{b}')",
    "Time zone in tz database format, such as {a}",
    'Olson time zone ID, for example "{a}"',
    "The time zone (IANA), like {a} or {b}",
    "Time zone name. Example: {a}",
]
TIME_DESCS = [
    "Time of day, 24-hour 'HH:MM'",
    "Time to convert in 24-hour format (HH:MM)",
    "Clock time, e.g. '{t}'",
    "Time as HH:MM (24h), for example {t}",
]
EXPR_DESCS = [
    "Arithmetic, e.g. '(17.5 * 3) / 4', '2**10', 'sqrt(2) * pi'",
    "Math expression to evaluate, such as '2 + 2'",
    "Expression using + - * / ** ( ) and sqrt(), e.g. '{e}'",
    "The expression, like {e}",
]
DATE_DESCS = [
    "{w} date, 'YYYY-MM-DD'",
    "{w} date in ISO format (e.g. {d})",
    "{w} date as YYYY-MM-DD",
]
CURRENCY_DESCS = [
    "ISO 4217 code, e.g. '{c}'",
    "Three-letter currency code such as {c}",
    "Currency code (like {c} or {c2})",
]
UNIT_DESCS = ["Unit symbol, e.g. '{u}'", "Unit of measure such as {u}", "Unit (for example '{u}')"]


@dataclass(frozen=True, eq=False)
class UtilityTool:
    spec: ToolSpec
    family: str
    roles: dict[str, str]  # role -> parameter name
    examples: tuple[str, ...] = ()  # values the description shows as examples
    domain: str = "utilities"
    units: str = "symbol"  # symbol, long or free: how the unit parameters spell units

    @property
    def name(self) -> str:
        return self.spec.name

    def openai(self) -> dict:
        return to_openai_tool(self.spec)


def styled(words: list[str], style: str, prefix: str) -> str:
    if style == "camel":
        return words[0] + "".join(w.title() for w in words[1:])
    if style == "dotted":
        return f"{prefix}.{'_'.join(words)}"
    return "_".join(words)


def _pname(name: str, style: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(p.title() for p in parts[1:]) if style == "camel" else name


@dataclass
class _Builder:
    rng: Random
    style: str
    props: dict = field(default_factory=dict)
    required: list = field(default_factory=list)
    roles: dict = field(default_factory=dict)
    examples: list = field(default_factory=list)

    def add(self, role: str, names: list[str], schema: dict, required: bool = True) -> None:
        name = _pname(self.rng.choice(names), self.style)
        self.props[name] = schema
        self.roles[role] = name
        if required:
            self.required.append(name)


def make_tool(rng: Random, family: str, style: str) -> UtilityTool:
    """One tool of a family, its names and descriptions drawn."""
    b = _Builder(rng, style)
    zones = rng.sample(EXAMPLE_ZONES, 2)

    def zone_desc(extra: str = "") -> str:
        b.examples.extend(zones)
        return rng.choice(ZONE_DESCS).format(a=zones[0], b=zones[1]) + extra

    if family == "now":
        b.add(
            "zone",
            ["timezone", "tz", "time_zone", "zone"],
            {
                "type": "string",
                "description": zone_desc(
                    rng.choice(["", "; omitted: the computer's own zone", ". Defaults to UTC."])
                ),
            },
            required=rng.random() < 0.6,
        )
    elif family == "convert_time":
        t = f"{rng.randint(0, 23):02d}:{rng.choice(['00', '15', '30', '45'])}"
        desc = rng.choice(TIME_DESCS).format(t=t)
        b.examples += [t] if t in desc else []
        b.add(
            "time", ["time", "time_of_day", "clock_time"], {"type": "string", "description": desc}
        )
        for role, names in [
            ("source", ["source_timezone", "from_tz", "from_zone", "source_tz"]),
            ("target", ["target_timezone", "to_tz", "to_zone", "target_tz"]),
        ]:
            desc = zone_desc()
            b.add(
                role,
                names,
                {"type": "string", "description": f"{role.title()} {desc[0].lower()}{desc[1:]}"},
            )
    elif family == "calc":
        e = rng.choice(["2 + 2", "3 * (4 + 5)", "10 / 4", "2 ** 8"])
        desc = rng.choice(EXPR_DESCS).format(e=e)
        b.examples += [e, "(17.5 * 3) / 4", "2**10", "sqrt(2) * pi", "2 + 2"]
        b.add(
            "expression",
            ["expression", "expr", "formula", "input"],
            {"type": "string", "description": desc},
        )
    elif family == "units":
        units = rng.choice(["symbol", "symbol", "long", "free"])
        b.add(
            "value",
            ["value", "amount", "quantity"],
            {"type": "number", "description": "The amount to convert"},
        )
        for role, names, what in [
            ("from", ["from_unit", "source_unit", "unit_from"], "Unit of the amount"),
            ("to", ["to_unit", "target_unit", "unit_to"], "Unit to convert to"),
        ]:
            if units == "free":
                u = rng.choice(["km", "kg", "ml", "ft", "lb"])
                b.examples.append(u)
                schema = {
                    "type": "string",
                    "description": f"{what}. " + rng.choice(UNIT_DESCS).format(u=u),
                }
            else:
                enum = (
                    list(UNIT_WORDS)
                    if units == "symbol"
                    else list(dict.fromkeys(UNIT_LONG.values()))
                )
                schema = {"type": "string", "enum": enum, "description": what}
            b.add(role, names, schema)
        tool = _finish(b, family)
        return UtilityTool(tool.spec, family, tool.roles, tool.examples, units=units)
    elif family == "days":
        d = rng.choice(["2025-03-14", "2024-01-01", "2026-07-04"])
        for role, names, w in [
            ("start", ["start", "start_date", "from_date"], "First"),
            ("end", ["end", "end_date", "to_date"], "Second"),
        ]:
            desc = rng.choice(DATE_DESCS).format(w=w, d=d)
            b.examples += [d] if d in desc else []
            b.add(role, names, {"type": "string", "description": desc})
    elif family == "currency":
        c = rng.sample(["USD", "EUR", "GBP", "JPY"], 2)
        b.examples += c
        b.add("amount", ["amount", "value"], {"type": "number", "description": "Amount of money"})
        for role, names in [
            ("from", ["from_currency", "source_currency", "base"]),
            ("to", ["to_currency", "target_currency", "quote"]),
        ]:
            desc = rng.choice(CURRENCY_DESCS).format(c=c[0], c2=c[1])
            b.add(role, names, {"type": "string", "description": desc})
    else:
        raise ValueError(f"unknown utility family {family!r}")
    return _finish(b, family)


def _finish(b: _Builder, family: str) -> UtilityTool:
    name = styled(b.rng.choice(NAMES[family]), b.style, PREFIXES[family])
    params = {"type": "object", "properties": b.props}
    if b.required:
        params["required"] = list(b.required)
    spec = ToolSpec(name, b.rng.choice(DESCRIPTIONS[family]), params)
    return UtilityTool(spec, family, dict(b.roles), tuple(dict.fromkeys(b.examples)))


def server(rng: Random, families: tuple[str, ...] = FAMILIES) -> dict[str, UtilityTool]:
    """One tool of each family, in one naming style (as one server would offer them); names
    are distinct."""
    style = rng.choice(["snake", "snake", "camel", "dotted"])
    out: dict[str, UtilityTool] = {}
    for fam in families:
        for _ in range(10):
            t = make_tool(rng, fam, style)
            if t.name not in {o.name for o in out.values()}:
                out[fam] = t
                break
    return out


# --- requests --------------------------------------------------------------------------------

REQUESTS = {
    "now": [
        "What time is it in {city}?",
        "What's the time in {city} right now?",
        "current time in {city}",
        "Can you tell me the local time in {city}?",
        "What's the date and time in {city}?",
        "I need to call someone in {city}. What time is it there now?",
        "time in {city} pls",
        "How late is it in {city} at the moment?",
        "Is it night in {city}? What's the time there?",
        "what time is it over in {city}",
        "Tell me the current time in {city}.",
        "Do you know what time it is in {city} now?",
    ],
    "convert_time": [
        "If it's {time} in {a}, what time is it in {b}?",
        "Convert {time} {a} time to {b} time.",
        "My meeting is at {time} in {a}. What time is that in {b}?",
        "{time} in {a} is what time in {b}?",
        "What's {time} {a} time in {b}?",
        "The game starts at {time} {a} time. When is that for someone in {b}?",
        "A call at {time} in {a}: what time will it be in {b}?",
    ],
    "calc": [
        "What is {expr}?",
        "Calculate {expr}.",
        "what's {expr}",
        "Can you work out {expr}?",
        "{expr} = ?",
        "Quick math: {expr}",
        "How much is {expr}?",
        "Compute {expr} for me.",
        "Please calculate {expr}.",
        "I need {expr}, can you do the math?",
        "what does {expr} come to",
    ],
    "units": [
        "Convert {v} {f} to {t}.",
        "How many {t} is {v} {f}?",
        "{v} {f} in {t}?",
        "What's {v} {f} in {t}?",
        "How much is {v} {f} in {t}?",
        "Can you convert {v} {f} into {t}?",
        "{v} {f} to {t} please",
        "I have {v} {f}. How many {t} is that?",
    ],
    "days_until": [
        "How many days until {d}?",
        "How many days is it from today to {d}?",
        "How long until {d}, in days?",
        "Days left until {d}?",
        "Count the days from today to {d}.",
    ],
    "days": [
        "How many days between {d1} and {d2}?",
        "Count the days from {d1} to {d2}.",
        "How many days are there from {d1} until {d2}?",
        "What's the number of days between {d1} and {d2}?",
    ],
    "currency": [
        "Convert {v} {f} to {t}.",
        "How much is {v} {f} in {t}?",
        "What are {v} {f} worth in {t}?",
        "{v} {f} to {t}?",
        "I want to change {v} {f} into {t}. How much will I get?",
    ],
}


def _number(rng: Random) -> tuple[float | int, str]:
    v = rng.choice(
        [
            rng.randint(1, 20),
            rng.randint(1, 500),
            round(rng.uniform(0.5, 99), 1),
            rng.randrange(1000, 30000, 500),
        ]
    )
    return v, (say_int(rng, v, 0.15) if isinstance(v, int) else str(v))


def draw_request(
    rng: Random, tool: UtilityTool, today: date | None, held_out: bool
) -> tuple[str, dict[str, Value]]:
    """A request for the tool and the arguments it must get, by role (``_result``: the value of
    an expression, for the fake result). Raises ValueError when
    the tool cannot be asked for without a reference date."""
    pick = lambda key: rng.choice(split_phrases(REQUESTS[key], held_out))  # noqa: E731
    fam, avoid = tool.family, tool.examples
    if fam == "now":
        city = rng.choice([c for c in CITY_ZONES if CITY_ZONES[c] not in avoid])
        return pick("now").format(city=city), {"zone": Value(CITY_ZONES[city], city)}
    if fam == "convert_time":
        a, b = rng.sample([c for c in CITY_ZONES if CITY_ZONES[c] not in avoid], 2)
        if CITY_ZONES[a] == CITY_ZONES[b]:
            raise ValueError("one zone twice")
        h, m = rng.randint(0, 23), rng.choice([0, 0, 15, 30, 45])
        canon = f"{h:02d}:{m:02d}"
        if canon in avoid:
            raise ValueError("the example time")
        said = say_time(rng, h, m)
        text = pick("convert_time").format(time=said, a=a, b=b)
        return text, {
            "time": Value(canon, said),
            "source": Value(CITY_ZONES[a], a),
            "target": Value(CITY_ZONES[b], b),
        }
    if fam == "calc":
        expr, result = say_expression(rng)
        return pick("calc").format(expr=expr.text), {
            "expression": expr,
            "_result": Value(result, ""),
        }
    if fam == "units":
        quantity = rng.choice(["length", "length", "mass", "volume", "temperature", "speed"])
        long = tool.units == "long"
        f = say_unit(rng, quantity, long)
        t = say_unit(rng, quantity, long)
        if f.value == t.value or (tool.units == "free" and (f.value in avoid or t.value in avoid)):
            raise ValueError("same unit twice")
        v, said = _number(rng)
        text = pick("units").format(v=said, f=f.text, t=t.text)
        return text, {"value": Value(v, said), "from": f, "to": t}
    if fam == "days":
        if today is None:
            raise ValueError("day counts need a reference date")
        end = say_date(rng, today)
        if rng.random() < 0.5 and end.value != today.isoformat():
            text = pick("days_until").format(d=end.text)
            return text, {"start": Value(today.isoformat(), "today"), "end": end}
        start = say_date(rng, today)
        if start.value == end.value or start.value in avoid or end.value in avoid:
            raise ValueError("same dates")
        return pick("days").format(d1=start.text, d2=end.text), {"start": start, "end": end}
    f = say_currency(rng, avoid)
    t = say_currency(rng, avoid + (f.value,))
    v, said = _number(rng)
    return pick("currency").format(v=said, f=f.text, t=t.text), {
        "amount": Value(v, said),
        "from": f,
        "to": t,
    }


def call_args(tool: UtilityTool, by_role: dict[str, Value]) -> dict[str, Value]:
    """The arguments by parameter name, in schema order."""
    named = {tool.roles[r]: v for r, v in by_role.items() if r in tool.roles}
    return {k: named[k] for k in tool.spec.parameters["properties"] if k in named}


def fake_result(
    rng: Random, tool: UtilityTool, by_role: dict[str, Value], today: date | None
) -> dict:
    """A plausible result of the call (computed where it can be: arithmetic, units, days)."""
    day = today or date(2025, 6, 1)
    fam = tool.family
    if fam == "now":
        h, m = rng.randint(0, 23), rng.randint(0, 59)
        stamp = f"{day.isoformat()}T{h:02d}:{m:02d}:{rng.randint(0, 59):02d}"
        return {
            "datetime": stamp,
            "weekday": WEEKDAYS[day.weekday()],
            "timezone": by_role["zone"].value,
        }
    if fam == "convert_time":
        h = (int(by_role["time"].value[:2]) + rng.randint(-12, 12)) % 24
        return {
            "source_time": by_role["time"].value,
            "target_time": f"{h:02d}:{by_role['time'].value[3:]}",
            "target_timezone": by_role["target"].value,
        }
    if fam == "calc":
        return {"result": _round(by_role["_result"].value)}
    if fam == "units":
        v = convert_unit(by_role["value"].value, by_role["from"].value, by_role["to"].value)
        return {"value": _round(v), "unit": by_role["to"].value}
    if fam == "days":
        n = (
            date.fromisoformat(by_role["end"].value) - date.fromisoformat(by_role["start"].value)
        ).days
        return {"days": n, "weeks": round(n / 7, 2)}
    rate = round(rng.uniform(0.05, 20), 4)
    return {
        "amount": _round(by_role["amount"].value * rate),
        "currency": by_role["to"].value,
        "rate": rate,
    }


def _round(x: float) -> float | int:
    x = round(x, 4)
    return int(x) if float(x).is_integer() else x
