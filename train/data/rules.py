"""System-prompt rules a program can check: answer language, length, format, tool use, prefix.

A ``Rule`` gives the sentence that goes into the system prompt (``instruction``) and checks a
model's final answer and the calls it made (``check``). Pure functions, no model: the data
generator makes its gold answers obey them, and rewards score completions with them.

    >>> Rule("max_words", {"n": 5}).check("Paris is sunny today.", [])
    True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Words frequent in one language and absent from the others (the lists are disjoint), so a
# count decides the language of a short answer.
STOPWORDS: dict[str, frozenset[str]] = {
    "English": frozenset(
        "the is and of to for with you i not on from are this that it have has be your "
        "can will here there what which my we they been would could should".split()
    ),
    "French": frozenset(
        "le les des est et une pour avec vous je nous pas dans sur qui ce cette sont au aux "
        "mais ou votre vos j l d c n qu ai été très aussi voici il elle ne ces".split()
    ),
    "Spanish": frozenset(
        "el los las del y una para con usted yo por está son pero su sus al lo muy también "
        "aquí puedo hay ha estos esta fue ser tiene".split()
    ),
    "German": frozenset(
        "der die das und ist ein eine für mit ich nicht auf von zu den dem sind aber oder ihr "
        "ihre wir auch gibt kann wurde habe bitte dass sich wie noch nur".split()
    ),
}
LANGUAGES = ("French", "Spanish", "German")
PREFIXES = ("Answer:", "Result:", "[bot]", "Assistant:", ">>", "Summary:")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_SENTENCE_BREAK = re.compile(r"[.!?…](?:\s+)\S|\n\s*\S")
_BULLET = ("- ", "* ", "• ")

KINDS = (
    "language",
    "max_words",
    "one_sentence",
    "lowercase",
    "bullets",
    "json",
    "must_use",
    "must_not_use",
    "prefix",
)
# Kinds that constrain the same thing: an example carries at most one of each group.
GROUPS = {
    "language": "language",
    "max_words": "length",
    "one_sentence": "length",
    "lowercase": "format",
    "bullets": "format",
    "json": "format",
    "must_use": "tool",
    "must_not_use": "tool",
    "prefix": "prefix",
}
CONFLICTS = frozenset(
    {
        ("language", "bullets"),
        ("lowercase", "prefix"),
        ("language", "json"),
        ("prefix", "json"),
        ("prefix", "bullets"),
        ("one_sentence", "bullets"),
        ("max_words", "json"),
        ("one_sentence", "json"),
        ("max_words", "bullets"),
    }
)


def language_scores(text: str) -> dict[str, int]:
    words = [w.lower() for w in _WORD.findall(text)]
    return {lang: sum(w in stops for w in words) for lang, stops in STOPWORDS.items()}


def detect_language(text: str) -> str | None:
    """The language whose stopwords are most frequent (at least two hits, strictly more than
    any other language), or None."""
    scores = language_scores(text)
    best = max(scores, key=scores.get)
    if scores[best] < 2 or sum(v == scores[best] for v in scores.values()) > 1:
        return None
    return best


def _call_name(call: Any) -> str | None:
    if hasattr(call, "name"):
        return call.name
    if isinstance(call, dict):
        return call.get("function", call).get("name")
    return None


def compatible(kinds: list[str]) -> bool:
    """True when rules of these kinds can hold together in one answer."""
    groups = [GROUPS[k] for k in kinds]
    if len(groups) != len(set(groups)):
        return False
    return not any((a, b) in CONFLICTS or (b, a) in CONFLICTS for a in kinds for b in kinds)


@dataclass(frozen=True)
class Rule:
    """One checkable rule. Raises ValueError for an unknown kind or missing parameters."""

    kind: str
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown rule kind {self.kind!r} (known: {', '.join(KINDS)})")
        need = {
            "language": "language",
            "max_words": "n",
            "must_use": "tool",
            "must_not_use": "tool",
            "prefix": "prefix",
        }.get(self.kind)
        if need and need not in self.params:
            raise ValueError(f"rule {self.kind!r} needs the parameter {need!r}")

    def instruction(self) -> str:
        """The sentence for the system prompt."""
        p = self.params
        return {
            "language": f"Always write your answers to the user in {p.get('language')}.",
            "max_words": f"Keep every answer to at most {p.get('n')} words.",
            "one_sentence": "Answer in exactly one sentence.",
            "lowercase": "Write your answers entirely in lowercase letters.",
            "bullets": "Format every answer as a bulleted list, one item per line starting with '- '.",
            "json": "Your final answer must be a single valid JSON object and nothing else.",
            "must_use": f"Always use the tool {p.get('tool')} when answering.",
            "must_not_use": f"Never call the tool {p.get('tool')}.",
            "prefix": f'Start every answer with "{p.get("prefix")}".',
        }[self.kind]

    def check(self, answer: str, calls: list) -> bool:
        """Whether the final answer and the calls made obey the rule."""
        text = answer.strip()
        p = self.params
        if self.kind == "language":
            return detect_language(text) == p["language"]
        if self.kind == "max_words":
            return 0 < len(text.split()) <= int(p["n"])
        if self.kind == "one_sentence":
            return bool(text) and not _SENTENCE_BREAK.search(text.rstrip(".!?… "))
        if self.kind == "lowercase":
            return any(c.isalpha() for c in text) and text == text.lower()
        if self.kind == "bullets":
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            return bool(lines) and all(ln.startswith(_BULLET) for ln in lines)
        if self.kind == "json":
            try:
                return isinstance(json.loads(text), dict)
            except json.JSONDecodeError:
                return False
        names = [_call_name(c) for c in calls]
        if self.kind == "must_use":
            return p["tool"] in names
        if self.kind == "must_not_use":
            return p["tool"] not in names
        return text.startswith(p["prefix"])

    def to_dict(self) -> dict:
        return {"kind": self.kind, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, d: dict) -> Rule:
        """Raises ValueError for a dict that is not a rule."""
        if not isinstance(d, dict) or "kind" not in d:
            raise ValueError(f"a rule is a dict with a 'kind', not {d!r}")
        return cls(d["kind"], dict(d.get("params") or {}))


def check_all(rules: list[Rule], answer: str, calls: list) -> bool:
    return all(r.check(answer, calls) for r in rules)
