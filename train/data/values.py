"""Values in user text: the surface forms a canonical value can take.

A ``Value`` pairs what a call holds with how the user says it. The helpers here write the
surfaces the model must copy or convert: numbers in words ("twenty-five"), dates relative to
the reference date of the system prompt ("tomorrow" -> ``2026-03-04``) or spelled out ("March
3, 2026"), times ("half past three in the afternoon" -> ``15:30``), lists in prose ("apples,
pears and milk" -> ``["apples", "pears", "milk"]``), enum options in words ("°F" ->
``fahrenheit``). The value types that sample them live in ``value_types.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any


@dataclass(frozen=True)
class Value:
    value: Any  # what the call holds
    text: str  # how the user says it


# --- numbers in words ------------------------------------------------------------------------

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((1_000_000, "million"), (1000, "thousand"), (100, "hundred"))


def number_words(n: int) -> str:
    """``25 -> "twenty-five"``, ``1300 -> "one thousand three hundred"`` (0 <= n < 10**9)."""
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])
    for scale, word in _SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            out = f"{number_words(head)} {word}"
            return out if rest == 0 else f"{out} {number_words(rest)}"
    raise AssertionError(n)


def parse_number_words(text: str) -> int:
    """Inverse of ``number_words`` (also accepts "and", "a hundred"). Raises ValueError."""
    words = text.lower().replace("-", " ").replace(" and ", " ").split()
    sign = -1 if words[:1] == ["minus"] else 1
    total = current = 0
    for w in words[1:] if sign < 0 else words:
        if w == "a":
            current += 1
        elif w in _ONES:
            current += _ONES.index(w)
        elif w in _TENS[2:]:
            current += 10 * _TENS.index(w)
        elif w == "hundred":
            current *= 100
        elif w in ("thousand", "million"):
            total += current * (1000 if w == "thousand" else 1_000_000)
            current = 0
        else:
            raise ValueError(f"not a number word: {w!r}")
    return sign * (total + current)


def say_int(rng: Random, n: int, words: float = 0.35) -> str:
    """A surface for ``n``: digits, words, and for thousands also "12,000" or "12k";
    ``words`` 0 keeps the bare digits (a year)."""
    if n == 12 and rng.random() < 0.15:
        return "a dozen"
    if rng.random() < words:
        return number_words(n)
    if words > 0 and abs(n) >= 1000 and rng.random() < 0.4:
        if n % 1000 == 0 and rng.random() < 0.3:
            return f"{n // 1000}k"
        return f"{n:,}"
    return str(n)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plain_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# --- dates and times -------------------------------------------------------------------------

MONTHS = (
    "January February March April May June July August September October November December"
).split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()


def say_date(rng: Random, d: date, today: date | None) -> str:
    """A surface for ``d``; relative forms only with a reference date, and forms without a
    year only for dates in the next ten months (so the year is the next occurrence)."""
    forms = [
        d.isoformat(),
        f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
        f"{d.day} {MONTHS[d.month - 1]} {d.year}",
        f"{MONTHS[d.month - 1][:3]} {d.day}, {d.year}",
    ]
    if today is not None:
        delta = (d - today).days
        if 0 <= delta < 300:
            m = MONTHS[d.month - 1]
            forms += [f"{m} {d.day}", f"{m} {ordinal(d.day)}", f"the {ordinal(d.day)} of {m}"]
        relative = {
            0: ["today"],
            1: ["tomorrow"],
            2: ["the day after tomorrow"],
            -1: ["yesterday"],
            7: ["in a week", "a week from today"],
        }
        if delta in relative:
            return rng.choice(relative[delta]) if rng.random() < 0.8 else rng.choice(forms)
        if 3 <= delta <= 6:
            day = WEEKDAYS[d.weekday()]
            forms += [f"this {day}", f"on {day}", f"in {say_int(rng, delta)} days"]
            return rng.choice(forms[-3:]) if rng.random() < 0.6 else rng.choice(forms)
        if 8 <= delta <= 30:
            forms.append(f"in {say_int(rng, delta)} days")
    return rng.choice(forms)


def sample_date(rng: Random, today: date | None, past: bool = False) -> date:
    base = today or date(2026, 1, 1) + timedelta(days=rng.randrange(365))
    if past:
        return base - timedelta(days=rng.randrange(1, 400))
    near = rng.random() < 0.6
    return base + timedelta(days=rng.randrange(0, 8) if near else rng.randrange(0, 200))


def say_time(rng: Random, h: int, m: int) -> str:
    h12, ampm = (h % 12 or 12), ("am" if h < 12 else "pm")
    forms = [
        f"{h:02d}:{m:02d}",
        f"{h12}:{m:02d} {ampm}",
        f"{h12}:{m:02d}{ampm}",
        f"{h12}:{m:02d} {ampm.upper()}",
    ]
    if m == 0:
        forms += [
            f"{h12}{ampm}",
            f"{h12} {ampm}",
            f"{number_words(h12)} o'clock "
            + ("in the morning" if h < 12 else "in the afternoon" if h < 18 else "in the evening"),
        ]
        if h == 12:
            forms.append("noon")
    if m in (15, 30) and 8 <= h <= 20:
        part = "in the morning" if h < 12 else "in the afternoon" if h < 18 else "in the evening"
        what = "half past" if m == 30 else "quarter past"
        forms.append(f"{what} {number_words(h12)} {part}")
    return rng.choice(forms)


def sample_time(rng: Random) -> tuple[int, int]:
    return rng.randrange(7, 22), rng.choice([0, 0, 0, 15, 30, 30, 45])


# --- words, lists, quotes ----------------------------------------------------------------------


def say_list(rng: Random, items: list[str]) -> str:
    """``["a", "b", "c"]`` in prose: "a, b and c", "a, b, and c", "a, b & c", "a; b; c"."""
    if len(items) < 2:
        return "".join(items)
    style = rng.randrange(4)
    if style == 3:
        return "; ".join(items)
    last = {0: " and ", 1: ", and " if len(items) > 2 else " and ", 2: " & "}[style]
    return ", ".join(items[:-1]) + last + items[-1]


def quote(rng: Random, s: str, p: float = 0.6) -> str:
    if rng.random() >= p:
        return s
    return rng.choice(['"{}"', "'{}'", "“{}”"]).format(s)


def humanize(name: str) -> str:
    """``startTime``, ``start_time``, ``start-time`` -> "start time"."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[_\-.]+", " ", name).strip().lower()


# Enum options and how people say them (the first surface is the option itself, humanized).
ENUM_SURFACES: dict[str, list[str]] = {
    "celsius": ["celsius", "°C", "degrees Celsius", "metric"],
    "fahrenheit": ["fahrenheit", "°F", "degrees Fahrenheit", "imperial"],
    "metric": ["metric", "metric units", "kilometers"],
    "imperial": ["imperial", "miles"],
    "asc": ["ascending", "oldest first"],
    "desc": ["descending", "newest first"],
    "urgent": ["urgent", "top priority"],
    "high": ["high"],
    "low": ["low"],
    "driving": ["by car", "driving"],
    "walking": ["on foot", "walking"],
    "transit": ["by public transport", "by transit"],
    "cycling": ["by bike", "cycling"],
    "json": ["JSON"],
    "csv": ["CSV"],
    "pdf": ["PDF"],
    "nba": ["NBA"],
    "nfl": ["NFL"],
    "mlb": ["MLB"],
    "premier_league": ["Premier League"],
    "la_liga": ["La Liga"],
    "US": ["the US", "the United States", "US"],
    "GB": ["the UK", "Britain", "GB"],
    "FR": ["France"],
    "DE": ["Germany"],
    "JP": ["Japan"],
    "IN": ["India"],
    "BR": ["Brazil"],
    "CA": ["Canada"],
    "tentative": ["tentatively accept"],
    "xl": ["XL"],
    "atm": ["ATM"],
    "gas_station": ["gas station"],
}


def say_enum(rng: Random, option: str) -> str:
    forms = ENUM_SURFACES.get(option, [option.replace("_", " ")])
    return rng.choice(forms) if rng.random() < 0.7 else forms[0]
