"""Values that need knowledge, not copying: cities to IANA time zones, unit words to symbols,
currency names to ISO codes, relative dates to ISO dates, arithmetic in words to expressions.

Each ``say_*`` function returns a ``values.Value``: what the call must hold and how a user
says it ("Tokyo" -> ``Asia/Tokyo``, "5 miles" -> ``mi``, "next Friday" -> ``2026-03-13``).
"""

from __future__ import annotations

from datetime import date, timedelta
from random import Random

from .values import MONTHS, WEEKDAYS, Value


def _table(text: str) -> dict[str, str]:
    pairs = [p.split("=") for p in text.split("|") if p.strip()]
    return {k.strip(): v.strip() for k, v in pairs}


# City -> IANA zone (a city in its country's zone; the zones are checked against zoneinfo).
CITY_ZONES: dict[str, str] = _table(
    # Europe
    "London=Europe/London|Manchester=Europe/London|Edinburgh=Europe/London|Glasgow=Europe/London|"
    "Birmingham=Europe/London|Liverpool=Europe/London|Belfast=Europe/London|Cardiff=Europe/London|"
    "Dublin=Europe/Dublin|Cork=Europe/Dublin|Lisbon=Europe/Lisbon|Porto=Europe/Lisbon|"
    "Madrid=Europe/Madrid|Barcelona=Europe/Madrid|Valencia=Europe/Madrid|Seville=Europe/Madrid|"
    "Bilbao=Europe/Madrid|Paris=Europe/Paris|Lyon=Europe/Paris|Marseille=Europe/Paris|"
    "Nice=Europe/Paris|Toulouse=Europe/Paris|Bordeaux=Europe/Paris|Brussels=Europe/Brussels|"
    "Antwerp=Europe/Brussels|Amsterdam=Europe/Amsterdam|Rotterdam=Europe/Amsterdam|"
    "Luxembourg=Europe/Luxembourg|Berlin=Europe/Berlin|Munich=Europe/Berlin|Hamburg=Europe/Berlin|"
    "Frankfurt=Europe/Berlin|Cologne=Europe/Berlin|Stuttgart=Europe/Berlin|Dresden=Europe/Berlin|"
    "Zurich=Europe/Zurich|Geneva=Europe/Zurich|Basel=Europe/Zurich|Vienna=Europe/Vienna|"
    "Salzburg=Europe/Vienna|Rome=Europe/Rome|Milan=Europe/Rome|Naples=Europe/Rome|"
    "Florence=Europe/Rome|Venice=Europe/Rome|Turin=Europe/Rome|Copenhagen=Europe/Copenhagen|"
    "Oslo=Europe/Oslo|Bergen=Europe/Oslo|Stockholm=Europe/Stockholm|Gothenburg=Europe/Stockholm|"
    "Helsinki=Europe/Helsinki|Reykjavik=Atlantic/Reykjavik|Tallinn=Europe/Tallinn|"
    "Riga=Europe/Riga|Vilnius=Europe/Vilnius|Warsaw=Europe/Warsaw|Krakow=Europe/Warsaw|"
    "Prague=Europe/Prague|Brno=Europe/Prague|Bratislava=Europe/Bratislava|"
    "Budapest=Europe/Budapest|Ljubljana=Europe/Ljubljana|Zagreb=Europe/Zagreb|"
    "Belgrade=Europe/Belgrade|Sarajevo=Europe/Sarajevo|Bucharest=Europe/Bucharest|"
    "Sofia=Europe/Sofia|Athens=Europe/Athens|Thessaloniki=Europe/Athens|"
    "Istanbul=Europe/Istanbul|Ankara=Europe/Istanbul|Kyiv=Europe/Kyiv|Odesa=Europe/Kyiv|"
    "Minsk=Europe/Minsk|Moscow=Europe/Moscow|Saint Petersburg=Europe/Moscow|"
    "Chisinau=Europe/Chisinau|Valletta=Europe/Malta|Monaco=Europe/Monaco|Andorra la Vella=Europe/Andorra|"
    "Tirana=Europe/Tirane|Skopje=Europe/Skopje|Podgorica=Europe/Podgorica|Nicosia=Asia/Nicosia|"
    # Americas
    "New York=America/New_York|Boston=America/New_York|Washington=America/New_York|"
    "Philadelphia=America/New_York|Miami=America/New_York|Atlanta=America/New_York|"
    "Orlando=America/New_York|Pittsburgh=America/New_York|Charlotte=America/New_York|"
    "Detroit=America/Detroit|Chicago=America/Chicago|Houston=America/Chicago|"
    "Dallas=America/Chicago|Austin=America/Chicago|San Antonio=America/Chicago|"
    "New Orleans=America/Chicago|Minneapolis=America/Chicago|Nashville=America/Chicago|"
    "St. Louis=America/Chicago|Kansas City=America/Chicago|Milwaukee=America/Chicago|"
    "Denver=America/Denver|Salt Lake City=America/Denver|Albuquerque=America/Denver|"
    "Phoenix=America/Phoenix|Tucson=America/Phoenix|Los Angeles=America/Los_Angeles|"
    "San Francisco=America/Los_Angeles|San Diego=America/Los_Angeles|"
    "Seattle=America/Los_Angeles|Portland=America/Los_Angeles|Las Vegas=America/Los_Angeles|"
    "Sacramento=America/Los_Angeles|San Jose=America/Los_Angeles|Anchorage=America/Anchorage|"
    "Honolulu=Pacific/Honolulu|Toronto=America/Toronto|Ottawa=America/Toronto|"
    "Montreal=America/Toronto|Quebec City=America/Toronto|Winnipeg=America/Winnipeg|"
    "Regina=America/Regina|Calgary=America/Edmonton|Edmonton=America/Edmonton|"
    "Vancouver=America/Vancouver|Victoria=America/Vancouver|Halifax=America/Halifax|"
    "St. John's=America/St_Johns|Mexico City=America/Mexico_City|Guadalajara=America/Mexico_City|"
    "Monterrey=America/Monterrey|Cancun=America/Cancun|Tijuana=America/Tijuana|"
    "Guatemala City=America/Guatemala|San Salvador=America/El_Salvador|"
    "Tegucigalpa=America/Tegucigalpa|Managua=America/Managua|San Jose de Costa Rica=America/Costa_Rica|"
    "Panama City=America/Panama|Havana=America/Havana|Kingston=America/Jamaica|"
    "Santo Domingo=America/Santo_Domingo|San Juan=America/Puerto_Rico|Nassau=America/Nassau|"
    "Bogota=America/Bogota|Medellin=America/Bogota|Caracas=America/Caracas|Quito=America/Guayaquil|"
    "Guayaquil=America/Guayaquil|Lima=America/Lima|La Paz=America/La_Paz|"
    "Santiago=America/Santiago|Buenos Aires=America/Argentina/Buenos_Aires|"
    "Cordoba=America/Argentina/Cordoba|Montevideo=America/Montevideo|Asuncion=America/Asuncion|"
    "Sao Paulo=America/Sao_Paulo|Rio de Janeiro=America/Sao_Paulo|Brasilia=America/Sao_Paulo|"
    "Salvador=America/Bahia|Recife=America/Recife|Fortaleza=America/Fortaleza|"
    "Manaus=America/Manaus|Belem=America/Belem|Georgetown=America/Guyana|Paramaribo=America/Paramaribo|"
    # Africa and the Middle East
    "Cairo=Africa/Cairo|Alexandria=Africa/Cairo|Casablanca=Africa/Casablanca|Rabat=Africa/Casablanca|"
    "Marrakesh=Africa/Casablanca|Algiers=Africa/Algiers|Tunis=Africa/Tunis|Tripoli=Africa/Tripoli|"
    "Lagos=Africa/Lagos|Abuja=Africa/Lagos|Accra=Africa/Accra|Dakar=Africa/Dakar|"
    "Abidjan=Africa/Abidjan|Bamako=Africa/Bamako|Kinshasa=Africa/Kinshasa|Luanda=Africa/Luanda|"
    "Nairobi=Africa/Nairobi|Mombasa=Africa/Nairobi|Addis Ababa=Africa/Addis_Ababa|"
    "Kampala=Africa/Kampala|Dar es Salaam=Africa/Dar_es_Salaam|Kigali=Africa/Kigali|"
    "Khartoum=Africa/Khartoum|Mogadishu=Africa/Mogadishu|Lusaka=Africa/Lusaka|Harare=Africa/Harare|"
    "Maputo=Africa/Maputo|Johannesburg=Africa/Johannesburg|Cape Town=Africa/Johannesburg|"
    "Durban=Africa/Johannesburg|Pretoria=Africa/Johannesburg|Windhoek=Africa/Windhoek|"
    "Gaborone=Africa/Gaborone|Antananarivo=Indian/Antananarivo|Port Louis=Indian/Mauritius|"
    "Dubai=Asia/Dubai|Abu Dhabi=Asia/Dubai|Doha=Asia/Qatar|Riyadh=Asia/Riyadh|Jeddah=Asia/Riyadh|"
    "Kuwait City=Asia/Kuwait|Manama=Asia/Bahrain|Muscat=Asia/Muscat|Tehran=Asia/Tehran|"
    "Baghdad=Asia/Baghdad|Amman=Asia/Amman|Beirut=Asia/Beirut|Damascus=Asia/Damascus|"
    "Jerusalem=Asia/Jerusalem|Tel Aviv=Asia/Jerusalem|Tbilisi=Asia/Tbilisi|Yerevan=Asia/Yerevan|"
    "Baku=Asia/Baku|"
    # Asia and Oceania
    "Karachi=Asia/Karachi|Lahore=Asia/Karachi|Islamabad=Asia/Karachi|Kabul=Asia/Kabul|"
    "Tashkent=Asia/Tashkent|Almaty=Asia/Almaty|Mumbai=Asia/Kolkata|Delhi=Asia/Kolkata|"
    "New Delhi=Asia/Kolkata|Bangalore=Asia/Kolkata|Chennai=Asia/Kolkata|Kolkata=Asia/Kolkata|"
    "Hyderabad=Asia/Kolkata|Pune=Asia/Kolkata|Ahmedabad=Asia/Kolkata|Jaipur=Asia/Kolkata|"
    "Kathmandu=Asia/Kathmandu|Colombo=Asia/Colombo|Dhaka=Asia/Dhaka|Thimphu=Asia/Thimphu|"
    "Male=Indian/Maldives|Yangon=Asia/Yangon|Bangkok=Asia/Bangkok|Chiang Mai=Asia/Bangkok|"
    "Phuket=Asia/Bangkok|Hanoi=Asia/Bangkok|Ho Chi Minh City=Asia/Ho_Chi_Minh|"
    "Phnom Penh=Asia/Phnom_Penh|Vientiane=Asia/Vientiane|Kuala Lumpur=Asia/Kuala_Lumpur|"
    "Singapore=Asia/Singapore|Jakarta=Asia/Jakarta|Bali=Asia/Makassar|Manila=Asia/Manila|"
    "Cebu=Asia/Manila|Hong Kong=Asia/Hong_Kong|Macau=Asia/Macau|Taipei=Asia/Taipei|"
    "Beijing=Asia/Shanghai|Shanghai=Asia/Shanghai|Shenzhen=Asia/Shanghai|Guangzhou=Asia/Shanghai|"
    "Chengdu=Asia/Shanghai|Wuhan=Asia/Shanghai|Xi'an=Asia/Shanghai|Hangzhou=Asia/Shanghai|"
    "Ulaanbaatar=Asia/Ulaanbaatar|Seoul=Asia/Seoul|Busan=Asia/Seoul|Pyongyang=Asia/Pyongyang|"
    "Tokyo=Asia/Tokyo|Osaka=Asia/Tokyo|Kyoto=Asia/Tokyo|Yokohama=Asia/Tokyo|Sapporo=Asia/Tokyo|"
    "Nagoya=Asia/Tokyo|Fukuoka=Asia/Tokyo|Hiroshima=Asia/Tokyo|Okinawa=Asia/Tokyo|"
    "Vladivostok=Asia/Vladivostok|Novosibirsk=Asia/Novosibirsk|Yekaterinburg=Asia/Yekaterinburg|"
    "Sydney=Australia/Sydney|Canberra=Australia/Sydney|Melbourne=Australia/Melbourne|"
    "Brisbane=Australia/Brisbane|Gold Coast=Australia/Brisbane|Perth=Australia/Perth|"
    "Adelaide=Australia/Adelaide|Darwin=Australia/Darwin|Hobart=Australia/Hobart|"
    "Auckland=Pacific/Auckland|Wellington=Pacific/Auckland|Christchurch=Pacific/Auckland|"
    "Queenstown=Pacific/Auckland|Suva=Pacific/Fiji|Port Moresby=Pacific/Port_Moresby|"
    "Noumea=Pacific/Noumea|Apia=Pacific/Apia|Papeete=Pacific/Tahiti|Guam=Pacific/Guam"
)

# Unit symbol (as the demo server spells it) -> words a user says; the quantity first.
UNIT_WORDS: dict[str, tuple[str, list[str]]] = {
    "mm": ("length", ["millimeters", "millimetres", "mm"]),
    "cm": ("length", ["centimeters", "centimetres", "cm"]),
    "m": ("length", ["meters", "metres"]),
    "km": ("length", ["kilometers", "kilometres", "km", "kms"]),
    "in": ("length", ["inches"]),
    "ft": ("length", ["feet", "foot"]),
    "yd": ("length", ["yards"]),
    "mi": ("length", ["miles"]),
    "nmi": ("length", ["nautical miles"]),
    "mg": ("mass", ["milligrams", "mg"]),
    "g": ("mass", ["grams", "g"]),
    "kg": ("mass", ["kilograms", "kilos", "kg"]),
    "t": ("mass", ["metric tons", "tonnes"]),
    "oz": ("mass", ["ounces", "oz"]),
    "lb": ("mass", ["pounds", "lbs", "lb"]),
    "st": ("mass", ["stone"]),
    "ml": ("volume", ["milliliters", "millilitres", "ml"]),
    "l": ("volume", ["liters", "litres"]),
    "tsp": ("volume", ["teaspoons", "tsp"]),
    "tbsp": ("volume", ["tablespoons", "tbsp"]),
    "cup": ("volume", ["cups"]),
    "pt": ("volume", ["pints"]),
    "qt": ("volume", ["quarts"]),
    "gal": ("volume", ["gallons", "US gallons"]),
    "m/s": ("speed", ["meters per second", "m/s"]),
    "km/h": ("speed", ["kilometers per hour", "km/h", "kph"]),
    "mph": ("speed", ["miles per hour", "mph"]),
    "kn": ("speed", ["knots"]),
    "KB": ("data", ["kilobytes", "KB"]),
    "MB": ("data", ["megabytes", "MB"]),
    "GB": ("data", ["gigabytes", "GB", "gigs"]),
    "TB": ("data", ["terabytes", "TB"]),
    "MiB": ("data", ["mebibytes", "MiB"]),
    "GiB": ("data", ["gibibytes", "GiB"]),
    "C": ("temperature", ["degrees Celsius", "°C", "Celsius"]),
    "F": ("temperature", ["degrees Fahrenheit", "°F", "Fahrenheit"]),
    "K": ("temperature", ["kelvin"]),
}
# The same units as long enum values ("kilometers"), the other vocabulary schemas use.
UNIT_LONG = {
    "mm": "millimeters",
    "cm": "centimeters",
    "m": "meters",
    "km": "kilometers",
    "in": "inches",
    "ft": "feet",
    "yd": "yards",
    "mi": "miles",
    "mg": "milligrams",
    "g": "grams",
    "kg": "kilograms",
    "oz": "ounces",
    "lb": "pounds",
    "ml": "milliliters",
    "l": "liters",
    "cup": "cups",
    "tsp": "teaspoons",
    "tbsp": "tablespoons",
    "gal": "gallons",
    "C": "celsius",
    "F": "fahrenheit",
    "K": "kelvin",
    "km/h": "kilometers_per_hour",
    "mph": "miles_per_hour",
    "m/s": "meters_per_second",
}

# ISO 4217 code -> what people call the currency.
CURRENCY_NAMES: dict[str, list[str]] = {
    "USD": ["US dollars", "dollars", "American dollars", "bucks"],
    "EUR": ["euros", "euro"],
    "GBP": ["British pounds", "pounds sterling", "sterling"],
    "JPY": ["Japanese yen", "yen"],
    "CHF": ["Swiss francs"],
    "CAD": ["Canadian dollars"],
    "AUD": ["Australian dollars"],
    "NZD": ["New Zealand dollars"],
    "CNY": ["Chinese yuan", "yuan", "renminbi"],
    "INR": ["Indian rupees", "rupees"],
    "KRW": ["South Korean won", "won"],
    "MXN": ["Mexican pesos"],
    "BRL": ["Brazilian reais", "reais"],
    "SEK": ["Swedish kronor"],
    "NOK": ["Norwegian kroner"],
    "DKK": ["Danish kroner"],
    "PLN": ["Polish zloty", "zloty"],
    "CZK": ["Czech koruna"],
    "HUF": ["Hungarian forints", "forints"],
    "TRY": ["Turkish lira"],
    "ZAR": ["South African rand", "rand"],
    "SGD": ["Singapore dollars"],
    "HKD": ["Hong Kong dollars"],
    "THB": ["Thai baht", "baht"],
    "AED": ["UAE dirhams", "dirhams"],
    "ILS": ["Israeli shekels", "shekels"],
    "EGP": ["Egyptian pounds"],
    "NGN": ["Nigerian naira", "naira"],
    "KES": ["Kenyan shillings"],
    "ARS": ["Argentine pesos"],
    "CLP": ["Chilean pesos"],
    "IDR": ["Indonesian rupiah", "rupiah"],
    "PHP": ["Philippine pesos"],
    "VND": ["Vietnamese dong", "dong"],
}


def say_city_zone(rng: Random, avoid: tuple[str, ...] = ()) -> tuple[str, Value]:
    """A city and its zone: ``(city, Value(zone, city))``."""
    city = rng.choice([c for c in CITY_ZONES if CITY_ZONES[c] not in avoid])
    return city, Value(CITY_ZONES[city], city)


def say_unit(rng: Random, quantity: str | None = None, long: bool = False) -> Value:
    """A unit: the symbol (or its long enum value) and a word for it."""
    pool = [u for u, (q, _) in UNIT_WORDS.items() if quantity in (None, q)]
    if long:
        pool = [u for u in pool if u in UNIT_LONG]
    u = rng.choice(pool)
    return Value(UNIT_LONG[u] if long else u, rng.choice(UNIT_WORDS[u][1]))


def say_currency(rng: Random, avoid: tuple[str, ...] = ()) -> Value:
    code = rng.choice([c for c in CURRENCY_NAMES if c not in avoid])
    return Value(code, rng.choice(CURRENCY_NAMES[code]))


def say_relative_date(rng: Random, today: date) -> Value:
    """A date said relative to ``today`` ("tomorrow", "next Friday", "in 3 days") and its ISO
    form. "next Friday" is the first Friday after today; "this Friday" is today when today is
    a Friday, else the next one."""
    how = rng.choice(
        [
            "tomorrow",
            "yesterday",
            "today",
            "after",
            "in_days",
            "in_weeks",
            "next",
            "this",
            "on",
            "last",
        ]
    )
    if how in ("tomorrow", "yesterday", "today"):
        d = today + timedelta({"tomorrow": 1, "yesterday": -1, "today": 0}[how])
        return Value(d.isoformat(), how)
    if how == "after":
        return Value((today + timedelta(2)).isoformat(), "the day after tomorrow")
    if how == "in_days":
        n = rng.randint(2, 30)
        return Value(
            (today + timedelta(n)).isoformat(), rng.choice([f"in {n} days", f"{n} days from now"])
        )
    if how == "in_weeks":
        n = rng.randint(1, 6)
        word = "a week" if n == 1 else f"{n} weeks"
        return Value(
            (today + timedelta(7 * n)).isoformat(), rng.choice([f"in {word}", f"{word} from today"])
        )
    wd = rng.randrange(7)
    ahead = (wd - today.weekday()) % 7
    if how == "next":
        d = today + timedelta(ahead or 7)
    elif how == "last":
        d = today - timedelta(((today.weekday() - wd) % 7) or 7)
    else:
        d = today + timedelta(ahead)
    word = {"next": "next", "this": "this", "on": "on", "last": "last"}[how]
    return Value(d.isoformat(), f"{word} {WEEKDAYS[wd]}")


def say_date(rng: Random, today: date | None) -> Value:
    """A date, said relative to today when there is one, else spelled out."""
    if today is not None and rng.random() < 0.7:
        return say_relative_date(rng, today)
    d = date(2025, 1, 1) + timedelta(rng.randrange(1100))
    return Value(
        d.isoformat(),
        rng.choice(
            [
                f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
                f"{d.day} {MONTHS[d.month - 1]} {d.year}",
                d.isoformat(),
            ]
        ),
    )


def _num(rng: Random, lo: int, hi: int) -> int:
    return rng.randint(lo, hi)


def say_expression(rng: Random) -> tuple[Value, float]:
    """Arithmetic in words and the expression a calculator takes, with its value. The numbers
    keep the order the user said them in."""
    how = rng.choice(
        [
            "times",
            "plus",
            "minus",
            "divided",
            "percent",
            "power",
            "sqrt",
            "mixed",
            "percent_off",
            "average",
        ]
    )
    a, b = _num(rng, 2, 999), _num(rng, 2, 99)
    if how == "times":
        said = rng.choice(
            [
                f"{a} times {b}",
                f"{a} multiplied by {b}",
                f"{a} x {b}",
                f"{a}*{b}",
                f"the product of {a} and {b}",
            ]
        )
        return Value(f"{a} * {b}", said), a * b
    if how == "plus":
        said = rng.choice(
            [
                f"{a} plus {b}",
                f"{a} + {b}",
                f"the sum of {a} and {b}",
                f"{a} and {b} added together",
            ]
        )
        return Value(f"{a} + {b}", said), a + b
    if how == "minus":
        said = rng.choice([f"{a} minus {b}", f"{a} - {b}", f"{b} subtracted from {a}"])
        return Value(f"{a} - {b}", said), a - b
    if how == "divided":
        said = rng.choice([f"{a} divided by {b}", f"{a} / {b}", f"{a} over {b}"])
        return Value(f"{a} / {b}", said), a / b
    if how == "percent":
        p = rng.choice([5, 10, 12, 15, 18, 20, 25, 30, 35, 40, 60, 75, 8, 3])
        said = rng.choice([f"{p}% of {a}", f"{p} % of {a}", f"{p} percent of {a}"])
        return Value(f"{p} / 100 * {a}", said), p / 100 * a
    if how == "percent_off":
        p = rng.choice([10, 15, 20, 25, 30, 40, 50])
        said = rng.choice([f"{a} minus {p}%", f"{a} with {p}% off", f"{a} after a {p}% discount"])
        return Value(f"{a} * (1 - {p} / 100)", said), a * (1 - p / 100)
    if how == "power":
        x, n = _num(rng, 2, 12), _num(rng, 2, 10)
        said = rng.choice([f"{x} to the power of {n}", f"{x}^{n}", f"{x} raised to {n}"])
        return Value(f"{x} ** {n}", said), x**n
    if how == "sqrt":
        x = rng.choice([_num(rng, 2, 40) ** 2, _num(rng, 2, 5000)])
        said = rng.choice([f"the square root of {x}", f"sqrt of {x}", f"the root of {x}"])
        return Value(f"sqrt({x})", said), x**0.5
    if how == "average":
        xs = [_num(rng, 1, 200) for _ in range(rng.randint(3, 5))]
        said = f"the average of {', '.join(map(str, xs[:-1]))} and {xs[-1]}"
        return Value(f"({' + '.join(map(str, xs))}) / {len(xs)}", said), sum(xs) / len(xs)
    c = _num(rng, 2, 50)
    said = rng.choice([f"({a} + {b}) * {c}", f"{a} plus {b}, times {c}"])
    return Value(f"({a} + {b}) * {c}", said), (a + b) * c


# Size of each unit in its quantity's base unit (metre, kilogram, litre, metre per second).
UNIT_FACTORS = {
    "mm": 1e-3,
    "cm": 1e-2,
    "m": 1.0,
    "km": 1e3,
    "in": 0.0254,
    "ft": 0.3048,
    "yd": 0.9144,
    "mi": 1609.344,
    "nmi": 1852.0,
    "mg": 1e-6,
    "g": 1e-3,
    "kg": 1.0,
    "t": 1e3,
    "oz": 0.028349523125,
    "lb": 0.45359237,
    "st": 6.35029318,
    "ml": 1e-3,
    "l": 1.0,
    "tsp": 0.00492892159375,
    "tbsp": 0.01478676478125,
    "cup": 0.2365882365,
    "pt": 0.473176473,
    "qt": 0.946352946,
    "gal": 3.785411784,
    "m/s": 1.0,
    "km/h": 1 / 3.6,
    "mph": 0.44704,
    "kn": 1852 / 3600,
    "KB": 1e3,
    "MB": 1e6,
    "GB": 1e9,
    "TB": 1e12,
    "MiB": 1024**2,
    "GiB": 1024**3,
}


def convert_unit(value: float, src: str, dst: str) -> float:
    """``value`` in ``src`` expressed in ``dst`` (symbols or long names of one quantity)."""
    short = {v: k for k, v in UNIT_LONG.items()}
    src, dst = short.get(src, src), short.get(dst, dst)
    if UNIT_WORDS[src][0] == "temperature":
        kelvin = {"C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15, "K": value}[src]
        return {"C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32, "K": kelvin}[dst]
    return value * UNIT_FACTORS[src] / UNIT_FACTORS[dst]
