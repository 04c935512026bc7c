"""Yes/no logic questions about a small world, answered by looking up facts and rules.

A world has a few people, stated facts ("Anne is big") and rules ("Everyone who is big and
round is kind"); rules only lead from earlier properties to later ones, so there are no
cycles. The world is closed: a property holds only when it is stated or follows from the
rules. The question ("Is Anne kind?") is never a stated fact: a yes takes a chain of 1 to 3
rules, found one property at a time with ``rules``; a no takes looking up every rule that could
lead to it (2 to 4 turns). The reference solution chains backwards, breadth first, and stops
as soon as the answer is settled.

    env = LogicEnv()
    task = env.tasks("test", 1)[0]
"""

from __future__ import annotations

import hashlib
import json
import random
import re

from bslm.models.tools import ToolCall, ToolResult
from bslm.train.rl.envs.base import Environment, Task, check_split, text

SYSTEM = (
    "You answer yes/no questions about a small world of people and their properties. Use the "
    "tools to look up the stated facts and the rules. A property holds only if it is stated or "
    "follows from the rules; anything else is false. Then answer in text, starting with Yes or "
    "No."
)


def _tool(name: str, description: str, **params: str) -> dict:
    properties = {k: {"type": "string", "description": v} for k, v in params.items()}
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(params),
        "additionalProperties": False,
    }
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": schema},
    }


ENTITY = "A person's name, e.g. 'Anne'"
PREDICATE = "A property, e.g. 'kind'"
TOOLS = [
    _tool("facts", "The stated facts about a person (not what follows from rules).", entity=ENTITY),
    _tool("rules", "The rules that conclude a property.", predicate=PREDICATE),
    _tool(
        "check",
        "Whether a person has a property as a stated fact (rules are not applied).",
        entity=ENTITY,
        predicate=PREDICATE,
    ),
]
NAMES = ["Anne", "Bob", "Charlie", "Dave", "Erin", "Fiona", "Gary", "Harry", "Ivy", "Jack"]
PROPERTIES = [
    "big",
    "blue",
    "cold",
    "furry",
    "green",
    "happy",
    "kind",
    "nice",
    "quiet",
    "red",
    "rough",
    "round",
    "smart",
    "tall",
    "white",
    "young",
]
YES_NO = re.compile(r"\b(yes|no)\b", re.IGNORECASE)

Rule = tuple[list[str], str]  # premises, conclusion


def rule_text(rule: Rule) -> str:
    premises, conclusion = rule
    return f"Everyone who is {' and '.join(premises)} is {conclusion}."


def closure(facts: set[str], rules: list[Rule]) -> set[str]:
    """Everything that follows from ``facts`` by ``rules`` (forward chaining)."""
    known = set(facts)
    changed = True
    while changed:
        changed = False
        for premises, conclusion in rules:
            if conclusion not in known and all(p in known for p in premises):
                known.add(conclusion)
                changed = True
    return known


def reference(entity: str, facts: set[str], rules: list[Rule], goal: str) -> list[list[dict]]:
    """A careful solver's calls: the facts and the rules for the goal first, then each turn
    the rules for every premise not yet looked up nor stated, until the goal follows or
    nothing is left to look up."""
    turns = [
        [
            {"name": "facts", "arguments": {"entity": entity}},
            {"name": "rules", "arguments": {"predicate": goal}},
        ]
    ]
    fetched = {goal}
    while True:
        seen = [r for r in rules if r[1] in fetched]
        if goal in closure(facts, seen):
            return turns
        frontier = sorted({p for r in seen for p in r[0]} - fetched - facts)
        if not frontier:
            return turns
        turns.append([{"name": "rules", "arguments": {"predicate": p}} for p in frontier])
        fetched |= set(frontier)


def split_of(data: dict) -> str:
    """The split a world and question belong to, from a hash of them (so splits never meet)."""
    blob = json.dumps(data, sort_keys=True).encode()
    return "test" if hashlib.sha256(blob).digest()[0] % 2 else "train"


def world(rng: random.Random) -> dict:
    """A random world: 3 people, 4 base properties given as facts, 4 derived ones concluded
    by rules from earlier properties, and the questions it can ask in a random order."""
    people = rng.sample(NAMES, 3)
    props = rng.sample(PROPERTIES, 8)
    facts = {p: sorted(rng.sample(props[:4], rng.randint(1, 3))) for p in people}
    rules = []
    for j in range(4, 8):
        for _ in range(rng.randint(1, 2)):
            premises = sorted(rng.sample(props[:j], rng.choice([1, 1, 2])))
            if [premises, props[j]] not in rules:
                rules.append([premises, props[j]])
    rng.shuffle(rules)
    questions = [(p, q) for p in people for q in props[4:]]
    rng.shuffle(questions)
    return {
        "people": people,
        "properties": sorted(props),
        "facts": facts,
        "rules": rules,
        "questions": questions,
    }


def draw(
    rng: random.Random, split: str, truth: bool, turns: int, seen: set[str]
) -> tuple[dict, list[list[dict]]]:
    """A new world of ``split`` whose answer is ``truth`` and whose reference solution takes
    ``turns`` turns, and that solution."""
    while True:
        data = world(rng)
        rules = [tuple(r) for r in data["rules"]]
        for entity, goal in data.pop("questions"):
            data.update(entity=entity, predicate=goal)
            key = json.dumps(data, sort_keys=True)
            if key in seen or split_of(data) != split:
                continue
            facts = set(data["facts"][entity])
            solution = reference(entity, facts, rules, goal)
            if (goal in closure(facts, rules)) == truth and len(solution) == turns:
                seen.add(key)
                return data, solution


class LogicEnv(Environment):
    """Closed-world yes/no questions; the tools are ``facts``, ``rules`` and ``check``."""

    name = "logic"
    max_turns = 8

    def tasks(self, split: str, n: int, seed: int = 0) -> list[Task]:
        check_split(split)
        rng = random.Random(f"logic/{split}/{seed}")
        out: list[Task] = []
        seen: set[str] = set()
        while len(out) < n:
            # Balance yes and no, and how many turns of lookups the answer takes.
            truth = rng.random() < 0.5
            data, solution = draw(rng, split, truth, rng.randint(1, 3) + (not truth), seen)
            entity, goal = data["entity"], data["predicate"]
            question = (
                f"People: {', '.join(data['people'])}. Properties: "
                f"{', '.join(data['properties'])}.\nIs {entity} {goal}?"
            )
            answer = f"Yes, {entity} is {goal}." if truth else f"No, {entity} is not {goal}."
            out.append(
                Task(
                    env=self.name,
                    id=f"logic-{split}-{len(out):05d}",
                    messages=[
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": question},
                    ],
                    tools=TOOLS,
                    solution=solution,
                    answer=answer,
                    data={**data, "truth": truth},
                )
            )
        return out

    def reset(self, task: Task) -> None:
        data = task.data
        self.people = {p.lower(): p for p in data["people"]}
        self.properties = set(data["properties"])
        self.facts = {p: set(f) for p, f in data["facts"].items()}
        self.rules = [tuple(r) for r in data["rules"]]
        self.truth = bool(data["truth"])
        self.goal = data["predicate"]
        self.looked_up: set[str] = set()  # properties whose rules were looked up

    def _entity(self, name: str) -> str:
        try:
            return self.people[name.strip().lower()]
        except KeyError:
            known = ", ".join(self.people.values())
            raise ValueError(f"unknown person {name!r} (people: {known})") from None

    def _predicate(self, name: str) -> str:
        if name.strip().lower() not in self.properties:
            known = ", ".join(sorted(self.properties))
            raise ValueError(f"unknown property {name!r} (properties: {known})")
        return name.strip().lower()

    def step(self, call: ToolCall) -> ToolResult:
        args = call.arguments
        if call.name == "facts":
            who = self._entity(args["entity"])
            stated = [f"{who} is {p}." for p in sorted(self.facts[who])]
            return text(" ".join(stated) or f"Nothing is stated about {who}.")
        if call.name == "rules":
            what = self._predicate(args["predicate"])
            self.looked_up.add(what)
            found = [rule_text(r) for r in self.rules if r[1] == what]
            return text("\n".join(found) or f"No rule concludes {what}.")
        who, what = self._entity(args["entity"]), self._predicate(args["predicate"])
        if what in self.facts[who]:
            return text(f"true: {who} is {what} (a stated fact).")
        return text(f"unknown: '{who} is {what}' is not a stated fact; it may follow from rules.")

    def score(self, answer: str) -> float:
        """1.0 for the right yes or no, said after looking up the rules that conclude the
        question's property (it is never a stated fact, so every derivation starts there):
        without them the answer is a guess, right for half of the questions."""
        if self.goal not in self.looked_up:
            return 0.0
        match = YES_NO.search(answer)
        return float(match is not None and (match.group(1).lower() == "yes") == self.truth)
