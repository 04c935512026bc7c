"""System-prompt rules a program can check: answer language, length, format, case, tool use,
an opening, a closing, a phrase to mention.

A ``Rule`` gives the sentence that goes into the system prompt (``instruction``: the canonical
one, or one of several phrasings drawn by the generator's random source, some of them said of
the assistant's persona) and checks a model's final answer and the calls it made (``check``).
Pure functions, no model: the data generator makes its gold answers obey them, and rewards
score completions with them.

    >>> Rule("max_words", {"n": 5}).check("Paris is sunny today.", [])
    True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from random import Random
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
SIGN_OFFS = (
    "Cheers!",
    "Have a great day!",
    "Best regards, the support team",
    "— your assistant",
    "Thanks for reaching out!",
    "Happy to help!",
)
MENTIONS = (
    "help.acme.com",
    "support@northwind.com",
    "1-800-555-0199",
    "contoso.com/help",
    "help@blueharbor.io",
    "globex.com/support",
)
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
    "uppercase",
    "numbered",
    "max_sentences",
    "max_chars",
    "sign_off",
    "mention",
    "follow_up",
    "max_calls",
)
# Kinds that only constrain the calls: they hold for turns that answer with calls alone.
CALL_KINDS = frozenset({"must_use", "must_not_use", "max_calls"})
# Kinds that constrain the same thing: an example carries at most one of each group.
GROUPS = {
    "language": "language",
    "max_words": "length",
    "one_sentence": "length",
    "max_sentences": "length",
    "max_chars": "length",
    "lowercase": "format",
    "uppercase": "format",
    "bullets": "format",
    "numbered": "format",
    "json": "format",
    "must_use": "tool",
    "must_not_use": "tool",
    "max_calls": "calls",
    "prefix": "prefix",
    "sign_off": "ending",
    "mention": "ending",
    "follow_up": "ending",
}
_LISTS = ("bullets", "numbered")
CONFLICTS = frozenset(
    # a list or a JSON object is all the answer may be: no opening, closing or extra sentence,
    # and its lines or keys are English labels
    {(k, o) for k in ("json", *_LISTS) for o in ("language", "prefix", "sign_off", "follow_up")}
    | {("json", "mention")}
    # a list or a JSON object is not measured in words, sentences or characters
    | {
        (k, o)
        for k in ("json", *_LISTS)
        for o in ("one_sentence", "max_words", "max_sentences", "max_chars")
    }
    # one sentence leaves no room for another one at the end
    | {("one_sentence", o) for o in ("sign_off", "mention", "follow_up")}
    # an opening and a closing are written as they are, in English: no change of case, no
    # other language; nor is the contact to mention (its case does not count)
    | {(c, o) for c in ("lowercase", "uppercase") for o in ("prefix", "sign_off")}
    | {("language", "sign_off"), ("language", "mention")}
)
# Ways a system prompt states each rule: the canonical sentence first, then polite, terse and
# strict ones, then those said of the assistant's persona ("{persona}", only after a prompt
# that introduced it). Tool rules stay in the forms models/engine.py's tool_rules reads.
PHRASINGS: dict[str, tuple[str, ...]] = {
    "language": (
        "Always write your answers to the user in {language}.",
        "Please reply in {language}.",
        "Language: {language} only.",
        "Respond only in {language}, whatever language the user writes in.",
        "{persona} speaks only {language} with users.",
        "As {persona}, you always answer in {language}.",
    ),
    "max_words": (
        "Keep every answer to at most {n} words.",
        "Please keep your replies short: no more than {n} words.",
        "Max {n} words per reply.",
        "Answers must not exceed {n} words.",
        "{persona} keeps every reply to {n} words or fewer.",
        "As {persona}, you never write more than {n} words in a reply.",
    ),
    "one_sentence": (
        "Answer in exactly one sentence.",
        "Please answer in a single sentence.",
        "One sentence per reply.",
        "Every reply must be a single sentence, never more.",
        "{persona} always answers in a single sentence.",
    ),
    "max_sentences": (
        "Use at most {n} sentences per answer.",
        "Please keep replies to {n} sentences or fewer.",
        "Max {n} sentences.",
        "Answers must not be longer than {n} sentences.",
        "{persona} never writes more than {n} sentences in a reply.",
    ),
    "max_chars": (
        "Keep every answer to at most {n} characters.",
        "Please keep your replies within {n} characters; they are shown on a small screen.",
        "Max {n} characters per reply.",
        "Replies must not exceed {n} characters, spaces included.",
        "{persona} sends replies of {n} characters at most.",
    ),
    "lowercase": (
        "Write your answers entirely in lowercase letters.",
        "Please write in lowercase only, with no capital letters.",
        "Lowercase only.",
        "Capital letters are not allowed in your replies.",
        "{persona} writes everything in lowercase.",
    ),
    "uppercase": (
        "Write your answers entirely in uppercase letters.",
        "Please reply in all caps.",
        "All caps only.",
        "Every reply must be written in capital letters, with no lowercase letter.",
        "{persona} always writes in capital letters.",
    ),
    "bullets": (
        "Format every answer as a bulleted list, one item per line starting with '- '.",
        "Please format your replies as bullet points.",
        "Bullet points only, one per line.",
        "Every reply must be a bulleted list with no text outside the bullets.",
        "{persona} answers only in bullet points.",
    ),
    "numbered": (
        "Format every answer as a numbered list, one item per line: 1., 2., 3. and so on.",
        "Please reply with a numbered list.",
        "Numbered list only.",
        "Every reply must be a numbered list with no text outside it.",
        "{persona} always answers with a numbered list.",
    ),
    "json": (
        "Your final answer must be a single valid JSON object and nothing else.",
        "Please reply with a JSON object only, no other text.",
        "Output: one JSON object.",
        "Reply in JSON: a single object, no prose and no code fences.",
        "{persona} replies only with a JSON object, never with prose.",
    ),
    "must_use": (
        "Always use the tool {tool} when answering.",
        "Please always call {tool} before you answer.",
        "You must call {tool} for every request.",
        "Every answer must use the tool {tool}.",
        "{persona} must always call {tool} before answering.",
    ),
    "must_not_use": (
        "Never call the tool {tool}.",
        "Please do not use {tool}.",
        "Do not call {tool} under any circumstances.",
        "You must not use the function {tool}.",
        "Don't invoke {tool}, even when it seems to fit.",
        "{persona} may not use {tool}.",
    ),
    "max_calls": (
        "Make at most {calls} per request.",
        "Please use no more than {calls} for each request.",
        "Tool budget: {calls} per request.",
        "Never make more than {calls} to answer one request.",
        "{persona} makes at most {calls} per request.",
    ),
    "prefix": (
        'Start every answer with "{prefix}".',
        'Please begin each reply with "{prefix}".',
        'Prefix every reply with "{prefix}".',
        'Each reply must begin with "{prefix}", then the answer.',
        '{persona} starts every reply with "{prefix}".',
    ),
    "sign_off": (
        'End every answer with "{text}".',
        'Please sign off every reply with "{text}".',
        'Sign-off: "{text}".',
        'Every reply must end with "{text}", with nothing after it.',
        '{persona} closes every message with "{text}".',
    ),
    "mention": (
        "Always mention {phrase} in your answers.",
        "Please include {phrase} in every reply.",
        "Mention {phrase} each time.",
        "Every reply must contain {phrase}.",
        "{persona} always points users to {phrase}.",
    ),
    "follow_up": (
        "End every answer with a question offering further help.",
        "Please close each reply by asking whether the user needs anything else.",
        "Always end with a follow-up question.",
        "Every reply must end with a question mark.",
        "{persona} ends every reply by asking whether there is anything else to do.",
    ),
}
_NEEDS = {
    "language": "language",
    "max_words": "n",
    "max_sentences": "n",
    "max_chars": "n",
    "max_calls": "n",
    "must_use": "tool",
    "must_not_use": "tool",
    "prefix": "prefix",
    "sign_off": "text",
    "mention": "phrase",
}


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


def sentence_count(text: str) -> int:
    """Sentences in a text: one more than its breaks (an end mark and a space, or a new
    line); 0 for an empty text."""
    text = text.strip().rstrip(".!?… ")
    return len(_SENTENCE_BREAK.findall(text)) + 1 if text else 0


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
        need = _NEEDS.get(self.kind)
        if need and need not in self.params:
            raise ValueError(f"rule {self.kind!r} needs the parameter {need!r}")

    def instructions(self, persona: str | None = None) -> list[str]:
        """Every sentence that states the rule, the canonical one first; those said of the
        persona only when there is one."""
        p = self.params
        n = p.get("n")
        slots = {**p, "persona": persona, "calls": "one tool call" if n == 1 else f"{n} tool calls"}
        return [t.format(**slots) for t in PHRASINGS[self.kind] if persona or "{persona}" not in t]

    def instruction(self, rng: Random | None = None, persona: str | None = None) -> str:
        """The sentence for the system prompt: the canonical one, or one drawn by ``rng``."""
        options = self.instructions(persona)
        return rng.choice(options) if rng is not None else options[0]

    def check(self, answer: str, calls: list) -> bool:
        """Whether the final answer and the calls made obey the rule."""
        text = answer.strip()
        p = self.params
        if self.kind == "language":
            return detect_language(text) == p["language"]
        if self.kind == "max_words":
            return 0 < len(text.split()) <= int(p["n"])
        if self.kind == "one_sentence":
            return sentence_count(text) == 1
        if self.kind == "max_sentences":
            return 0 < sentence_count(text) <= int(p["n"])
        if self.kind == "max_chars":
            return 0 < len(text) <= int(p["n"])
        if self.kind == "lowercase":
            return any(c.isalpha() for c in text) and text == text.lower()
        if self.kind == "uppercase":
            return any(c.isalpha() for c in text) and text == text.upper()
        if self.kind in _LISTS:
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            if self.kind == "bullets":
                return bool(lines) and all(ln.startswith(_BULLET) for ln in lines)
            return bool(lines) and all(
                re.match(rf"{i}[.)]\s+\S", ln) for i, ln in enumerate(lines, 1)
            )
        if self.kind == "json":
            try:
                return isinstance(json.loads(text), dict)
            except json.JSONDecodeError:
                return False
        if self.kind == "prefix":
            return text.startswith(p["prefix"])
        if self.kind == "sign_off":
            end = p["text"].strip()
            return text.endswith(end) and bool(text[: -len(end)].strip())
        if self.kind == "mention":
            return p["phrase"].casefold() in text.casefold()
        if self.kind == "follow_up":
            return text.endswith("?")
        names = [_call_name(c) for c in calls]
        if self.kind == "must_use":
            return p["tool"] in names
        if self.kind == "must_not_use":
            return p["tool"] not in names
        return len(calls) <= int(p["n"])  # max_calls

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
