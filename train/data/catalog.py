"""The tool catalog: a few hundred tools over thirty domains, built from ``domains.py``.

Entities get the usual families (get, list, create, update, delete, search, export, share,
archive); actions come one per table row. Each domain names its tools in one style, chosen by
the seed: snake_case, camelCase (parameters too), dotted (``calendar.create_event``) or
kebab-case. A ``CatalogTool`` samples argument values (``values.Value``: what the call holds
and how the user says it) and fakes a plausible result for a call. ``split_tools`` holds out
whole tools, chosen by a seeded hash of their names.
"""

from __future__ import annotations

import hashlib
import re
import statistics
from dataclasses import dataclass
from datetime import date
from functools import cache
from random import Random
from typing import Any

from bslm.models.tools import ToolSpec, to_openai_tool

from .domains import ACTIONS, ENTITIES, RESULT_POOLS
from .fields import FIELDS
from .value_types import VALUE_TYPES, sample
from .values import Value, say_enum

STYLES = ("snake", "camel", "dotted", "kebab")
OP_INTENTS = {
    "get": [
        "get the {e}",
        "look up the {e}",
        "show me the {e}",
        "pull up the {e}",
        "fetch the {e}",
        "open the {e}",
    ],
    "list": [
        "list my {p}",
        "show all my {p}",
        "give me a list of my {p}",
        "show me my {p}",
        "list the {p}",
    ],
    "create": ["create {a} {e}", "add a new {e}", "make {a} {e}", "set up {a} {e}", "add {a} {e}"],
    "update": ["update the {e}", "change the {e}", "edit the {e}", "modify the {e}"],
    "delete": ["delete the {e}", "remove the {e}", "get rid of the {e}", "erase the {e}"],
    "search": ["search my {p}", "find {p}", "look for {p}", "search through my {p}"],
    "export": ["export my {p}", "download my {p}", "give me an export of my {p}"],
    "share": ["share the {e}", "give access to the {e}", "open up the {e}"],
    "archive": ["archive the {e}", "move the {e} to the archive", "put away the {e}"],
}
OP_DESCRIPTIONS = {
    "get": ["Get a {e} by its ID.", "Retrieve the details of one {e}.", "Fetch a single {e}."],
    "list": [
        "List {p}.",
        "List {p}, most recent first.",
        "Return the user's {p}, optionally filtered.",
    ],
    "create": ["Create a new {e}.", "Add {a} {e}.", "Create {a} {e} and return its ID."],
    "update": [
        "Update an existing {e}; fields left out stay unchanged.",
        "Change fields of {a} {e}.",
    ],
    "delete": ["Delete {a} {e}.", "Permanently remove {a} {e}."],
    "search": ["Search {p} by keywords.", "Full-text search over {p}."],
    "export": ["Export {p} to a file.", "Download {p} as a file."],
    "share": ["Share {a} {e} with other people by email.", "Give other people access to {a} {e}."],
    "archive": ["Archive {a} {e}; it can be restored later.", "Move {a} {e} to the archive."],
}
UNIT_GROUPS = (("km", "miles"), ("kg", "lb"), ("liters", "gallons"))
FACTORS = {
    ("km", "miles"): 0.621371,
    ("miles", "km"): 1.609344,
    ("kg", "lb"): 2.204623,
    ("lb", "kg"): 0.453592,
    ("liters", "gallons"): 0.264172,
    ("gallons", "liters"): 3.785412,
}
TRANSLATIONS = {
    ("Thanks for your help today", "fr"): "Merci pour votre aide aujourd'hui",
    ("Thanks for your help today", "es"): "Gracias por tu ayuda hoy",
    ("Thanks for your help today", "de"): "Danke für deine Hilfe heute",
    ("The report is ready for review", "fr"): "Le rapport est prêt à être relu",
    ("The report is ready for review", "es"): "El informe está listo para revisión",
    ("The report is ready for review", "de"): "Der Bericht ist bereit zur Durchsicht",
    ("Happy birthday, have a great day!", "fr"): "Joyeux anniversaire, passe une belle journée !",
    ("Happy birthday, have a great day!", "es"): "¡Feliz cumpleaños, que tengas un gran día!",
    (
        "Happy birthday, have a great day!",
        "de",
    ): "Alles Gute zum Geburtstag, hab einen schönen Tag!",
}


def _stable(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


@dataclass(frozen=True)
class Field:
    key: str  # fields.FIELDS key, possibly with a #variant
    type: str  # a value type of ``value_types.py``, ``enum:a,b`` or ``id:<noun>``
    desc: str
    mentions: tuple[str, ...]
    default: Any = None  # None: no default

    @property
    def name(self) -> str:
        return self.key.split("#")[0]

    @property
    def options(self) -> list[str]:
        return self.type[5:].split(",") if self.type.startswith("enum:") else []

    @property
    def noun(self) -> str:
        noun = self.name.replace("_", " ")
        return noun[:-3] + " ID" if noun.endswith(" id") else noun


@cache
def get_field(key: str) -> Field:
    """The field of a key; ``<noun>_id`` keys not in the table are IDs of that noun. Raises
    KeyError for an unknown key."""
    if key in FIELDS:
        vtype, desc, mentions, default = FIELDS[key]
        return Field(key, vtype, desc, tuple(mentions.split("|")), default)
    if key.split("#")[0].endswith("_id"):
        noun = key.split("#")[0][:-3].replace("_", " ")
        return Field(key, f"id:{noun}", f"ID of the {noun}.", ("{}", "with ID {}", "(ID {})"))
    raise KeyError(f"no field {key!r} in fields.FIELDS")


def make_id(rng: Random, noun: str) -> str:
    words = noun.split()
    prefix = "".join(w[0] for w in words) if len(words) > 1 else noun[:3]
    n = rng.randrange(100, 99999)
    return [f"{prefix}_{n}", f"{prefix.upper()}-{n}", str(n)][_stable(noun) % 3]


def sample_type(vtype: str, rng: Random, today: date | None) -> Value:
    if vtype.startswith("id:"):
        v = make_id(rng, vtype[3:])
        return Value(v, v)
    return sample(vtype.split("#")[0], rng, today)


def field_schema(f: Field, noun: str, with_default: bool = True) -> dict:
    desc = f.desc.replace("{e}", noun)
    if f.type == "flag":
        base: dict = {"type": "boolean"}
    elif f.options:
        base = {"type": "string", "enum": f.options}
    elif f.type.startswith("id:"):
        base = {"type": "string"}
    else:
        base = dict(VALUE_TYPES[f.type].schema)
    if "description" in base:
        desc = f"{desc} ({base.pop('description')})" if base["description"] not in desc else desc
    out = {"type": base.pop("type"), "description": desc, **base}
    if with_default and f.default is not None:
        out["default"] = f.default
    return out


@dataclass(frozen=True)
class Param:
    name: str  # as the schema spells it
    field: Field
    required: bool


@dataclass
class CatalogTool:
    spec: ToolSpec
    domain: str
    op: str  # get, list, create, update, delete, search, export, share, archive or action
    group: str  # the entity noun, or the action's base name
    intents: tuple[str, ...]  # verb phrases; ``{field}`` slots take bare values
    params: tuple[Param, ...]
    result: str  # result spec (see domains.py); "" for entity families
    label: Param | None = None  # the field that names an entity in lists
    fields: tuple[Param, ...] = ()  # an entity's fields (what ``get`` returns)

    @property
    def name(self) -> str:
        return self.spec.name

    def openai(self) -> dict:
        return to_openai_tool(self.spec)

    def param(self, field_name: str) -> Param | None:
        return next((p for p in self.params if p.field.name == field_name), None)

    def sample_value(self, p: Param, rng: Random, today: date | None) -> Value:
        f = p.field
        if f.type == "flag":
            b = (not f.default) if rng.random() < 0.7 else bool(f.default)
            return Value(b, f.mentions[0 if b else 1])
        if f.options:
            option = rng.choice(f.options)
            return Value(option, say_enum(rng, option))
        return sample_type(f.type, rng, today)

    def sample_args(
        self, rng: Random, today: date | None, optional: float = 0.35, omit: tuple[str, ...] = ()
    ) -> dict[str, Value]:
        """Values for every required parameter (except ``omit``) and some optional ones, in
        schema order; an update sets at least one field."""
        chosen = [p for p in self.params if p.required and p.name not in omit]
        opt = [p for p in self.params if not p.required and p.name not in omit]
        picked = [p for p in opt if rng.random() < optional]
        if self.op == "update" and not picked and opt:
            picked = [rng.choice(opt)]
        names = {p.name for p in chosen + picked}
        args = {p.name: self.sample_value(p, rng, today) for p in self.params if p.name in names}
        return self._fix(args, rng, today)

    def _fix(self, args: dict[str, Value], rng: Random, today: date | None) -> dict[str, Value]:
        """Keep pairs of arguments sensible: distinct ends, compatible units, min below max."""
        by_field = {p.field.name: p for p in self.params if p.name in args}
        if "unit_from" in by_field and "unit_to" in by_field:
            a, b = rng.sample(rng.choice(UNIT_GROUPS), 2)
            args[by_field["unit_from"].name] = Value(a, a)
            args[by_field["unit_to"].name] = Value(b, b)
        for x, y in (
            ("origin", "destination"),
            ("from_currency", "to_currency"),
            ("source", "target"),
            ("from_address", "to_address"),
            ("min", "max"),
        ):
            if x in by_field and y in by_field:
                px, py = by_field[x], by_field[y]
                for _ in range(20):
                    vx, vy = args[px.name].value, args[py.name].value
                    if vx != vy and (x != "min" or vx < vy):
                        break
                    args[py.name] = self.sample_value(py, rng, today)
                else:
                    args[px.name], args[py.name] = args[py.name], args[px.name]
        return args

    # --- results ---

    def fake_result(self, rng: Random, args: dict, today: date | None) -> Any:
        """A plausible result (a JSON object or list) for a call with these arguments."""
        if self.result:
            return _build(parse_result_spec(self.result), self, rng, args, today)
        return self._entity_result(rng, args, today)

    def _entity_result(self, rng: Random, args: dict, today: date | None) -> Any:
        noun = self.group
        ident = next(
            (args[p.name] for p in self.params if p.field.type == f"id:{noun}" and p.name in args),
            None,
        )
        ident = ident or make_id(rng, noun)
        label = self.label.name if self.label else "name"
        if self.op in ("list", "search"):
            items = []
            limit = next(
                (args[p.name] for p in self.params if p.field.name == "limit" and p.name in args), 4
            )
            for _ in range(rng.randint(1, min(4, limit))):
                v = self.sample_value(self.label, rng, today).value if self.label else noun
                items.append({"id": make_id(rng, noun), label: v})
            query = next(
                (args[p.name] for p in self.params if p.field.name == "query" and p.name in args),
                None,
            )
            if query is not None and self.label and self.label.field.type not in ("flag",):
                items[rng.randrange(len(items))][label] = query
            return items if rng.random() < 0.5 else {"items": items, "total": len(items)}
        if self.op == "get":
            out: dict = {"id": ident}
            for p in self.fields:
                if p.required or rng.random() < 0.5:
                    out[p.name] = self.sample_value(p, rng, today).value
            return out
        if self.op == "create":
            return {"id": ident, "status": "created"} | {
                k: v for k, v in args.items() if k == label
            }
        if self.op == "update":
            return {"id": ident, "updated": [k for k in args if args[k] != ident]}
        if self.op == "export":
            fmt = next(
                iter(
                    v for k, v in args.items() if isinstance(v, str) and v in ("json", "csv", "pdf")
                ),
                "csv",
            )
            return {
                "file": f"exports/{noun.replace(' ', '_')}s.{fmt}",
                "rows": rng.randrange(3, 400),
            }
        if self.op == "share":
            return {"id": ident, "shared": True}
        return {"id": ident, {"delete": "deleted", "archive": "archived"}[self.op]: True}


@cache
def parse_result_spec(spec: str) -> tuple:
    """``"a:kind b:[c:kind]"`` -> ``(("a", "kind"), ("b", (("c", "kind"),)))``; a spec in
    brackets is a list of such objects (returned as ``("[]", fields)``)."""
    spec = spec.strip()
    if spec.startswith("[") and spec.endswith("]"):
        return ("[]", parse_result_spec(spec[1:-1]))
    out = []
    for m in re.finditer(r"(\w+):\[([^\]]*)\]|(\w+):(\S+)", spec):
        if m.group(1):
            out.append((m.group(1), ("[]", parse_result_spec(m.group(2)))))
        else:
            out.append((m.group(3), m.group(4)))
    return tuple(out)


def _build(spec: tuple, tool: CatalogTool, rng: Random, args: dict, today: date | None) -> Any:
    if spec[:1] == ("[]",):
        return [_build(spec[1], tool, rng, args, today) for _ in range(rng.randint(2, 3))]
    out = {}
    for name, what in spec:
        if isinstance(what, tuple):
            out[name] = _build(what, tool, rng, args, today)
        elif what.startswith("="):
            p = tool.param(what[1:])
            out[name] = args[p.name] if p and p.name in args else (p.field.default if p else None)
            if out[name] is None:
                del out[name]
        elif what.startswith("@"):
            out[name] = _special(what[1:], tool, rng, args)
        elif what in ("date", "datetime") and (day := _day_asked(tool, args)):
            # results about the day the call asked for
            h, m = rng.randrange(7, 21), rng.choice([0, 15, 30, 45])
            out[name] = day if what == "date" else f"{day}T{h:02d}:{m:02d}:00"
        else:
            out[name] = sample_type(what, rng, today).value
    return out


def _day_asked(tool: CatalogTool, args: dict) -> str | None:
    for p in tool.params:
        if p.field.type in ("date", "datetime") and p.name in args:
            return args[p.name][:10]
    return None


def _arg(tool: CatalogTool, args: dict, field_name: str) -> Any:
    p = tool.param(field_name)
    return args.get(p.name) if p else None


def _special(name: str, tool: CatalogTool, rng: Random, args: dict) -> Any:
    if name in RESULT_POOLS:
        return rng.choice(RESULT_POOLS[name])
    if name == "calc":
        a, op, b = _arg(tool, args, "expression").split()
        a, b = int(a), int(b)
        v = {"+": a + b, "-": a - b, "*": a * b, "/": round(a / b, 4)}[op]
        return int(v) if float(v).is_integer() else v
    if name == "solution":
        m = re.match(r"(-?\d+)\*x \+ (-?\d+) = (-?\d+)", _arg(tool, args, "equation"))
        a, b, c = map(int, m.groups())
        return (c - b) // a
    if name == "convert":
        u = (_arg(tool, args, "unit_from"), _arg(tool, args, "unit_to"))
        return round(_arg(tool, args, "value") * FACTORS.get(u, 1.0), 3)
    if name == "percent_of":
        return round(_arg(tool, args, "value") * _arg(tool, args, "percent") / 100, 2)
    if name in ("mean", "median", "min", "max"):
        xs = _arg(tool, args, "numbers")
        fn = {"mean": statistics.mean, "median": statistics.median, "min": min, "max": max}
        v = round(float(fn[name](xs)), 3)
        return int(v) if v.is_integer() else v
    if name == "translation":
        text, lang = _arg(tool, args, "text"), _arg(tool, args, "language")
        return TRANSLATIONS.get((text, lang), f"[{lang}] {text}")
    raise KeyError(f"unknown result pool {name!r}")


# --- building ---------------------------------------------------------------------------------


def style_name(words: list[str], style: str, domain: str) -> str:
    snake = "_".join(words)
    if style == "camel":
        return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])
    if style == "kebab":
        return "-".join(words)
    if style == "dotted":
        return f"{domain}.{snake}"
    return snake


def _param_name(field_name: str, style: str) -> str:
    return style_name(field_name.split("_"), "camel" if style == "camel" else "snake", "")


def _params(keys: list[str], style: str, noun: str, defaults: bool = True) -> tuple[Param, ...]:
    out = []
    for key in keys:
        f = get_field(key.rstrip("?"))
        if not defaults and f.default is not None:
            f = Field(f.key, f.type, f.desc, f.mentions, None)
        out.append(Param(_param_name(f.name, style), f, not key.endswith("?")))
    return tuple(out)


def _spec(name: str, desc: str, params: tuple[Param, ...], noun: str) -> ToolSpec:
    props = {p.name: field_schema(p.field, noun) for p in params}
    if len(props) != len(params):
        raise ValueError(f"tool {name!r} has two parameters with one name")
    schema: dict = {"type": "object", "properties": props}
    required = [p.name for p in params if p.required]
    if required:
        schema["required"] = required
    return ToolSpec(name, desc, schema)


def _entity_tools(domain: str, style: str, entity: tuple, rng: Random) -> list[CatalogTool]:
    noun, plural, field_keys, ops = entity
    fields = field_keys.split()
    id_key = f"{noun.replace(' ', '_')}_id"
    enum_filter = next(
        (k.rstrip("?") + "?" for k in fields if get_field(k.rstrip("?")).options), None
    )
    keys = {
        "get": [id_key],
        "delete": [id_key],
        "archive": [id_key],
        "list": ["limit?"]
        + ([enum_filter] if enum_filter else [])
        + ["order?"]
        + (["include_archived?"] if "archive" in ops.split() else []),
        "search": ["query", "limit?"] + ([enum_filter] if enum_filter else []),
        "create": fields,
        "update": [id_key] + [k.rstrip("?") + "?" for k in fields],
        "export": ["format", "after?"],
        "share": [id_key, "to#share", "permission?", "notify?"],
    }
    fmt = {"e": noun, "p": plural, "a": article(noun)}
    label = _params(fields[:1], style, noun)[0]
    label = Param(label.name, label.field, True)
    query = get_field("query")
    if label.field.type in ("title", "person", "topic", "dish", "product", "city", "word"):
        query = Field("query", label.field.type, query.desc, query.mentions)
    entity_params = _params(fields, style, noun)
    tools = []
    for op in ops.split():
        words = [op] + (plural if op in ("list", "search", "export") else noun).split()
        name = style_name(words, style, domain)
        params = _params(keys[op], style, noun, defaults=op != "update")
        params = tuple(Param(p.name, query, True) if p.field.key == "query" else p for p in params)
        desc = rng.choice(OP_DESCRIPTIONS[op]).format(**fmt)
        intents = tuple(t.format(**fmt) for t in OP_INTENTS[op])
        spec = _spec(name, desc, params, noun)
        tools.append(CatalogTool(spec, domain, op, noun, intents, params, "", label, entity_params))
    return tools


def _action_tool(domain: str, style: str, action: tuple) -> CatalogTool:
    base, desc, intents, param_keys, result = action
    params = _params(param_keys.split(), style, "item")
    name = style_name(base.split("_"), style, domain)
    return CatalogTool(
        _spec(name, desc, params, "item"),
        domain,
        "action",
        base,
        tuple(intents.split("|")),
        params,
        result,
    )


@cache
def catalog(seed: int = 0) -> tuple[CatalogTool, ...]:
    """Every tool of every domain; the seed picks each domain's naming style and the wording
    of generated descriptions. Raises ValueError when two tools would share a name."""
    tools: list[CatalogTool] = []
    domains = list(dict.fromkeys([*ENTITIES, *ACTIONS]))
    for domain in domains:
        rng = Random(f"{seed}:catalog:{domain}")
        style = rng.choices(STYLES, weights=(5, 2, 2, 1))[0]
        for entity in ENTITIES.get(domain, []):
            tools += _entity_tools(domain, style, entity, rng)
        tools += [_action_tool(domain, style, a) for a in ACTIONS.get(domain, [])]
    names = [t.name for t in tools]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"tool names used twice: {', '.join(dupes)}")
    return tuple(tools)


def split_tools(tools, fraction: float = 0.15, seed: int = 0) -> tuple[list, list]:
    """``(training, held_out)``: a tool is held out when the seeded hash of its name falls
    below ``fraction``; whole tools, the same ones for the same seed."""
    held = [t for t in tools if _stable(f"{seed}:holdout:{t.name}") % 10_000 < fraction * 10_000]
    names = {t.name for t in held}
    return [t for t in tools if t.name not in names], held


def domains(tools) -> list[str]:
    return list(dict.fromkeys(t.domain for t in tools))
