"""System prompts and the assistant's short reasoning before its calls.

A system prompt is one of several templates, the reference date (so "tomorrow" means one day;
left out now and then, and then no request speaks of relative dates) and the rules of the
example, each in one of its phrasings (``rules.PHRASINGS``: polite, terse, strict, or said of
the persona when the template named one: "You are Sage, a support bot for Globex. Sage keeps
every reply to 20 words or fewer."). Reasoning names the tool, why it fits, and spells out the conversions the arguments
needed ("tomorrow" -> 2026-03-04), so the model reasons in text before it writes a call.
"""

from __future__ import annotations

import json
from datetime import date
from random import Random

from .catalog import CatalogTool
from .rules import Rule
from .values import MONTHS, WEEKDAYS, Value

SYSTEM_TEMPLATES = [
    "You are a helpful assistant with access to tools. Call a tool when it helps; otherwise answer directly.",
    "You are {persona}, an assistant for {company}. Use the available tools to act for the user.",
    "You are an on-device assistant. Call functions only when needed, with arguments exactly as their schemas require.",
    "You help users by calling tools. If a required detail is missing, ask for it instead of guessing.",
    "Assistant with function calling. Be accurate and do not invent results.",
    "You are a friendly assistant. Use the tools below to answer questions and complete tasks; never make up tool results.",
    "You are {persona}. Answer the user's requests, using the tools where appropriate.",
    "Tools are available. Use them when the request needs them.",
    "You are {persona}, a support bot for {company}.",
    "You are {persona}, {company}'s virtual assistant. Be friendly and accurate.",
]
PERSONAS = ["Nova", "Atlas", "Pixel", "Juniper", "Echo", "Sage", "Orbit", "Milo"]
COMPANIES = ["Acme Corp", "Northwind", "Contoso", "Blue Harbor", "Globex", "Initech"]
DATE_LINES = [
    "Today is {weekday}, {month} {day}, {year}.",
    "Current date: {iso}.",
    "The date today is {day} {month} {year} ({weekday}).",
    "Today's date is {iso} ({weekday}).",
]
RULE_HEADS = ["Rules:", "Follow these rules:", "Important:", ""]


def system_prompt(rng: Random, today: date | None, rules: list[Rule]) -> str:
    """A template, the reference date and the rules, each in one of its phrasings (those said
    of the persona only when the template introduced one)."""
    template = rng.choice(SYSTEM_TEMPLATES)
    persona = rng.choice(PERSONAS)
    text = template.format(persona=persona, company=rng.choice(COMPANIES))
    lines = [text]
    if today is not None:
        lines.append(
            rng.choice(DATE_LINES).format(
                weekday=WEEKDAYS[today.weekday()],
                month=MONTHS[today.month - 1],
                day=today.day,
                year=today.year,
                iso=today.isoformat(),
            )
        )
    if rules:
        head = rng.choice(RULE_HEADS)
        named = persona if "{persona}" in template else None
        said = [r.instruction(rng, named) for r in rules]
        if rng.random() < 0.5:
            lines.append("\n".join(([head] if head else []) + [f"- {s}" for s in said]))
        else:
            lines.append(" ".join(([head] if head else []) + said))
    return "\n".join(lines) if rng.random() < 0.6 else " ".join(lines)


def conversions(args: dict[str, Value], limit: int = 2) -> list[str]:
    """'"tomorrow" is 2026-03-04' for arguments the user said differently from the call."""
    out = []
    for v in args.values():
        canon = v.value if isinstance(v.value, str) else json.dumps(v.value, ensure_ascii=False)
        said = v.text.strip("\"'“”")
        if isinstance(v.value, bool) or said == canon or said == str(v.value):
            continue
        out.append(f'"{said}" is {canon}')
        if len(out) == limit:
            break
    return out


def reason_call(rng: Random, tool: CatalogTool, args: dict[str, Value]) -> str:
    goal = rng.choice(
        [
            f"The user wants me to {tool.intents[0]}.",
            f"This is a job for {tool.name}.",
            f"{tool.name} fits this request.",
            f"I should use {tool.name} here.",
        ]
    )
    notes = conversions(args)
    parts = [goal]
    if notes:
        parts.append(
            rng.choice(["Converting: ", "Note: ", "In the call, "]) + "; ".join(notes) + "."
        )
    parts.append(rng.choice(["I'll call it.", "Calling it now.", "", "Let me call it."]))
    return " ".join(p for p in parts if p)


def reason_parallel(rng: Random, tools: list[CatalogTool]) -> str:
    names = list(dict.fromkeys(t.name for t in tools))
    if len(names) == 1:
        return rng.choice(
            [
                f"I need {names[0]} {len(tools)} times; the calls are independent, so I'll make them together.",
                f"Several independent {names[0]} calls: I'll run them in one go.",
            ]
        )
    return rng.choice(
        [
            f"Two independent tasks: {' and '.join(names)}. I'll call both at once.",
            f"These don't depend on each other, so I'll call {' and '.join(names)} together.",
        ]
    )


def reason_chain_first(rng: Random, first: CatalogTool, second: CatalogTool, need: str) -> str:
    return rng.choice(
        [
            f"To use {second.name} I first need the {need}, which {first.name} can give me.",
            f"First {first.name} to find the {need}, then {second.name}.",
            f"I don't know the {need} yet; {first.name} will tell me.",
        ]
    )


def reason_chain_next(rng: Random, second: CatalogTool, need: str, value) -> str:
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return rng.choice(
        [
            f"The {need} is {shown}. Now I can call {second.name}.",
            f"Got it: {need} {shown}. Next, {second.name}.",
            f"With the {need} ({shown}) I can call {second.name}.",
        ]
    )


def reason_ask(rng: Random, tool: CatalogTool, noun: str) -> str:
    return rng.choice(
        [
            f"{tool.name} needs the {noun}, and the user didn't say it. I'll ask instead of guessing.",
            f"The {noun} is required for {tool.name} but missing, so I have to ask.",
            f"I can't call {tool.name} without the {noun}.",
        ]
    )


def reason_none(rng: Random) -> str:
    return rng.choice(
        [
            "None of the tools fits this request, so I'll answer without calling one.",
            "No tool here does this; I'll reply in text.",
            "This doesn't need a tool.",
            "The tools can't help with this one.",
        ]
    )


def reason_forbidden(rng: Random, tool: str) -> str:
    return rng.choice(
        [
            f"{tool} would fit, but the rules forbid calling it, so I'll explain instead.",
            f"I'm not allowed to call {tool}; I have to decline.",
        ]
    )


def reason_retry(rng: Random, why: str) -> str:
    if why == "transient":
        return rng.choice(
            [
                "The service had a temporary failure. I'll try the same call again.",
                "That was a transient error; retrying.",
                "Temporary error, so one more try.",
            ]
        )
    return rng.choice(
        [
            f"The tool suggests {why}; I'll retry with that.",
            f"The value was wrong; the tool says {why}. Retrying with it.",
        ]
    )
