"""The record-store environment: a small stateful store of contacts, items and tasks.

Each task is a generated request ("Move all of Alice's open tasks to Bob", "Set the price of the
cheapest item to 5"...) that needs one to four calls, most of them after a lookup. The check is
the store's final state against the target state the generator computed; the answer text does
not matter. A task lands in ``train`` or ``test`` by a hash of its content, so the splits never
share one.

    env = StoreEnv()
    task = env.tasks("test", 1)[0]
    episode = run_episode(env, task, act)
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import random

from bslm.models.tools import ToolCall, ToolResult
from bslm.train.rl.envs.base import Environment, Task, check_split, error, text

# kind -> (id prefix, {field: JSON type}); every record of a kind has exactly these fields.
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "contact": ("c", {"name": "string", "email": "string", "city": "string"}),
    "item": ("i", {"name": "string", "price": "number", "stock": "integer"}),
    "task": ("t", {"title": "string", "owner": "string", "status": "string"}),
}
STATUSES = ("open", "done")
NAMES = [
    "Alice",
    "Bob",
    "Carol",
    "Dave",
    "Erin",
    "Frank",
    "Grace",
    "Heidi",
    "Ivan",
    "Judy",
    "Mallory",
    "Niaj",
    "Olivia",
    "Peggy",
    "Rupert",
    "Sybil",
    "Trent",
    "Victor",
]
CITIES = ["Lisbon", "Oslo", "Lyon", "Porto", "Kyoto", "Austin", "Dublin", "Turin"]
DOMAINS = ["example.com", "mail.org", "work.net"]
ITEMS = [
    "lamp",
    "kettle",
    "stapler",
    "notebook",
    "mug",
    "backpack",
    "umbrella",
    "scarf",
    "headphones",
    "teapot",
    "candle",
    "pillow",
]
TITLES = [
    "write report",
    "book flights",
    "call supplier",
    "fix printer",
    "update website",
    "plan offsite",
    "review budget",
    "order toner",
    "clean inbox",
    "prepare slides",
    "renew license",
    "water plants",
]

SYSTEM = (
    "You manage a small record store of contacts, items and tasks through the tools. Carry out "
    "the user's request exactly and change nothing else; look records up first when you do not "
    "know their ids. When you are done, reply briefly in text."
)


def _tool(name: str, description: str, required: list[str], **props: dict) -> dict:
    params = {"type": "object", "properties": props, "required": required}
    params = {k: v for k, v in params.items() if v != []} | {"additionalProperties": False}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": params},
    }


_KIND = {"type": "string", "enum": list(KINDS), "description": "Record kind."}
_ID = {"type": "string", "description": "Record id, e.g. c1, i2, t3."}
_FIELD = {"type": "string", "description": "Field name, e.g. name, owner or price."}
_VALUE = {"type": ["string", "number"], "description": "The field's value."}
_FIELDS = {
    "type": "object",
    "description": "Every field of the kind, by name.",
    "additionalProperties": {"type": ["string", "number"]},
}
TOOLS = [
    _tool("list_records", "List all records, or those of one kind.", [], kind=_KIND),
    _tool("get_record", "Get one record by id.", ["id"], id=_ID),
    _tool(
        "search",
        "Find the records whose field equals a value (text ignores case).",
        ["field", "value"],
        field=_FIELD,
        value=_VALUE,
    ),
    _tool(
        "add_record",
        "Create a record and return it with its new id. Contacts have name, "
        "email, city; items name, price, stock; tasks title, owner, status (open or done).",
        ["kind", "fields"],
        kind=_KIND,
        fields=_FIELDS,
    ),
    _tool(
        "update_field",
        "Set one field of a record.",
        ["id", "field", "value"],
        id=_ID,
        field=_FIELD,
        value=_VALUE,
    ),
    _tool("delete_record", "Delete a record by id.", ["id"], id=_ID),
]


def check_value(kind: str, name: str, value) -> None:
    """Raise ValueError unless ``value`` fits field ``name`` of ``kind``."""
    fields = KINDS[kind][1]
    if name not in fields:
        raise ValueError(f"a {kind} has no field {name!r}; its fields are {', '.join(fields)}")
    want = fields[name]
    fits = {
        "string": isinstance(value, str),
        "number": isinstance(value, int | float),
        "integer": isinstance(value, int) or isinstance(value, float) and value.is_integer(),
    }[want]
    if isinstance(value, bool) or not fits:
        raise ValueError(f"{kind} field {name!r} takes a {want}, not {value!r}")
    if name == "status" and value not in STATUSES:
        raise ValueError(f"status is 'open' or 'done', not {value!r}")


def next_id(records: dict, kind: str) -> str:
    """The id ``add_record`` gives the next record of ``kind``: one past the highest in use."""
    prefix = KINDS[kind][0]
    nums = [int(i[1:]) for i in records if i[0] == prefix and i[1:].isdigit()]
    return f"{prefix}{max(nums, default=0) + 1}"


def same(a, b) -> bool:
    """Search equality: text ignores case, and text never equals a number."""
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a.casefold() == b.casefold()
    return a == b


class StoreEnv(Environment):
    """Contacts, items and tasks behind six tools; scored on the store's final state."""

    name = "store"

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, dict] = {}

    def tasks(self, split: str, n: int, seed: int = 0) -> list[Task]:
        check_split(split)
        out: list[Task] = []
        seen: set[str] = set()
        for i in itertools.count():
            if len(out) == n:
                break
            task = make_task(random.Random(f"store:{seed}:{i}"))
            if task_split(task) == split and task.id not in seen:
                seen.add(task.id)
                out.append(task)
        return out

    def reset(self, task: Task) -> None:
        self.records = copy.deepcopy(task.data["records"])

    def _get(self, rid: str) -> dict:
        if rid not in self.records:
            raise ValueError(f"no record has id {rid!r}; use list_records or search to find ids")
        return self.records[rid]

    def step(self, call: ToolCall) -> ToolResult:
        a, show = call.arguments, lambda rid: {"id": rid, **self.records[rid]}
        if call.name == "list_records":
            kind = a.get("kind")
            return text([show(i) for i, r in self.records.items() if kind in (None, r["kind"])])
        if call.name == "get_record":
            self._get(a["id"])
            return text(show(a["id"]))
        if call.name == "search":
            field, value = a["field"], a["value"]
            if not any(field in fields for _, fields in KINDS.values()):
                raise ValueError(f"no record kind has a field {field!r}")
            hits = [show(i) for i, r in self.records.items() if same(r.get(field), value)]
            return text(hits or f"no record has {field} = {value!r}")
        if call.name == "add_record":
            kind, fields = a["kind"], a["fields"]
            missing = [f for f in KINDS[kind][1] if f not in fields]
            if missing:
                raise ValueError(f"a new {kind} needs the fields {', '.join(missing)}")
            for name, value in fields.items():
                check_value(kind, name, value)
            rid = next_id(self.records, kind)
            self.records[rid] = {"kind": kind, **fields}
            return text(show(rid))
        if call.name == "update_field":
            record = self._get(a["id"])
            check_value(record["kind"], a["field"], a["value"])
            record[a["field"]] = a["value"]
            return text(show(a["id"]))
        if call.name == "delete_record":
            self._get(a["id"])
            del self.records[a["id"]]
            return text(f"deleted {a['id']}")
        return error(f"{call.name} is not a store tool")

    def score(self, answer: str) -> float:
        """Right changes / (needed changes + unintended changes): 1.0 only for exactly the
        target state, 0.0 for doing nothing. New records match by content, whatever their id."""
        assert self.task is not None, "score() before start()"
        initial, target = self.task.data["records"], self.task.data["target"]
        needed = right = wrong = 0
        for rid, before in initial.items():
            want, got = target.get(rid), self.records.get(rid)
            if want != before:
                needed, right = needed + 1, right + (got == want)
            elif got != want:
                wrong += 1
        unmatched = [r for i, r in self.records.items() if i not in initial]
        for rid, want in target.items():
            if rid not in initial:
                needed += 1
                if want in unmatched:
                    unmatched.remove(want)
                    right += 1
        wrong += len(unmatched)
        return right / (needed + wrong) if needed + wrong else 1.0


def task_split(task: Task) -> str:
    """``train`` or ``test``, by the parity of the task's content hash (its id)."""
    return "train" if int(task.id.removeprefix("store-"), 16) % 2 == 0 else "test"


# --- generation -------------------------------------------------------------------------------


def make_store(rng: random.Random) -> dict[str, dict]:
    records: dict[str, dict] = {}
    people = rng.sample(NAMES, rng.randint(3, 5))
    for k, name in enumerate(people, 1):
        email, city = f"{name.lower()}@{rng.choice(DOMAINS)}", rng.choice(CITIES)
        records[f"c{k}"] = {"kind": "contact", "name": name, "email": email, "city": city}
    items = rng.sample(ITEMS, rng.randint(3, 5))
    prices = rng.sample(range(2, 60), len(items))  # distinct, so "the cheapest" is one item
    for k, name in enumerate(items, 1):
        stock = rng.randint(0, 30)
        records[f"i{k}"] = {"kind": "item", "name": name, "price": prices[k - 1], "stock": stock}
    for k, title in enumerate(rng.sample(TITLES, rng.randint(4, 6)), 1):
        owner, status = rng.choice(people), rng.choice(STATUSES)
        records[f"t{k}"] = {"kind": "task", "title": title, "owner": owner, "status": status}
    return records


def _of(records: dict, kind: str) -> list[str]:
    return [i for i, r in records.items() if r["kind"] == kind]


def _call(name: str, **arguments) -> dict:
    return {"name": name, "arguments": arguments}


def _give_tasks(rng: random.Random, s: dict, person: str, status: str) -> list[str]:
    """Make 1-3 tasks ``person``'s with ``status`` (and no others) and return their ids."""
    tasks = _of(s, "task")
    others = [s[c]["name"] for c in _of(s, "contact") if s[c]["name"] != person]
    mine = sorted(rng.sample(tasks, rng.randint(1, 3)), key=tasks.index)
    for t in tasks:
        if t in mine:
            s[t].update(owner=person, status=status)
        elif s[t]["owner"] == person and s[t]["status"] == status:
            s[t]["owner"] = rng.choice(others)
    return mine


# Each template adjusts the store ``s`` so that its request fits, then returns the request, the
# reference turns, the answer and the changes: {id: field updates}, {id: None} to delete,
# {new id: whole record} to add.


def t_reassign(rng, s):
    a, b = rng.sample([s[c]["name"] for c in _of(s, "contact")], 2)
    mine = _give_tasks(rng, s, a, "open")
    turns = [
        [_call("search", field="owner", value=a)],
        [_call("update_field", id=t, field="owner", value=b) for t in mine],
    ]
    return f"Move all of {a}'s open tasks to {b}.", turns, "Done.", {t: {"owner": b} for t in mine}


def t_delete_done(rng, s):
    a = s[rng.choice(_of(s, "contact"))]["name"]
    mine = _give_tasks(rng, s, a, "done")
    turns = [
        [_call("search", field="owner", value=a)],
        [_call("delete_record", id=t) for t in mine],
    ]
    return f"Delete all of {a}'s finished tasks.", turns, "Deleted.", dict.fromkeys(mine)


def t_cheapest(rng, s):
    i = min(_of(s, "item"), key=lambda i: s[i]["price"])
    price = rng.choice([p for p in range(1, 10) if p != s[i]["price"]])
    turns = [
        [_call("list_records", kind="item")],
        [_call("update_field", id=i, field="price", value=price)],
    ]
    request, answer = f"Set the price of the cheapest item to {price}.", f"{s[i]['name']}: {price}."
    return request, turns, answer, {i: {"price": price}}


def t_delete_email(rng, s):
    c = rng.choice(_of(s, "contact"))
    email = s[c]["email"]
    turns = [[_call("search", field="email", value=email)], [_call("delete_record", id=c)]]
    return f"Delete the contact whose email is {email}.", turns, "Deleted.", {c: None}


def t_rename(rng, s):
    i = rng.choice(_of(s, "item"))
    old = s[i]["name"]
    new = rng.choice([n for n in ITEMS if n not in {s[j]["name"] for j in _of(s, "item")}])
    turns = [
        [_call("search", field="name", value=old)],
        [_call("update_field", id=i, field="name", value=new)],
    ]
    return f"Rename the item {old} to {new}.", turns, "Renamed.", {i: {"name": new}}


def t_complete(rng, s):
    t = rng.choice(_of(s, "task"))
    s[t]["status"], title = "open", s[t]["title"]
    turns = [
        [_call("search", field="title", value=title)],
        [_call("update_field", id=t, field="status", value="done")],
    ]
    return f'Mark the task "{title}" as done.', turns, "Done.", {t: {"status": "done"}}


def t_restock(rng, s):
    i = rng.choice(_of(s, "item"))
    name, extra = s[i]["name"], rng.randint(2, 20)
    stock = s[i]["stock"] + extra
    turns = [
        [_call("search", field="name", value=name)],
        [_call("update_field", id=i, field="stock", value=stock)],
    ]
    request = f"{extra} more units of the {name} arrived; add them to its stock."
    return request, turns, f"The {name} stock is now {stock}.", {i: {"stock": stock}}


def t_add_contact(rng, s):
    name = rng.choice([n for n in NAMES if n not in {s[c]["name"] for c in _of(s, "contact")}])
    email, city = f"{name.lower()}@{rng.choice(DOMAINS)}", rng.choice(CITIES)
    fields = {"name": name, "email": email, "city": city}
    turns = [[_call("add_record", kind="contact", fields=fields)]]
    request = f"Add a contact: {name}, email {email}, living in {city}."
    return request, turns, "Added.", {next_id(s, "contact"): {"kind": "contact", **fields}}


def t_assign_by_email(rng, s):
    c, t = rng.choice(_of(s, "contact")), rng.choice(_of(s, "task"))
    person, email, title = s[c]["name"], s[c]["email"], s[t]["title"]
    if s[t]["owner"] == person:
        s[t]["owner"] = rng.choice([s[o]["name"] for o in _of(s, "contact") if o != c])
    turns = [
        [_call("search", field="email", value=email), _call("search", field="title", value=title)],
        [_call("update_field", id=t, field="owner", value=person)],
    ]
    request = f'Assign the task "{title}" to the contact whose email is {email}.'
    return request, turns, f"Assigned to {person}.", {t: {"owner": person}}


TEMPLATES = {
    "reassign": t_reassign,
    "delete_done": t_delete_done,
    "cheapest": t_cheapest,
    "delete_email": t_delete_email,
    "rename": t_rename,
    "complete": t_complete,
    "restock": t_restock,
    "add_contact": t_add_contact,
    "assign_by_email": t_assign_by_email,
}


def make_task(rng: random.Random, template: str | None = None) -> Task:
    """One task drawn from ``rng`` (of ``template``, else a random one); its id hashes its
    request and starting store."""
    template = template or rng.choice(sorted(TEMPLATES))
    records = make_store(rng)
    request, turns, answer, changes = TEMPLATES[template](rng, records)
    target = copy.deepcopy(records)
    for rid, change in changes.items():
        if change is None:
            del target[rid]
        elif rid in target:
            target[rid].update(change)
        else:
            target[rid] = change
    data = {"template": template, "records": records, "target": target}
    digest = hashlib.sha256(json.dumps([request, records], sort_keys=True).encode()).hexdigest()
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": request}]
    return Task("store", f"store-{digest[:16]}", messages, TOOLS, turns, answer, data)
