"""What the assistant says in text: answers from tool results, clarifying questions, refusals,
error explanations and small talk, in English, French, Spanish or German, shaped by the rules
of the system prompt (lower or upper case, bullets, a numbered list, JSON only, a prefix, a
sign-off, a contact to mention, a closing question, short).

``Style.of(rules)`` reads the rules; ``say(style, rng, what, ...)`` renders one message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from random import Random
from typing import Any

from .rules import Rule
from .values import humanize, say_list

TEXTS: dict[str, dict[str, list[str]]] = {
    "English": {
        "result": [
            "Here's what I found: {facts}.",
            "Done. {facts}.",
            "Sure! {facts}.",
            "All set: {facts}.",
            "{facts}.",
            "Here you go: {facts}. Let me know if you need anything else.",
        ],
        "result_short": ["{facts}.", "Here you go: {facts}.", "Done: {facts}."],
        "list": [
            "I found {n}: {items}.",
            "Here are the results: {items}.",
            "There are {n} results: {items}.",
        ],
        "list_one": ["I found one result: {items}.", "There is one: {items}."],
        "list_short": ["I found {n}: {items}.", "Results: {items}."],
        "ask": [
            "What {noun} should I use?",
            "Sure, which {noun} would you like?",
            "I can do that, but I need the {noun} first. What is it?",
            "Could you tell me the {noun}?",
            "Happy to help! What's the {noun}?",
        ],
        "none": [
            "I'm sorry, but none of my tools can do that.",
            "I can't do that with the tools I have.",
            "That's not something my tools support, sorry.",
            "Unfortunately I have no tool for that, so I can't help with it here.",
        ],
        "forbidden": [
            "I'm not allowed to use {tool} here, so I can't do that.",
            "Sorry, I can't do that: the tool it needs, {tool}, is off limits for me.",
        ],
        "error": [
            "Sorry, that didn't work: the tool reported an error ({error}).",
            "I couldn't complete it because the tool returned an error: {error}",
        ],
        "fact": ["the {label} is {value}"],
        "and": ["and"],
        "follow_up": [
            "Anything else I can help with?",
            "Can I help with anything else?",
            "Is there anything else you need?",
            "Would you like anything else?",
        ],
    },
    "French": {
        "result": [
            "Voici ce que j'ai trouvé pour vous : {facts}.",
            "C'est fait ! Voici le résultat : {facts}.",
            "Voici les informations que vous avez demandées : {facts}.",
        ],
        "result_short": ["Voici le résultat pour vous : {facts}."],
        "list": [
            "J'ai trouvé {n} résultats pour vous : {items}.",
            "Voici les résultats que j'ai trouvés : {items}.",
        ],
        "list_short": ["J'ai trouvé pour vous : {items}."],
        "list_one": ["J'ai trouvé un seul résultat pour vous : {items}."],
        "ask": [
            "Quelle valeur est-ce que je dois utiliser pour « {noun} » ?",
            "Il me manque une information pour le faire : {noun}. Pouvez-vous me la donner ?",
        ],
        "none": [
            "Désolé, je ne peux pas faire cela : aucun de mes outils ne le permet.",
            "Je ne peux pas le faire avec les outils dont je dispose.",
        ],
        "forbidden": ["Je n'ai pas le droit d'utiliser {tool} ici, donc je ne peux pas le faire."],
        "error": [
            "Désolé, je n'ai pas pu le faire : l'outil a renvoyé une erreur ({error}).",
            "Je ne peux pas terminer cette demande, car l'outil a signalé une erreur : {error}",
        ],
        "fact": ["{label} : {value}"],
        "and": ["et"],
        "follow_up": [
            "Puis-je vous aider avec autre chose ?",
            "Avez-vous besoin d'autre chose ?",
            "Je peux faire autre chose pour vous ?",
        ],
    },
    "Spanish": {
        "result": [
            "Esto es lo que he encontrado para usted: {facts}.",
            "¡Listo! Aquí está el resultado: {facts}.",
            "Aquí está la información que usted pidió: {facts}.",
        ],
        "result_short": ["Aquí está el resultado: {facts}."],
        "list": [
            "He encontrado {n} resultados para usted, aquí están: {items}.",
            "Aquí están los resultados para usted: {items}.",
        ],
        "list_short": ["Aquí están los resultados para usted: {items}."],
        "list_one": ["Aquí está el único resultado para usted: {items}."],
        "ask": [
            "¿Cuál es el valor que debo usar para el campo «{noun}»?",
            "Me falta un dato para hacerlo: {noun}. ¿Me lo puede indicar, por favor?",
        ],
        "none": [
            "Lo siento, pero no puedo hacer eso con las herramientas que tengo.",
            "No puedo hacerlo: ninguna de mis herramientas permite hacer eso por usted.",
        ],
        "forbidden": ["No tengo permiso para usar {tool} aquí, así que no puedo hacerlo."],
        "error": [
            "Lo siento, pero no pude hacerlo para usted: la herramienta devolvió un error ({error}).",
            "Lo siento, pero la herramienta dio un error y no he podido terminar: {error}",
        ],
        "fact": ["{label}: {value}"],
        "and": ["y"],
        "follow_up": [
            "¿Puedo ayudarle con algo más?",
            "¿Necesita algo más?",
            "¿Hay algo más en lo que pueda ayudarle?",
        ],
    },
    "German": {
        "result": [
            "Hier ist das Ergebnis für dich: {facts}.",
            "Erledigt! Das habe ich gefunden: {facts}.",
            "Hier sind die Informationen, die du wolltest: {facts}.",
        ],
        "result_short": ["Hier ist das Ergebnis für dich: {facts}."],
        "list": [
            "Ich habe {n} Ergebnisse für dich gefunden: {items}.",
            "Hier sind die Ergebnisse, die ich gefunden habe: {items}.",
        ],
        "list_short": ["Das sind die Ergebnisse für dich: {items}."],
        "list_one": ["Ich habe nur ein Ergebnis für dich gefunden: {items}."],
        "ask": [
            "Welchen Wert soll ich bitte für „{noun}“ verwenden?",
            "Mir fehlt noch eine Angabe, um das zu erledigen: {noun}. Kannst du sie mir bitte nennen?",
        ],
        "none": [
            "Leider kann ich das mit meinen Werkzeugen nicht erledigen.",
            "Das ist mit den Werkzeugen, die ich habe, nicht möglich.",
        ],
        "forbidden": ["Ich darf {tool} hier nicht verwenden, daher kann ich das nicht erledigen."],
        "error": [
            "Das hat leider nicht geklappt, das Werkzeug meldete einen Fehler ({error}).",
            "Ich kann das nicht abschließen, denn das Werkzeug hat einen Fehler gemeldet: {error}",
        ],
        "fact": ["{label}: {value}"],
        "and": ["und"],
        "follow_up": [
            "Kann ich sonst noch etwas für dich tun?",
            "Brauchst du noch etwas?",
            "Kann ich dir noch bei etwas anderem helfen?",
        ],
    },
}
# How an answer gives the contact a ``mention`` rule asks for (in English: the rule goes with
# English answers only).
MENTION_TAILS = [
    "More help: {phrase}.",
    "Questions? Contact {phrase}.",
    "Support: {phrase}.",
    "For anything else, reach us at {phrase}.",
]
ENGLISH_DONE = {
    "create": [
        "Done: I created the {noun}{label} (ID {id}).",
        "The {noun}{label} has been created with the ID {id}.",
    ],
    "update": [
        "I updated the {fields} of {noun} {id}.",
        "Done: {noun} {id} now has the new {fields}.",
    ],
    "delete": ["The {noun} {id} has been deleted.", "Done, I deleted {noun} {id}."],
    "archive": ["The {noun} {id} is archived now.", "I archived {noun} {id}."],
    "share": ["I shared the {noun} {id}.", "The {noun} {id} is shared now."],
}
SMALL_TALK = [
    ("hi", "Hello! How can I help you today?"),
    ("thanks, that's all", "You're welcome! Have a great day."),
    ("What's the capital of Australia?", "The capital of Australia is Canberra."),
    ("Who wrote Pride and Prejudice?", "Jane Austen wrote Pride and Prejudice, published in 1813."),
    ("How many days are there in a leap year?", "A leap year has 366 days."),
    ("Tell me a joke.", "Why don't scientists trust atoms? Because they make up everything."),
    ("What does CPU stand for?", "CPU stands for central processing unit."),
    ("How many continents are there?", "There are seven continents."),
    (
        "What is the boiling point of water at sea level?",
        "Water boils at 100 °C (212 °F) at sea level.",
    ),
    (
        "Can you recommend a good habit for better sleep?",
        "Try going to bed at the same time every night and keeping screens out of the bedroom.",
    ),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci painted the Mona Lisa."),
    ("What's the largest ocean?", "The Pacific Ocean is the largest ocean on Earth."),
    ("Give me a synonym for happy.", "A synonym for happy is cheerful."),
    ("How are you?", "I'm doing well, thanks for asking! What can I do for you?"),
    ("What language is spoken in Brazil?", "Portuguese is the official language of Brazil."),
    (
        "Explain what a haiku is in one line.",
        "A haiku is a short Japanese poem of three lines with 5, 7 and 5 syllables.",
    ),
    ("What's the chemical symbol for gold?", "The chemical symbol for gold is Au."),
    ("good morning!", "Good morning! What can I help you with?"),
    ("Which planet is closest to the sun?", "Mercury is the planet closest to the Sun."),
    (
        "What year did the first person walk on the moon?",
        "Neil Armstrong walked on the Moon in 1969.",
    ),
]


@dataclass(frozen=True)
class Style:
    language: str = "English"
    fmt: str | None = None  # lowercase, uppercase, bullets, numbered or json
    prefix: str | None = None
    short: bool = False
    sign_off: str | None = None
    mention: str | None = None  # a contact every answer gives
    follow_up: bool = False  # every answer ends with a question

    @classmethod
    def of(cls, rules: list[Rule]) -> Style:
        kinds = {r.kind: r for r in rules}
        formats = ("lowercase", "uppercase", "bullets", "numbered", "json")
        return cls(
            language=kinds["language"].params["language"] if "language" in kinds else "English",
            fmt=next((k for k in formats if k in kinds), None),
            prefix=kinds["prefix"].params["prefix"] if "prefix" in kinds else None,
            short=any(
                k in kinds for k in ("max_words", "one_sentence", "max_sentences", "max_chars")
            ),
            sign_off=kinds["sign_off"].params["text"] if "sign_off" in kinds else None,
            mention=kinds["mention"].params["phrase"] if "mention" in kinds else None,
            follow_up="follow_up" in kinds,
        )


def show(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return say_list(Random(0), [show(x) for x in v]) if v else "none"
    if isinstance(v, dict):
        return ", ".join(f"{humanize(k)} {show(x)}" for k, x in v.items())
    return str(v)


def facts_of(result: Any, short: bool = False) -> list[tuple[str, Any]]:
    """The (label, value) pairs worth telling from an object result."""
    if not isinstance(result, dict):
        return []
    out = [(k, v) for k, v in result.items() if k != "items"]
    if short:
        out = [(k, v) for k, v in out if not re.search(r"[.!?…]\s", show(v))][:2]
    return out


def _foreign(facts: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Facts fit for an answer in another language: no English sentences among them."""
    return [(k, v) for k, v in facts if not (isinstance(v, str) and len(v.split()) > 3)]


def items_of(result: Any) -> list[str] | None:
    """Short labels of the objects of a list result (or of ``{"items": [...]}``), else None."""
    if isinstance(result, dict) and isinstance(result.get("items"), list):
        result = result["items"]
    if not isinstance(result, list) or not all(isinstance(x, dict) for x in result):
        return None
    labels = []
    for x in result:
        named = [
            show(v)
            for k, v in x.items()
            if not k.endswith("id") and not isinstance(v, (dict, list))
        ]
        ident = next((str(v) for k, v in x.items() if k.lower().endswith("id")), None)
        text = " ".join(named[:2]) or ident or "item"
        labels.append(f"{text} ({ident})" if ident and named else text)
    return labels


def _join(rng: Random, lang: str, parts: list[str]) -> str:
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {rng.choice(TEXTS[lang]['and'])} " + parts[-1]


def render_facts(rng: Random, lang: str, facts: list[tuple[str, Any]]) -> str:
    fact = rng.choice(TEXTS[lang]["fact"])
    return _join(rng, lang, [fact.format(label=humanize(k), value=show(v)) for k, v in facts])


def shape(
    style: Style,
    text: str,
    data: dict | None = None,
    lines: list[str] | None = None,
    rng: Random | None = None,
) -> str:
    """Apply the format rules to a rendered message: ``data`` is what a JSON answer holds,
    ``lines`` what a list lists (both default to the text itself). ``rng`` draws the wording
    of what the rules add (the first wording without it)."""

    def pick(options: list[str]) -> str:
        return rng.choice(options) if rng is not None else options[0]

    lines = list(lines or [text])
    if style.mention:
        tail = pick(MENTION_TAILS).format(phrase=style.mention)
        text, lines = f"{text} {tail}", [*lines, tail]
    if style.follow_up and not text.rstrip().endswith("?"):
        text = f"{text} {pick(TEXTS[style.language]['follow_up'])}"
    if style.fmt == "json":
        text = json.dumps(data if data else {"answer": text}, ensure_ascii=False)
    elif style.fmt in ("bullets", "numbered"):
        # an item is one line: the lines of a poem go in one item, " / " between them
        items = [" / ".join(p.strip() for p in ln.splitlines() if p.strip()) for ln in lines]
        marks = [f"{i}." if style.fmt == "numbered" else "-" for i in range(1, len(items) + 1)]
        text = "\n".join(f"{m} {x}" for m, x in zip(marks, items, strict=True))
    elif style.fmt == "lowercase":
        text = text.lower()
    elif style.fmt == "uppercase":
        text = text.upper()
    if style.prefix:
        text = f"{style.prefix} {text}"
    if style.sign_off:
        sep = pick(["\n", " ", "\n\n"])
        text = f"{text}{sep}{style.sign_off}"
    return text


def say_result(
    style: Style,
    rng: Random,
    results: list[Any],
    op: str = "action",
    noun: str = "",
    label: str | None = None,
) -> str:
    """The answer after one or more successful results (the last ones of the turn)."""
    lang, short = style.language, style.short
    brief = short or len(results) > 1
    texts, data, lines = [], {}, []
    for result in results:
        items = items_of(result)
        if items is not None:
            items = items[:3] if short else items
            key = "list_one" if len(items) == 1 else "list_short" if brief else "list"
            texts.append(
                rng.choice(TEXTS[lang][key]).format(n=len(items), items=_join(rng, lang, items))
            )
            data.setdefault("results", []).extend(items)
            lines += items
            continue
        facts = facts_of(result, short)
        facts = facts if lang == "English" else _foreign(facts)
        if lang == "English" and op in ENGLISH_DONE and isinstance(result, dict):
            ident = result.get("id", "")
            fields = say_list(rng, [humanize(f) for f in result.get("updated", [])]) or "fields"
            named = f" “{show(result[label])}”" if label and label in result else ""
            texts.append(
                rng.choice(ENGLISH_DONE[op]).format(noun=noun, id=ident, fields=fields, label=named)
            )
        else:
            key = "result_short" if brief else "result"
            texts.append(rng.choice(TEXTS[lang][key]).format(facts=render_facts(rng, lang, facts)))
        data |= {k: v for k, v in facts}
        lines += [f"{humanize(k)}: {show(v)}" for k, v in facts]
    if short and len(texts) > 1:  # one sentence for them all
        facts = [f for r in results for f in facts_of(r, True)[:1]]
        if facts:
            joined = render_facts(rng, lang, facts)
            texts = [rng.choice(TEXTS[lang]["result_short"]).format(facts=joined)]
        elif lines:  # only lists: their items together
            joined = _join(rng, lang, lines)
            texts = [rng.choice(TEXTS[lang]["list_short"]).format(n=len(lines), items=joined)]
    return shape(style, _capitalize(" ".join(texts)), data, lines, rng)


def _capitalize(text: str) -> str:
    """Capital letters where sentences start ("Sure! the id is..." -> "Sure! The id is...")."""
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def say(style: Style, rng: Random, what: str, **slots: str) -> str:
    """One of the fixed messages (``ask``, ``none``, ``forbidden``, ``error``) in the style."""
    options = TEXTS[style.language][what]
    if style.short:
        options = [o for o in options if sum(map(o.count, ".?!")) <= 1] or options[:1]
    text = rng.choice(options).format(**slots)
    key = {"ask": "question", "error": "error"}.get(what, "answer")
    return shape(style, text, {key: text} if key != "answer" else None, rng=rng)


def say_small_talk(style: Style, rng: Random) -> tuple[str, str]:
    """A question with no tool in it and the answer, shaped."""
    options = [qa for qa in SMALL_TALK if not style.short or sum(map(qa[1].count, ".?!")) <= 1]
    question, answer = rng.choice(options)
    return question, shape(style, answer, rng=rng)
