"""Computational and scientific tools (geometry, physics, statistics, finance, algebra) in many
naming and description styles, with numeric and list arguments to copy exactly.

A ``Formula`` is a tool family: its parameters (name, kind, description) and the requests that
ask for it, with ``{param}`` slots. ``make_tool`` names it in a style (snake_case, camelCase,
dotted, prefixed) and describes it tersely, with units, or docstring-like ("Args:"); ``draw``
samples values and a request. Numbers are copied as said (5 stays 5, "12,000" is 12000), lists
keep their order, and a rate the schema wants as a decimal turns "5%" into 0.05.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from bslm.models.tools import ToolSpec

from . import prompts
from .drafts import Context, Draft, Skip, calls, user
from .phrasings import split_phrases
from .utilities import UtilityTool, styled
from .values import Value, say_int


@dataclass(frozen=True)
class Formula:
    domain: str
    words: tuple[str, ...]
    summary: str
    params: tuple[tuple[str, str, str], ...]  # (name, kind, description)
    requests: tuple[str, ...]


def _f(domain, words, summary, params, *requests) -> Formula:
    ps = tuple(tuple(p.split(":", 2)) for p in params)
    return Formula(domain, tuple(words.split()), summary, ps, requests)


FORMULAS = [
    _f(
        "geometry",
        "circle area",
        "Area of a circle.",
        ["radius:pos:Radius of the circle"],
        "What's the area of a circle with radius {radius}?",
        "area of a circle, r = {radius}",
        "I need the area of a circle whose radius is {radius}.",
    ),
    _f(
        "geometry",
        "circle circumference",
        "Circumference of a circle.",
        ["radius:pos:Radius"],
        "circumference of a circle with radius {radius}",
        "How long is the edge of a circle of radius {radius}?",
    ),
    _f(
        "geometry",
        "triangle area",
        "Area of a triangle from base and height.",
        ["base:pos:Length of the base", "height:pos:Height of the triangle"],
        "Area of a triangle with base {base} and height {height}?",
        "triangle: base {base}, height {height}. Area?",
    ),
    _f(
        "geometry",
        "rectangle perimeter",
        "Perimeter of a rectangle.",
        ["length:pos:Length", "width:pos:Width"],
        "What's the perimeter of a {length} by {width} rectangle?",
        "perimeter of a rectangle, length {length}, width {width}",
    ),
    _f(
        "geometry",
        "sphere volume",
        "Volume of a sphere.",
        ["radius:pos:Radius of the sphere"],
        "Volume of a sphere with radius {radius}?",
        "How much space does a ball of radius {radius} take up?",
    ),
    _f(
        "geometry",
        "hypotenuse",
        "Length of the hypotenuse of a right triangle.",
        ["a:pos:First leg", "b:pos:Second leg"],
        "Hypotenuse of a right triangle with legs {a} and {b}?",
        "right triangle, sides {a} and {b}: how long is the hypotenuse?",
    ),
    _f(
        "geometry",
        "cylinder volume",
        "Volume of a cylinder.",
        ["radius:pos:Radius of the base", "height:pos:Height"],
        "Volume of a cylinder with radius {radius} and height {height}.",
        "cylinder, r={radius}, h={height}, volume?",
    ),
    _f(
        "physics",
        "kinetic energy",
        "Kinetic energy of a moving body.",
        ["mass:pos:Mass in kilograms", "velocity:pos:Velocity in meters per second"],
        "Kinetic energy of a {mass} kg object moving at {velocity} m/s?",
        "What's the kinetic energy for mass {mass} kg and speed {velocity} m/s?",
    ),
    _f(
        "physics",
        "force",
        "Force from mass and acceleration (Newton's second law).",
        ["mass:pos:Mass in kg", "acceleration:pos:Acceleration in m/s^2"],
        "Force needed to accelerate {mass} kg at {acceleration} m/s²?",
        "F = m a with m = {mass} kg and a = {acceleration} m/s^2",
    ),
    _f(
        "physics",
        "average speed",
        "Average speed from distance and time.",
        ["distance:pos:Distance in kilometers", "time:pos:Time in hours"],
        "Average speed if I drive {distance} km in {time} hours?",
        "speed for {distance} km covered in {time} h",
    ),
    _f(
        "physics",
        "ohms law current",
        "Current through a resistor (Ohm's law).",
        ["voltage:pos:Voltage in volts", "resistance:pos:Resistance in ohms"],
        "Current through a {resistance} ohm resistor at {voltage} volts?",
        "I = V/R for V = {voltage} V and R = {resistance} Ω",
    ),
    _f(
        "physics",
        "density",
        "Density from mass and volume.",
        ["mass:pos:Mass in grams", "volume:pos:Volume in cm^3"],
        "Density of an object of {mass} g and {volume} cm³?",
        "what's the density: mass {mass} g, volume {volume} cm3",
    ),
    _f(
        "physics",
        "free fall time",
        "Time for an object to fall from a height, without air resistance.",
        ["height:pos:Height in meters"],
        "How long does it take to fall {height} meters?",
        "free fall time from {height} m",
    ),
    _f(
        "statistics",
        "mean",
        "Arithmetic mean of numbers.",
        ["numbers:list:The numbers"],
        "What's the average of {numbers}?",
        "mean of {numbers}",
        "Average these: {numbers}",
    ),
    _f(
        "statistics",
        "median",
        "Median of a list of numbers.",
        ["numbers:list:The values"],
        "median of {numbers}",
        "What's the median of {numbers}?",
    ),
    _f(
        "statistics",
        "standard deviation",
        "Standard deviation of a sample.",
        ["data:list:Sample values"],
        "standard deviation of {data}",
        "How spread out are {data}? Give me the standard deviation.",
    ),
    _f(
        "statistics",
        "percentile",
        "The p-th percentile of a dataset.",
        ["values:list:The dataset", "percentile:int:Percentile between 0 and 100"],
        "the {percentile}th percentile of {values}",
        "What's the {percentile}th percentile of these: {values}?",
    ),
    _f(
        "statistics",
        "correlation",
        "Pearson correlation of two equally long series.",
        ["x:list:First series", "y:list:Second series"],
        "Correlation between {x} and {y}?",
        "Pearson correlation of x = {x} and y = {y}",
    ),
    _f(
        "finance",
        "compound interest",
        "Final amount with compound interest.",
        [
            "principal:money:Initial amount",
            "rate:rate:Annual interest rate as a decimal, e.g. 0.05",
            "years:int:Number of years",
        ],
        "If I invest {principal} at {rate} a year for {years} years, how much will I have?",
        "compound interest on {principal}, {rate} annual, {years} years",
    ),
    _f(
        "finance",
        "loan payment",
        "Monthly payment of a fixed-rate loan.",
        [
            "amount:money:Loan amount",
            "annual_rate:pct:Annual interest rate in percent",
            "months:int:Term in months",
        ],
        "Monthly payment on a {amount} loan at {annual_rate} over {months} months?",
        "loan of {amount}, {annual_rate} interest, {months} months: what's the monthly payment?",
    ),
    _f(
        "finance",
        "simple interest",
        "Simple interest earned.",
        ["principal:money:Principal", "rate:pct:Yearly rate in percent", "years:int:Years"],
        "Simple interest on {principal} at {rate} for {years} years?",
    ),
    _f(
        "finance",
        "tip",
        "Tip amount for a bill.",
        ["bill:money:Bill total", "percent:pct:Tip in percent"],
        "What's a {percent} tip on {bill}?",
        "tip for a bill of {bill} at {percent}",
    ),
    _f(
        "finance",
        "return on investment",
        "Return on investment, in percent.",
        ["cost:money:Amount invested", "gain:money:Final value"],
        "ROI if I put in {cost} and got back {gain}?",
        "return on investment: invested {cost}, now worth {gain}",
    ),
    _f(
        "algebra",
        "solve quadratic",
        "Real roots of a x^2 + b x + c = 0.",
        ["a:coef:Coefficient of x^2", "b:coef:Coefficient of x", "c:coef:Constant term"],
        "Solve {a}x^2 + {b}x + {c} = 0",
        "roots of the quadratic with a={a}, b={b}, c={c}",
    ),
    _f(
        "algebra",
        "gcd",
        "Greatest common divisor of two integers.",
        ["a:int:First integer", "b:int:Second integer"],
        "GCD of {a} and {b}?",
        "greatest common divisor of {a} and {b}",
    ),
    _f(
        "algebra",
        "lcm",
        "Least common multiple of two integers.",
        ["a:int:First integer", "b:int:Second integer"],
        "LCM of {a} and {b}",
        "What's the least common multiple of {a} and {b}?",
    ),
    _f(
        "algebra",
        "factorial",
        "n! for a non-negative integer.",
        ["n:small:The integer"],
        "What's {n} factorial?",
        "compute {n}!",
    ),
    _f(
        "algebra",
        "is prime",
        "Whether an integer is prime.",
        ["number:int:The integer to test"],
        "Is {number} a prime number?",
        "check if {number} is prime",
    ),
    _f(
        "algebra",
        "fibonacci",
        "The first n Fibonacci numbers.",
        ["n:small:How many numbers"],
        "Give me the first {n} Fibonacci numbers.",
        "fibonacci sequence, {n} terms",
    ),
    _f(
        "algebra",
        "sort numbers",
        "Sort a list of numbers.",
        ["numbers:list:Numbers to sort", "descending:flag:Largest first"],
        "Sort {numbers} from largest to smallest.",
        "sort these descending: {numbers}",
    ),
]
PREFIXES = ["", "", "calc", "compute", "get"]
STYLES = ["snake", "camel", "dotted", "prefixed"]


def _number(rng: Random, kind: str) -> tuple[object, str]:
    if kind == "pos":
        v = rng.choice(
            [rng.randint(1, 100), round(rng.uniform(0.5, 50), 1), round(rng.uniform(0.1, 9.9), 2)]
        )
        return v, say_int(rng, v, 0.1) if isinstance(v, int) else str(v)
    if kind == "money":
        v = rng.choice(
            [
                rng.randrange(100, 5000, 50),
                rng.randrange(1000, 500000, 1000),
                round(rng.uniform(5, 300), 2),
            ]
        )
        if isinstance(v, int):
            return v, rng.choice(["$", "", "€"]) + say_int(rng, v, 0.0 if v > 999 else 0.1).replace(
                "k", "k"
            )
        return v, rng.choice(["$", ""]) + f"{v:.2f}"
    if kind == "int":
        v = rng.randint(2, 2000)
        return v, say_int(rng, v, 0.1)
    if kind == "small":
        v = rng.randint(3, 20)
        return v, say_int(rng, v, 0.3)
    if kind == "coef":
        v = rng.choice([i for i in range(-12, 13) if i])
        return v, str(v)
    if kind == "pct":
        v = rng.choice([3, 4.5, 5, 6, 7.5, 10, 12, 15, 18, 20, 22])
        return v, rng.choice([f"{v}%", f"{v} percent"])
    if kind == "rate":
        p = rng.choice([2, 3, 4, 5, 6, 7, 8, 10])
        return p / 100, rng.choice([f"{p}%", f"{p} percent"])
    if kind == "flag":
        return True, ""
    n = rng.randint(3, 8)
    xs = [rng.choice([rng.randint(1, 100), round(rng.uniform(0, 100), 1)]) for _ in range(n)]
    xs = [int(x) if float(x).is_integer() else x for x in xs]
    text = rng.choice(
        [", ".join(map(str, xs[:-1])) + f" and {xs[-1]}", ", ".join(map(str, xs)), str(xs)]
    )
    return xs, text


_SCHEMAS = {
    "pos": {"type": "number"},
    "money": {"type": "number"},
    "int": {"type": "integer"},
    "small": {"type": "integer"},
    "coef": {"type": "number"},
    "pct": {"type": "number"},
    "rate": {"type": "number"},
    "flag": {"type": "boolean"},
    "list": {"type": "array", "items": {"type": "number"}},
}


def make_tool(rng: Random, formula: Formula) -> UtilityTool:
    """The formula as a tool, named and described in a drawn style."""
    style = rng.choice(STYLES)
    words = list(formula.words)
    if style == "prefixed":
        words = [rng.choice(["calc", "compute", "get", "calculate"])] + words
        style = "snake"
    name = styled(words, style, formula.domain)
    camel = style == "camel" and rng.random() < 0.7
    props, roles = {}, {}
    for pname, kind, desc in formula.params:
        shown = (
            pname.split("_")[0] + "".join(w.title() for w in pname.split("_")[1:])
            if camel
            else pname
        )
        props[shown] = {**_SCHEMAS[kind], "description": desc}
        roles[pname] = shown
    how = rng.choice(["plain", "plain", "args", "returns"])
    desc = formula.summary
    if how == "args":
        desc += "\n\nArgs:\n" + "\n".join(f"    {roles[p]}: {d}" for p, _, d in formula.params)
    elif how == "returns":
        desc = f"Calculates the {' '.join(formula.words)}. " + rng.choice(
            ["Returns a number.", "Returns the result as JSON."]
        )
    required = [roles[p] for p, k, _ in formula.params if k != "flag"]
    spec = ToolSpec(name, desc, {"type": "object", "properties": props, "required": required})
    return UtilityTool(spec, "science", roles, domain=formula.domain)


def draw(
    rng: Random, formula: Formula, tool: UtilityTool, held_out: bool
) -> tuple[str, dict[str, Value]]:
    """A request and the arguments (by schema name, in schema order)."""
    values, said = {}, {}
    for pname, kind, _ in formula.params:
        v, text = _number(rng, kind)
        if kind == "list" and pname == "y":
            v = v[: len(values["x"].value)] + [1] * (len(values["x"].value) - len(v))
            text = ", ".join(map(str, v))
        values[pname] = Value(v, text)
        said[pname] = text
    text = rng.choice(split_phrases(list(formula.requests), held_out) or list(formula.requests))
    return text.format(**said), {tool.roles[p]: values[p] for p in values}


def build_science(ctx: Context) -> Draft:
    """Stage 2: one formula tool among 1-5 of its domain (near duplicates), exact values."""
    rng = ctx.rng
    formula = rng.choice(FORMULAS)
    gold = make_tool(rng, formula)
    same = [f for f in FORMULAS if f.domain == formula.domain and f is not formula]
    shown = [gold] + [
        make_tool(rng, f) for f in rng.sample(same, min(len(same), rng.randint(0, 4)))
    ]
    if len({t.name for t in shown}) < len(shown):
        raise Skip("two tools share a name")
    rng.shuffle(shown)
    text, args = draw(rng, formula, gold, ctx.pb.held_out)
    why = None
    if ctx.think(0.3):
        notes = prompts.conversions(args)
        why = f"{gold.name} computes this." + (" " + "; ".join(notes) + "." if notes else "")
    return Draft("science", formula.domain, shown, [user(text), calls([(gold, args)], why)])


BUILDERS = {"science": build_science}
