"""Math word problems (GSM8K-style) solved with a ``calculate`` tool.

Problems come from story templates (shopping, rates, sharing, discounts, ages, unit prices,
profit, areas, speed, tickets, recipes) filled with random numbers; each needs 2 to 4 steps and
has an integer answer. The reference solution computes one step per turn with ``calculate``
and ends with "The answer is N."; ``score`` checks the last number of the final answer.

    env = MathEnv()
    task = env.tasks("test", 1)[0]
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable

from bslm.models.tools import ToolCall, ToolResult
from bslm.runtime.arith import evaluate
from bslm.train.rl.envs.base import Environment, Task, check_split, text

SYSTEM = (
    "You solve math word problems. Do every arithmetic step with the calculate tool, then give "
    "the final answer in text, ending with the number, e.g. 'The answer is 42.'"
)
CALCULATE = {
    "type": "function",
    "function": {
        "name": "calculate",
        "description": "Evaluate an arithmetic expression: numbers, + - * / // % ** and "
        "parentheses. Returns the value.",
        "parameters": {
            "type": "object",
            "properties": {
                "expression": {
                    "type": "string",
                    "description": "Numbers and operators only, e.g. '(12 * 7) - 5'",
                }
            },
            "required": ["expression"],
            "additionalProperties": False,
        },
    },
}
MAX_EXPRESSION = 200  # longer input is not arithmetic a word problem needs (and bounds the parser)
NAMES = [
    "Ana",
    "Ben",
    "Chloe",
    "Dev",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jon",
    "Kira",
    "Leo",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Sam",
    "Tariq",
    "Uma",
    "Yuki",
]
ITEMS = ["notebooks", "apples", "pens", "mugs", "candles", "socks", "cookies", "stickers"]
NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")

# A template takes (rng, name) and returns the question and its steps: arithmetic with ``{i}``
# standing for the result of step i.
Template = Callable[[random.Random, str], tuple[str, list[str]]]


def _shopping(r: random.Random, n: str) -> tuple[str, list[str]]:
    a, p, b, q, bill = r.randint(2, 6), r.randint(2, 9), r.randint(2, 5), r.randint(3, 12), 100
    x, y = r.sample(ITEMS, 2)
    return (
        f"{n} buys {a} {x} at ${p} each and {b} {y} at ${q} each, and pays with a ${bill} "
        f"bill. How much change, in dollars, does {n} get back?",
        [f"{a} * {p}", f"{b} * {q}", "{0} + {1}", f"{bill} - {{2}}"],
    )


def _rates(r: random.Random, n: str) -> tuple[str, list[str]]:
    rate, hours, days, bad = r.randint(8, 40), r.randint(3, 9), r.randint(2, 6), r.randint(3, 30)
    return (
        f"A machine in {n}'s workshop makes {rate} parts per hour. It runs {hours} hours a "
        f"day for {days} days, and {bad} of the parts turn out broken. How many good parts "
        "are left?",
        [f"{rate} * {hours}", f"{{0}} * {days}", f"{{1}} - {bad}"],
    )


def _sharing(r: random.Random, n: str) -> tuple[str, list[str]]:
    bags, per, friends = r.randint(3, 9), r.randint(6, 15), r.randint(2, 6)
    eaten = (bags * per) % friends + friends * r.randint(0, 2) or friends
    return (
        f"{n} has {bags} bags with {per} candies in each. {n} eats {eaten} candies and "
        f"shares the rest equally among {friends} friends. How many candies does each "
        "friend get?",
        [f"{bags} * {per}", f"{{0}} - {eaten}", f"{{1}} / {friends}"],
    )


def _discount(r: random.Random, n: str) -> tuple[str, list[str]]:
    price, off, k = 20 * r.randint(2, 15), 5 * r.randint(1, 10), r.randint(2, 5)
    return (
        f"A jacket costs ${price}. This week it is {off}% off. {n} buys {k} jackets. How "
        f"many dollars does {n} pay?",
        [f"{price} * {off} / 100", f"{price} - {{0}}", f"{{1}} * {k}"],
    )


def _ages(r: random.Random, n: str) -> tuple[str, list[str]]:
    kid, times, years = r.randint(3, 15), r.randint(2, 5), r.randint(2, 12)
    return (
        f"{n} is {times} times as old as {n}'s nephew, who is {kid}. What will the sum of "
        f"their ages be in {years} years?",
        [f"{times} * {kid}", f"{{0}} + {kid}", f"{{1}} + 2 * {years}"],
    )


def _unit_price(r: random.Random, n: str) -> tuple[str, list[str]]:
    pack, unit, want, coupon = r.randint(3, 8), r.randint(2, 9), r.randint(10, 40), r.randint(2, 9)
    item = r.choice(ITEMS)
    return (
        f"A pack of {pack} {item} costs ${pack * unit}. {n} needs {want} {item} and has a "
        f"${coupon} coupon. How many dollars does {n} pay?",
        [f"{pack * unit} / {pack}", f"{{0}} * {want}", f"{{1}} - {coupon}"],
    )


def _profit(r: random.Random, n: str) -> tuple[str, list[str]]:
    k, buy, margin = r.randint(5, 30), r.randint(3, 12), r.randint(3, 10)
    sell, feed = buy + margin, r.randint(5, k * margin - 1)
    return (
        f"{n} buys {k} chickens at ${buy} each and spends ${feed} on feed, then sells all "
        f"the chickens for ${sell} each. What is {n}'s profit in dollars?",
        [f"{k} * {buy}", f"{{0}} + {feed}", f"{k} * {sell}", "{2} - {1}"],
    )


def _area(r: random.Random, n: str) -> tuple[str, list[str]]:
    length, width, side, cost = r.randint(8, 30), r.randint(6, 20), r.randint(2, 5), r.randint(2, 6)
    return (
        f"{n}'s garden is a {length} m by {width} m rectangle with a square patio of side "
        f"{side} m. Grass seed for the rest costs ${cost} per square metre. How many dollars "
        "does the seed cost?",
        [f"{length} * {width}", f"{side} * {side}", "{0} - {1}", f"{{2}} * {cost}"],
    )


def _speed(r: random.Random, n: str) -> tuple[str, list[str]]:
    v, t, u, s = r.randint(40, 90), r.randint(2, 5), r.randint(10, 30), r.randint(1, 4)
    return (
        f"{n} drives at {v} km/h for {t} hours, then cycles at {u} km/h for {s} hours. How "
        f"many kilometres does {n} travel in total?",
        [f"{v} * {t}", f"{u} * {s}", "{0} + {1}"],
    )


def _tickets(r: random.Random, n: str) -> tuple[str, list[str]]:
    adult, child, na, nc = r.randint(10, 25), r.randint(4, 9), r.randint(1, 4), r.randint(1, 5)
    return (
        f"Museum tickets cost ${adult} for adults and ${child} for children. {n} brings "
        f"{na} adults and {nc} children. How many dollars do the tickets cost?",
        [f"{na} * {adult}", f"{nc} * {child}", "{0} + {1}"],
    )


def _recipe(r: random.Random, n: str) -> tuple[str, list[str]]:
    batch, flour, k = r.choice([12, 18, 20, 24]), 50 * r.randint(2, 8), r.randint(2, 7)
    return (
        f"A recipe uses {flour} grams of flour for {batch} cookies. {n} wants to bake "
        f"{batch * k} cookies. How many grams of flour are needed?",
        [f"{batch * k} / {batch}", f"{{0}} * {flour}"],
    )


TEMPLATES: dict[str, Template] = {
    f.__name__[1:]: f
    for f in (
        _shopping,
        _rates,
        _sharing,
        _discount,
        _ages,
        _unit_price,
        _profit,
        _area,
        _speed,
        _tickets,
        _recipe,
    )
}


def split_of(question: str) -> str:
    """The split a question belongs to, from a hash of its text (so splits never overlap)."""
    return "test" if hashlib.sha256(question.encode()).digest()[0] % 2 else "train"


def solve(steps: list[str]) -> tuple[list[str], list[int | float]]:
    """The steps with earlier results filled in, and each step's result."""
    exprs: list[str] = []
    values: list[int | float] = []
    for step in steps:
        exprs.append(step.format(*values))
        values.append(evaluate(exprs[-1]))
    return exprs, values


def last_number(answer: str) -> float | None:
    """The last number written in ``answer`` ("1,234.50" -> 1234.5), or None."""
    found = NUMBER.findall(answer)
    return float(found[-1].replace(",", "")) if found else None


class MathEnv(Environment):
    """Word problems; the tool is ``calculate(expression)``."""

    name = "math"
    max_turns = 6

    def tasks(self, split: str, n: int, seed: int = 0) -> list[Task]:
        check_split(split)
        rng = random.Random(f"math/{split}/{seed}")
        out: list[Task] = []
        seen: set[str] = set()
        while len(out) < n:
            kind = rng.choice(sorted(TEMPLATES))
            question, steps = TEMPLATES[kind](rng, rng.choice(NAMES))
            if question in seen or split_of(question) != split:
                continue
            exprs, values = solve(steps)
            if not all(isinstance(v, int) and v > 0 for v in values):
                continue
            value = values[-1]
            seen.add(question)
            out.append(
                Task(
                    env=self.name,
                    id=f"math-{split}-{len(out):05d}",
                    messages=[
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": question},
                    ],
                    tools=[CALCULATE],
                    solution=[
                        [{"name": "calculate", "arguments": {"expression": e}}] for e in exprs
                    ],
                    answer=f"The answer is {value}.",
                    data={"template": kind, "result": value},
                )
            )
        return out

    def reset(self, task: Task) -> None:
        self.result = task.data["result"]

    def step(self, call: ToolCall) -> ToolResult:
        expression = call.arguments["expression"]
        if len(expression) > MAX_EXPRESSION:
            raise ValueError(f"expression longer than {MAX_EXPRESSION} characters; split it up")
        try:
            return text(repr(evaluate(expression)))
        except (RecursionError, MemoryError) as e:
            raise ValueError("expression too deeply nested; split it up") from e

    def score(self, answer: str) -> float:
        value = last_number(answer)
        return float(value is not None and abs(value - self.result) < 1e-6)
