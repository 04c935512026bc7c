"""bslm's demo MCP server: useful local tools that need no network.

    python -m bslm.runtime.demo_server                  # speaks MCP over stdio
    python -m bslm.runtime.demo_server --http 8765      # streamable HTTP at :8765/mcp

Tools: ``current_time``, ``convert_time``, ``days_between`` (zoneinfo), ``calculate`` (a safe
arithmetic evaluator over Python's ``ast``, no ``eval``), ``convert_units``, notes
(``add_note``, ``list_notes``, ``search_notes``, ``delete_note``) and files (``list_files``,
``read_file``, read-only, confined to one root directory).

Environment: ``BSLM_DEMO_ROOT`` is the directory the file tools may see (default: the working
directory); ``BSLM_DEMO_DATA`` is where ``notes.json`` lives (default: the platform's user data
directory for bslm).
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from platformdirs import user_data_dir
from pydantic import Field

from bslm.runtime.arith import evaluate

READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)

server = MCPServer(
    "bslm-demo",
    instructions="Local tools: time zones, arithmetic, units, notes and files. No network.",
)


def _zone(name: str | None) -> ZoneInfo:
    if not name:
        return datetime.now().astimezone().tzinfo  # type: ignore[return-value]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ToolError(f"unknown time zone {name!r}; use an IANA name like 'Europe/Paris'") from e


def _describe_time(t: datetime) -> dict:
    return {
        "datetime": t.isoformat(timespec="seconds"),
        "weekday": t.strftime("%A"),
        "timezone": str(t.tzinfo),
        "utc_offset": t.strftime("%z"),
    }


TimeZone = Annotated[
    str | None,
    Field(description="IANA time zone, e.g. 'Europe/Paris'; omitted: the computer's own zone"),
]


@server.tool(annotations=READ_ONLY)
def current_time(timezone: TimeZone = None) -> dict:
    """The current date and time in a time zone."""
    return _describe_time(datetime.now(_zone(timezone)))


@server.tool(annotations=READ_ONLY)
def convert_time(
    time: Annotated[
        str, Field(description="Time of day, 24-hour 'HH:MM'", pattern=r"^\d{1,2}:\d{2}$")
    ],
    source_timezone: TimeZone = None,
    target_timezone: TimeZone = None,
    day: Annotated[
        str | None, Field(description="Date 'YYYY-MM-DD' of that time; omitted: today")
    ] = None,
) -> dict:
    """Convert a time of day from one time zone to another."""
    src = _zone(source_timezone)
    try:
        d = date.fromisoformat(day) if day else datetime.now(src).date()
        hh, mm = (int(x) for x in time.split(":"))
        t = datetime(d.year, d.month, d.day, hh, mm, tzinfo=src)
    except ValueError as e:
        raise ToolError(f"bad time or date: {e}") from e
    return {
        "source": _describe_time(t),
        "target": _describe_time(t.astimezone(_zone(target_timezone))),
    }


@server.tool(annotations=READ_ONLY)
def days_between(
    start: Annotated[str, Field(description="First date, 'YYYY-MM-DD'")],
    end: Annotated[str, Field(description="Second date, 'YYYY-MM-DD'")],
) -> dict:
    """Days (and weeks) from one date to another; negative when `end` comes first."""
    try:
        n = (date.fromisoformat(end) - date.fromisoformat(start)).days
    except ValueError as e:
        raise ToolError(f"dates must look like 2025-03-14 ({e})") from e
    return {
        "days": n,
        "weeks": round(n / 7, 2),
        "weekday_of_end": date.fromisoformat(end).strftime("%A"),
    }


# --- calculator ------------------------------------------------------------------------------


@server.tool(annotations=READ_ONLY)
def calculate(
    expression: Annotated[
        str,
        Field(description="Arithmetic, e.g. '(17.5 * 3) / 4', '2**10', 'sqrt(2) * pi'"),
    ],
) -> str:
    """Evaluate an arithmetic expression exactly: + - * / // % ** and sqrt, log, sin, cos, tan,
    exp, abs, round, min, max, floor, ceil, factorial, pi, e."""
    try:
        return repr(evaluate(expression))
    except ValueError as e:
        raise ToolError(str(e)) from e


# --- units -----------------------------------------------------------------------------------

_UNITS: dict[str, tuple[str, float]] = {
    # length, in metres
    "mm": ("length", 1e-3),
    "cm": ("length", 1e-2),
    "m": ("length", 1.0),
    "km": ("length", 1e3),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "yd": ("length", 0.9144),
    "mi": ("length", 1609.344),
    "nmi": ("length", 1852.0),
    # mass, in kilograms
    "mg": ("mass", 1e-6),
    "g": ("mass", 1e-3),
    "kg": ("mass", 1.0),
    "t": ("mass", 1e3),
    "oz": ("mass", 0.028349523125),
    "lb": ("mass", 0.45359237),
    "st": ("mass", 6.35029318),
    # volume, in litres
    "ml": ("volume", 1e-3),
    "l": ("volume", 1.0),
    "m3": ("volume", 1e3),
    "tsp": ("volume", 0.00492892159375),
    "tbsp": ("volume", 0.01478676478125),
    "cup": ("volume", 0.2365882365),
    "pt": ("volume", 0.473176473),
    "qt": ("volume", 0.946352946),
    "gal": ("volume", 3.785411784),
    # speed, in metres per second
    "m/s": ("speed", 1.0),
    "km/h": ("speed", 1 / 3.6),
    "mph": ("speed", 0.44704),
    "kn": ("speed", 1852 / 3600),
    # data, in bytes
    "B": ("data", 1),
    "KB": ("data", 1e3),
    "MB": ("data", 1e6),
    "GB": ("data", 1e9),
    "TB": ("data", 1e12),
    "KiB": ("data", 1024),
    "MiB": ("data", 1024**2),
    "GiB": ("data", 1024**3),
    "TiB": ("data", 1024**4),
    # temperature: handled apart (offsets)
    "C": ("temperature", 0),
    "F": ("temperature", 0),
    "K": ("temperature", 0),
}
Unit = Literal[tuple(_UNITS)]  # type: ignore[valid-type]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert between two units of the same quantity. Raises ValueError otherwise."""
    (qa, fa), (qb, fb) = _UNITS[from_unit], _UNITS[to_unit]
    if qa != qb:
        raise ValueError(f"cannot convert {qa} ({from_unit}) to {qb} ({to_unit})")
    if qa == "temperature":
        kelvin = {"C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15, "K": value}[from_unit]
        return {"C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32, "K": kelvin}[to_unit]
    return value * fa / fb


@server.tool(annotations=READ_ONLY)
def convert_units(
    value: Annotated[float, Field(description="The amount to convert")],
    from_unit: Annotated[Unit, Field(description="Unit of the amount (C/F/K are temperatures)")],
    to_unit: Annotated[Unit, Field(description="Unit to convert to, of the same quantity")],
) -> dict:
    """Convert an amount between units of length, mass, volume, speed, data size or temperature."""
    try:
        result = convert(value, from_unit, to_unit)
    except ValueError as e:
        raise ToolError(str(e)) from e
    return {"value": round(result, 10), "unit": to_unit, "quantity": _UNITS[from_unit][0]}


# --- notes -----------------------------------------------------------------------------------


def _notes_file() -> Path:
    base = os.environ.get("BSLM_DEMO_DATA") or user_data_dir("bslm", appauthor=False)
    return Path(base) / "notes.json"


def _load_notes() -> list[dict]:
    path = _notes_file()
    if not path.exists():
        return []
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ToolError(f"cannot read the notes in {path}: {e}") from e


def _save_notes(notes: list[dict]) -> None:
    path = _notes_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(notes, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)  # atomic: a crash never leaves half a file


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
def add_note(
    text: Annotated[str, Field(description="The note", min_length=1)],
    tags: Annotated[list[str], Field(description="Labels to find it by later")] = [],  # noqa: B006
) -> dict:
    """Save a note (kept on this computer)."""
    notes = _load_notes()
    note = {
        "id": max((n["id"] for n in notes), default=0) + 1,
        "text": text,
        "tags": sorted({t.strip().lower() for t in tags if t.strip()}),
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    _save_notes([*notes, note])
    return note


@server.tool(annotations=READ_ONLY)
def list_notes(
    tag: Annotated[str | None, Field(description="Only notes with this tag")] = None,
    limit: Annotated[int, Field(description="At most this many, newest first", ge=1, le=200)] = 20,
) -> dict:
    """List saved notes, newest first."""
    notes = [n for n in _load_notes() if tag is None or tag.lower() in n["tags"]]
    return {"notes": notes[::-1][:limit], "total": len(notes)}


@server.tool(annotations=READ_ONLY)
def search_notes(
    query: Annotated[str, Field(description="Words to look for", min_length=1)],
    limit: Annotated[int, Field(description="At most this many", ge=1, le=100)] = 10,
) -> dict:
    """Find notes containing all the words of the query (in the text or tags), newest first."""
    words = re.findall(r"\w+", query.lower())
    hits = [
        n for n in _load_notes() if all(w in n["text"].lower() or w in n["tags"] for w in words)
    ]
    return {"notes": hits[::-1][:limit], "total": len(hits)}


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def delete_note(id: Annotated[int, Field(description="The note's id", ge=1)]) -> str:
    """Delete one note by its id."""
    notes = _load_notes()
    kept = [n for n in notes if n["id"] != id]
    if len(kept) == len(notes):
        raise ToolError(f"there is no note {id}")
    _save_notes(kept)
    return f"deleted note {id}"


# --- files -----------------------------------------------------------------------------------


def _root() -> Path:
    return Path(os.environ.get("BSLM_DEMO_ROOT") or os.getcwd()).resolve()


def _inside(path: str) -> Path:
    root = _root()
    full = (root / path).resolve()
    if not full.is_relative_to(root):
        raise ToolError(f"{path!r} is outside the shared directory")
    if not full.exists():
        raise ToolError(f"{path!r} does not exist")
    return full


@server.tool(annotations=READ_ONLY)
def list_files(
    path: Annotated[str, Field(description="Directory, relative to the shared root")] = ".",
    pattern: Annotated[str, Field(description="Glob on file names, e.g. '*.md'")] = "*",
    recursive: Annotated[bool, Field(description="Also look in subdirectories")] = False,
    limit: Annotated[int, Field(description="At most this many entries", ge=1, le=1000)] = 100,
) -> dict:
    """List files and directories under the shared root directory (sizes in bytes)."""
    root, base = _root(), _inside(path)
    if not base.is_dir():
        raise ToolError(f"{path!r} is not a directory")
    found = sorted(base.rglob(pattern) if recursive else base.glob(pattern))
    entries = [
        {
            "path": str(p.relative_to(root)),
            "type": "dir" if p.is_dir() else "file",
            **({} if p.is_dir() else {"size": p.stat().st_size}),
        }
        for p in found[:limit]
        if p.resolve().is_relative_to(root) and not p.name.startswith(".")
    ]
    return {"entries": entries, "more": max(0, len(found) - limit)}


@server.tool(annotations=READ_ONLY)
def read_file(
    path: Annotated[str, Field(description="File, relative to the shared root")],
    offset: Annotated[int, Field(description="First character to return", ge=0)] = 0,
    max_chars: Annotated[
        int, Field(description="At most this many characters", ge=1, le=100_000)
    ] = 8000,
) -> str:
    """Read a text file under the shared root directory (a slice of it, for long files)."""
    full = _inside(path)
    if not full.is_file():
        raise ToolError(f"{path!r} is not a file")
    try:
        text = full.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ToolError(f"{path!r} is not a UTF-8 text file") from e
    part = text[offset : offset + max_chars]
    rest = len(text) - offset - len(part)
    return part + (
        f"\n[… {rest:,} more characters; read on with offset={offset + len(part)}]"
        if rest > 0
        else ""
    )


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="bslm's demo MCP server (stdio by default)")
    ap.add_argument("--http", type=int, metavar="PORT", help="serve streamable HTTP instead")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args(argv)
    if args.http is None:
        server.run()
    else:
        server.run("streamable-http", host=args.host, port=args.http)


if __name__ == "__main__":
    main()
