"""Value types: what a parameter holds, its JSON Schema, and how to sample it.

A value type (``"city"``, ``"date"``, ``"minutes"``, ``"line_items"``...) samples a ``values.Value``:
the canonical JSON value the call must hold and one surface form of it for the user text,
sometimes one that needs converting (durations in hours for a field in minutes, °F for a
field in °C, kilometers for meters, language names for ISO codes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from random import Random

from .values import (
    MONTHS,
    Value,
    number_words,
    plain_number,
    quote,
    sample_date,
    sample_time,
    say_date,
    say_int,
    say_list,
    say_time,
)


@dataclass(frozen=True)
class ValueType:
    schema: dict  # JSON Schema without description
    sample: Callable[[Random, date | None], Value]
    noun: str  # what people call it


VALUE_TYPES: dict[str, ValueType] = {}


def value_type(name: str, schema: dict, noun: str):
    def register(fn):
        VALUE_TYPES[name] = ValueType(schema, fn, noun)
        return fn

    return register


def sample(type_name: str, rng: Random, today: date | None = None) -> Value:
    """A value of a value type. Raises KeyError for an unknown one."""
    return VALUE_TYPES[type_name].sample(rng, today)


# --- pools -------------------------------------------------------------------------------------


def _pool(text: str) -> list[str]:
    return [s.strip() for s in text.split("|") if s.strip()]


CITIES = _pool(
    "Paris|London|Tokyo|New York|Berlin|Madrid|Rome|Lisbon|Toronto|Sydney|Nairobi|Cairo|"
    "Mumbai|Seoul|Mexico City|Buenos Aires|Oslo|Dublin|Vienna|Prague|Chicago|Seattle|"
    "Austin|Boston|Lagos|Istanbul|Bangkok|Singapore|Amsterdam|Zurich|Montreal|Denver|"
    "Cape Town|Lima|Hanoi|Warsaw|Athens|Helsinki|Kyoto|Vancouver"
)
FIRST = _pool(
    "Anna|Ben|Carlos|Dana|Elif|Farah|George|Hana|Ivan|Julia|Kenji|Laura|Mateo|Nadia|"
    "Omar|Priya|Quinn|Rosa|Sam|Tariq|Uma|Victor|Wei|Ximena|Yusuf|Zoe|Liam|Mei|Noah|Ines"
)
LAST = _pool(
    "Smith|Garcia|Chen|Müller|Okafor|Rossi|Kowalski|Nguyen|Dubois|Silva|Khan|Tanaka|"
    "Johansson|Novak|Haddad|Brown|Kim|Petrov|Santos|Walsh"
)
COMPANIES = _pool(
    "Acme Corp|Globex|Initech|Umbrella Labs|Stark Industries|Wayne Enterprises|"
    "Hooli|Vandelay Imports|Northwind|Contoso|Blue Harbor|Pied Piper"
)
TITLES = _pool(
    "Team standup|Budget review|Design sync|Quarterly planning|Dentist appointment|"
    "Lunch with Sam|Yoga class|Project kickoff|1:1 with manager|Parent-teacher meeting|"
    "Sprint retro|Client call|Book club|Car service|Birthday party"
)
TOPICS = _pool(
    "climate policy|electric cars|remote work|machine learning|the housing market|"
    "space exploration|healthy breakfasts|solar panels|the World Cup|jazz history|"
    "interest rates|sleep hygiene|urban gardening|cybersecurity|ancient Rome"
)
PRODUCTS = _pool(
    "wireless headphones|running shoes|coffee grinder|standing desk|yoga mat|"
    "backpack|phone charger|desk lamp|water bottle|mechanical keyboard|air fryer|"
    "winter jacket|e-reader|blender|camping tent"
)
SONGS = _pool(
    "Bohemian Rhapsody|Blinding Lights|Hey Jude|Dancing Queen|Clair de Lune|Hotel "
    "California|Rolling in the Deep|Take Five|Imagine|Shape of You"
)
ARTISTS = _pool(
    "Queen|The Weeknd|The Beatles|ABBA|Debussy|Adele|Dave Brubeck|Miles Davis|"
    "Taylor Swift|Fela Kuti|Björk|Radiohead"
)
DISHES = _pool(
    "lasagna|chicken curry|pad thai|mushroom risotto|beef tacos|lentil soup|"
    "banana bread|caesar salad|ramen|shakshuka|paella|falafel"
)
FOODS = _pool(
    "apples|pears|milk|eggs|bread|rice|tomatoes|spinach|cheese|coffee|oranges|"
    "yogurt|onions|garlic|butter|pasta|chicken|lemons"
)
TEAMS = _pool(
    "Arsenal|Real Madrid|Boston Celtics|Chicago Bulls|Bayern Munich|New York Yankees|"
    "Toronto Raptors|Juventus|Lakers|Ajax"
)
AIRPORTS = _pool("JFK|LHR|CDG|HND|FRA|MAD|SFO|LAX|AMS|SIN|DXB|YYZ|BOS|ORD|FCO")
TICKERS = _pool("AAPL|MSFT|GOOGL|AMZN|TSLA|NVDA|META|NFLX|IBM|SAP")
LANGUAGES = {
    "French": "fr",
    "Spanish": "es",
    "German": "de",
    "Italian": "it",
    "Japanese": "ja",
    "Portuguese": "pt",
    "Chinese": "zh",
    "Arabic": "ar",
    "Korean": "ko",
    "Dutch": "nl",
}
CURRENCIES = {
    "USD": ["dollars", "US dollars", "USD"],
    "EUR": ["euros", "EUR"],
    "GBP": ["pounds", "British pounds", "GBP"],
    "JPY": ["yen", "Japanese yen", "JPY"],
    "CHF": ["Swiss francs", "CHF"],
    "CAD": ["Canadian dollars", "CAD"],
}
DEVICES = _pool(
    "living room lamp|bedroom light|kitchen lights|hallway light|thermostat|"
    "front door lock|garage door|porch light|office fan|bathroom heater"
)
FILES = _pool(
    "reports/q3_summary.pdf|notes/todo.txt|src/main.py|photos/beach.jpg|docs/README.md|"
    "budget_2026.xlsx|invoices/inv_0042.pdf|data/users.csv|slides/pitch.pptx"
)
REPOS = _pool("acme/webapp|data-team/etl|mobile/ios-client|infra/terraform|ml/recsys|docs/site")
BRANCHES = _pool("main|develop|feature/login|fix/timeout|release/2.4|hotfix/payment")
TABLES = _pool("users|orders|invoices|products|sessions|events|payments|customers")
WORDS = _pool("urgent|work|personal|travel|finance|family|ideas|health|later|reading|home|school")
SENTENCES = _pool(
    "Running 10 minutes late, start without me|Can we move the call to Friday?|"
    "The report is ready for review|Don't forget to bring the charger|"
    "Thanks for your help today|Call the plumber about the leak|"
    "Pick up the dry cleaning|Remember to renew the passport|"
    "The meeting notes are in the shared folder|Happy birthday, have a great day!"
)
ITEMS = {
    "latte": "lattes",
    "croissant": "croissants",
    "bagel": "bagels",
    "muffin": "muffins",
    "sandwich": "sandwiches",
    "salad": "salads",
    "smoothie": "smoothies",
    "cookie": "cookies",
}
STREETS = _pool(
    "Baker Street|Main Street|Rue de Rivoli|Elm Avenue|Oak Lane|Market Street|"
    "Sunset Boulevard|King's Road|Maple Drive|Harbor Way"
)


def _pick(pool: list[str], quoted: float = 0.0) -> Callable[[Random, date | None], Value]:
    def fn(rng: Random, today: date | None) -> Value:
        v = rng.choice(pool)
        return Value(v, quote(rng, v, quoted))

    return fn


for _name, _pool_, _noun, _q in [
    ("city", CITIES, "city", 0.0),
    ("company", COMPANIES, "company", 0.0),
    ("title", TITLES, "title", 0.6),
    ("topic", TOPICS, "topic", 0.3),
    ("product", PRODUCTS, "product", 0.2),
    ("song", SONGS, "song", 0.6),
    ("artist", ARTISTS, "artist", 0.0),
    ("dish", DISHES, "dish", 0.0),
    ("team", TEAMS, "team", 0.0),
    ("airport", AIRPORTS, "airport code", 0.0),
    ("ticker", TICKERS, "ticker symbol", 0.0),
    ("device", DEVICES, "device", 0.3),
    ("path", FILES, "file path", 0.5),
    ("repo", REPOS, "repository", 0.2),
    ("branch", BRANCHES, "branch", 0.3),
    ("table", TABLES, "table", 0.3),
    ("word", WORDS, "label", 0.3),
    ("message", SENTENCES, "message", 0.9),
    ("query", TOPICS + PRODUCTS + DISHES, "search terms", 0.5),
]:
    value_type(_name, {"type": "string"}, _noun)(_pick(_pool_, _q))


@value_type("first", {"type": "string"}, "name")
def _first(rng: Random, today: date | None) -> Value:
    v = rng.choice(["Max", "Luna", "Bella", "Charlie", "Milo", "Coco", "Rocky", "Nala", "Simba"])
    return Value(v, v)


@value_type("flight", {"type": "string"}, "flight number")
def _flight(rng: Random, today: date | None) -> Value:
    v = f"{rng.choice(['BA', 'AF', 'LH', 'DL', 'UA', 'KL', 'NH'])}{rng.randrange(10, 2000)}"
    return Value(v, v)


@value_type("version", {"type": "string"}, "version")
def _version(rng: Random, today: date | None) -> Value:
    v = f"{rng.randrange(0, 5)}.{rng.randrange(0, 20)}.{rng.randrange(0, 10)}"
    return Value(v, v)


@value_type("handle", {"type": "string"}, "username")
def _handle(rng: Random, today: date | None) -> Value:
    v = f"{rng.choice(FIRST).lower()}{rng.choice(['', '_', '.'])}{rng.choice(LAST).lower()}"
    v = v.replace("ü", "u")
    return Value(v, f"@{v}" if rng.random() < 0.4 else v)


@value_type("sql", {"type": "string"}, "SQL query")
def _sql(rng: Random, today: date | None) -> Value:
    t = rng.choice(TABLES)
    v = rng.choice(
        [
            f"SELECT * FROM {t} LIMIT {rng.choice([5, 10, 20])}",
            f"SELECT COUNT(*) FROM {t}",
            f"SELECT id, name FROM {t} ORDER BY id DESC",
        ]
    )
    return Value(v, quote(rng, v, 0.5))


_OPS = {
    "+": ["plus", "+"],
    "-": ["minus", "-"],
    "*": ["times", "multiplied by", "*", "x"],
    "/": ["divided by", "/"],
}


@value_type("arith", {"type": "string"}, "expression")
def _arith(rng: Random, today: date | None) -> Value:
    a, b = rng.randrange(2, 500), rng.randrange(2, 50)
    op = rng.choice(list(_OPS))
    return Value(f"{a} {op} {b}", f"{a} {rng.choice(_OPS[op])} {b}")


@value_type("equation", {"type": "string"}, "equation")
def _equation(rng: Random, today: date | None) -> Value:
    a, x, b = rng.randrange(2, 10), rng.randrange(-10, 20), rng.randrange(1, 30)
    v = f"{a}*x + {b} = {a * x + b}"
    return Value(v, rng.choice([v, f"{a}x + {b} = {a * x + b}"]))


@value_type("number", {"type": "number"}, "value")
def _number(rng: Random, today: date | None) -> Value:
    v = rng.choice(
        [
            rng.randrange(1, 200),
            round(rng.uniform(0.5, 100), 1),
            rng.randrange(1000, 50000, rng.choice([1, 10, 500])),
        ]
    )
    v = int(v) if float(v).is_integer() else v
    return Value(v, say_int(rng, v, 0.3) if isinstance(v, int) else str(v))


@value_type("person", {"type": "string"}, "name")
def _person(rng: Random, today: date | None) -> Value:
    v = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return Value(v, v)


def _email_of(rng: Random) -> str:
    first, last = rng.choice(FIRST).lower(), rng.choice(LAST).lower()
    last = last.replace("ü", "ue")
    user = rng.choice([f"{first}.{last}", f"{first}", f"{first[0]}{last}", f"{first}_{last}"])
    return f"{user}@{rng.choice(['example.com', 'mail.com', 'acme.org', 'company.io'])}"


@value_type("email", {"type": "string", "format": "email"}, "email address")
def _email(rng: Random, today: date | None) -> Value:
    v = _email_of(rng)
    return Value(v, v)


@value_type("phone", {"type": "string"}, "phone number")
def _phone(rng: Random, today: date | None) -> Value:
    v = f"+1-{rng.randrange(200, 999)}-{rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}"
    return Value(v, v)


@value_type("url", {"type": "string", "format": "uri"}, "URL")
def _url(rng: Random, today: date | None) -> Value:
    site = rng.choice(["example.com", "news.example.org", "docs.acme.io", "blog.contoso.com"])
    v = f"https://{site}/{rng.choice(['about', 'pricing', 'posts/42', 'guide', 'status'])}"
    return Value(v, v)


@value_type("id", {"type": "string"}, "ID")
def _id(rng: Random, today: date | None) -> Value:
    v = f"{rng.choice(['a', 'b', 'x', 'k'])}{rng.randrange(1000, 99999)}"
    return Value(v, v)


@value_type("language", {"type": "string", "description": "ISO 639-1 code"}, "language")
def _language(rng: Random, today: date | None) -> Value:
    name = rng.choice(list(LANGUAGES))
    return Value(LANGUAGES[name], name)


@value_type("currency", {"type": "string", "description": "ISO 4217 code"}, "currency")
def _currency(rng: Random, today: date | None) -> Value:
    code = rng.choice(list(CURRENCIES))
    return Value(code, rng.choice(CURRENCIES[code]))


# --- numbers -------------------------------------------------------------------------------------


def _int_kind(name: str, lo: int, hi: int, noun: str, words: float = 0.35) -> None:
    @value_type(name, {"type": "integer", "minimum": lo, "maximum": hi}, noun)
    def fn(rng: Random, today: date | None) -> Value:
        n = rng.randint(lo, hi)
        return Value(n, say_int(rng, n, words))


for _args in [
    ("count", 1, 12, "number"),
    ("quantity", 1, 10, "quantity"),
    ("limit", 1, 50, "limit"),
    ("rating", 1, 5, "rating"),
    ("percent", 0, 100, "percentage", 0.2),
    ("year", 1990, 2026, "year", 0.0),
    ("page", 1, 20, "page"),
    ("guests", 1, 12, "number of guests", 0.5),
    ("level", 0, 100, "level", 0.2),
]:
    _int_kind(*_args)


@value_type("amount", {"type": "number", "minimum": 0}, "amount")
def _amount(rng: Random, today: date | None) -> Value:
    v = rng.choice(
        [rng.randrange(5, 500), round(rng.uniform(1, 300), 2), rng.randrange(1000, 250000, 250)]
    )
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    forms = [
        f"${v:.2f}" if isinstance(v, float) else f"${v}",
        f"{plain_number(v)} dollars",
        f"{plain_number(v)}",
    ]
    if isinstance(v, int) and v >= 1000:
        forms += [f"${v:,}", f"{v:,} dollars"] + ([f"${v // 1000}k"] if v % 1000 == 0 else [])
    if isinstance(v, int) and v <= 100:
        forms.append(f"{number_words(v)} dollars")
    return Value(v, rng.choice(forms))


@value_type("minutes", {"type": "integer", "minimum": 1}, "duration in minutes")
def _minutes(rng: Random, today: date | None) -> Value:
    hours = {
        30: ["half an hour", "30 minutes"],
        60: ["an hour", "one hour", "60 minutes"],
        90: ["an hour and a half", "1.5 hours", "90 minutes"],
        120: ["two hours", "2 hours"],
        45: ["45 minutes", "forty-five minutes", "three quarters of an hour"],
        15: ["15 minutes", "a quarter of an hour"],
        180: ["3 hours", "three hours"],
    }
    v = rng.choice(list(hours))
    return Value(v, rng.choice(hours[v]))


@value_type("seconds", {"type": "integer", "minimum": 1}, "duration in seconds")
def _seconds(rng: Random, today: date | None) -> Value:
    m = rng.choice([1, 2, 3, 5, 10, 15, 20, 25])
    return Value(m * 60, f"{say_int(rng, m)} minute{'s' if m > 1 else ''}")


@value_type("meters", {"type": "number", "minimum": 0}, "distance in meters")
def _meters(rng: Random, today: date | None) -> Value:
    km = rng.choice([0.5, 1, 1.5, 2, 2.5, 3, 5, 10, 12, 21.1])
    unit = rng.choice(["km", " km", " kilometers"])
    return Value(round(km * 1000), f"{plain_number(km)}{unit}")


@value_type("grams", {"type": "integer", "minimum": 1}, "weight in grams")
def _grams(rng: Random, today: date | None) -> Value:
    kg = rng.choice([0.25, 0.5, 1, 1.5, 2, 3])
    text = {0.25: "a quarter kilo", 0.5: "half a kilo"}.get(kg) if rng.random() < 0.5 else None
    return Value(int(kg * 1000), text or f"{plain_number(kg)} kg")


@value_type("ml", {"type": "integer", "minimum": 1}, "volume in milliliters")
def _ml(rng: Random, today: date | None) -> Value:
    forms = {
        250: ["250 ml", "a glass"],
        500: ["half a liter", "500 ml", "0.5 l"],
        330: ["330 ml", "a can"],
        1000: ["a liter", "1 l", "1000 ml"],
        750: ["750 ml"],
    }
    v = rng.choice(list(forms))
    return Value(v, rng.choice(forms[v]))


@value_type("service", {"type": "string"}, "service")
def _service(rng: Random, today: date | None) -> Value:
    v = rng.choice(["checkout", "auth-api", "web-frontend", "search", "billing", "notifier"])
    return Value(v, v)


@value_type("celsius", {"type": "number"}, "temperature in °C")
def _celsius(rng: Random, today: date | None) -> Value:
    c = rng.choice([0, 5, 10, 15, 18, 20, 21, 22, 25, 30])
    if c % 5 == 0 and rng.random() < 0.5:
        return Value(c, f"{c * 9 // 5 + 32}°F")
    return Value(c, rng.choice([f"{c}°C", f"{c} degrees", f"{c} degrees Celsius"]))


@value_type("latitude", {"type": "number", "minimum": -90, "maximum": 90}, "latitude")
def _lat(rng: Random, today: date | None) -> Value:
    v = round(rng.uniform(-60, 70), 4)
    return Value(v, str(v))


@value_type("longitude", {"type": "number", "minimum": -180, "maximum": 180}, "longitude")
def _lon(rng: Random, today: date | None) -> Value:
    v = round(rng.uniform(-150, 150), 4)
    return Value(v, str(v))


# --- dates and times -------------------------------------------------------------------------------


@value_type("date", {"type": "string", "format": "date"}, "date")
def _date(rng: Random, today: date | None) -> Value:
    d = sample_date(rng, today)
    return Value(d.isoformat(), say_date(rng, d, today))


@value_type("past_date", {"type": "string", "format": "date"}, "date")
def _past_date(rng: Random, today: date | None) -> Value:
    d = sample_date(rng, today, past=True)
    return Value(d.isoformat(), say_date(rng, d, today))


@value_type("time", {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}, "time")
def _time(rng: Random, today: date | None) -> Value:
    h, m = sample_time(rng)
    return Value(f"{h:02d}:{m:02d}", say_time(rng, h, m))


@value_type("datetime", {"type": "string", "format": "date-time"}, "date and time")
def _datetime(rng: Random, today: date | None) -> Value:
    d = sample_date(rng, today)
    h, m = sample_time(rng)
    when = say_date(rng, d, today)
    return Value(f"{d.isoformat()}T{h:02d}:{m:02d}:00", f"{when} at {say_time(rng, h, m)}")


@value_type("month", {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}, "month")
def _month(rng: Random, today: date | None) -> Value:
    y, m = rng.choice([2025, 2026]), rng.randrange(1, 13)
    return Value(f"{y}-{m:02d}", rng.choice([f"{MONTHS[m - 1]} {y}", f"{MONTHS[m - 1][:3]} {y}"]))


# --- arrays and objects ---------------------------------------------------------------------------


def _list_kind(name: str, pool: list[str], noun: str, item_schema: dict | None = None) -> None:
    @value_type(
        name, {"type": "array", "items": item_schema or {"type": "string"}, "minItems": 1}, noun
    )
    def fn(rng: Random, today: date | None) -> Value:
        items = rng.sample(pool, rng.randint(2, 4))
        return Value(items, say_list(rng, items))


_list_kind("tags", WORDS, "tags")
_list_kind("foods", FOODS, "items")
_list_kind("cities", CITIES, "cities")
_list_kind("tickers", TICKERS, "ticker symbols")


@value_type(
    "emails", {"type": "array", "items": {"type": "string", "format": "email"}}, "recipients"
)
def _emails(rng: Random, today: date | None) -> Value:
    items = list(dict.fromkeys(_email_of(rng) for _ in range(rng.randint(1, 3))))
    return Value(items, say_list(rng, items))


@value_type("people", {"type": "array", "items": {"type": "string"}}, "people")
def _people(rng: Random, today: date | None) -> Value:
    items = [f"{f} {rng.choice(LAST)}" for f in rng.sample(FIRST, rng.randint(2, 3))]
    return Value(items, say_list(rng, items))


@value_type("numbers", {"type": "array", "items": {"type": "number"}, "minItems": 1}, "numbers")
def _numbers(rng: Random, today: date | None) -> Value:
    items = [
        rng.choice([rng.randrange(1, 200), round(rng.uniform(0, 100), 1)])
        for _ in range(rng.randint(2, 5))
    ]
    items = [int(x) if float(x).is_integer() else x for x in items]
    said = [plain_number(x) for x in items]
    if rng.random() < 0.3:  # as a list is written: "[3, 4, 5]"
        return Value(items, "[" + ", ".join(said) + "]")
    return Value(items, say_list(rng, said))


@value_type("ids", {"type": "array", "items": {"type": "integer"}, "minItems": 1}, "IDs")
def _ids(rng: Random, today: date | None) -> Value:
    items = sorted(rng.sample(range(100, 9999), rng.randint(2, 4)))
    return Value(items, say_list(rng, [f"#{i}" if rng.random() < 0.3 else str(i) for i in items]))


def _obj(props: dict, required: list[str]) -> dict:
    out = {"type": "object", "properties": props}
    return out | {"required": required} if required else out


def _s(desc: str, t: str = "string") -> dict:
    return {"type": t, "description": desc}


@value_type(
    "address",
    _obj(
        {
            "street": _s("Street and number."),
            "city": _s("City."),
            "postal_code": _s("Postal code."),
            "country": _s("Country name."),
        },
        ["street", "city"],
    ),
    "address",
)
def _address(rng: Random, today: date | None) -> Value:
    street = f"{rng.randrange(1, 250)} {rng.choice(STREETS)}"
    v = {"street": street, "city": rng.choice(CITIES)}
    text = f"{street}, {v['city']}"
    if rng.random() < 0.5:
        v["postal_code"] = str(rng.randrange(10000, 99999))
        text = f"{street}, {v['postal_code']} {v['city']}"
    if rng.random() < 0.3:
        v["country"] = rng.choice(["France", "USA", "Japan", "Germany", "Brazil", "Kenya"])
        text += f", {v['country']}"
    return Value(v, text)


_LINE = _obj(
    {
        "item": _s("Menu item."),
        "quantity": {"type": "integer", "minimum": 1, "description": "How many."},
    },
    ["item", "quantity"],
)


@value_type("line_items", {"type": "array", "items": _LINE, "minItems": 1}, "items")
def _line_items(rng: Random, today: date | None) -> Value:
    names = rng.sample(list(ITEMS), rng.randint(1, 3))
    v, parts = [], []
    for name in names:
        q = rng.randint(1, 4)
        v.append({"item": name, "quantity": q})
        word = "a" if q == 1 and rng.random() < 0.5 else say_int(rng, q, 0.5)
        parts.append(f"{word} {name if q == 1 else ITEMS[name]}")
    return Value(v, say_list(rng, parts))


_FREQ = {"type": "string", "description": "How often.", "enum": ["daily", "weekly", "monthly"]}


@value_type(
    "recurrence",
    _obj(
        {
            "frequency": _FREQ,
            "interval": {
                "type": "integer",
                "description": "Repeat every N periods.",
                "minimum": 1,
                "default": 1,
            },
        },
        ["frequency"],
    ),
    "repetition",
)
def _recurrence(rng: Random, today: date | None) -> Value:
    freq = rng.choice(["daily", "weekly", "monthly"])
    unit = {"daily": "day", "weekly": "week", "monthly": "month"}[freq]
    n = rng.choice([1, 1, 2, 3])
    if n == 1:
        return Value({"frequency": freq}, rng.choice([f"every {unit}", freq]))
    return Value({"frequency": freq, "interval": n}, f"every {say_int(rng, n)} {unit}s")


@value_type(
    "price_range",
    _obj({"min": _s("Lowest price.", "number"), "max": _s("Highest price.", "number")}, []),
    "price range",
)
def _price_range(rng: Random, today: date | None) -> Value:
    lo = rng.choice([0, 10, 20, 50, 100])
    hi = lo + rng.choice([20, 50, 100, 200])
    style = rng.randrange(3)
    if style == 0:
        return Value({"max": hi}, f"under ${hi}")
    if style == 1 and lo:
        return Value({"min": lo}, f"over ${lo}")
    return Value({"min": lo, "max": hi}, f"between ${lo} and ${hi}")


@value_type(
    "coordinates",
    _obj({"lat": _s("Latitude.", "number"), "lon": _s("Longitude.", "number")}, ["lat", "lon"]),
    "coordinates",
)
def _coordinates(rng: Random, today: date | None) -> Value:
    lat, lon = round(rng.uniform(-60, 70), 4), round(rng.uniform(-150, 150), 4)
    return Value({"lat": lat, "lon": lon}, f"{lat}, {lon}")
