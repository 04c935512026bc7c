"""The import direction of the house: a room imports only the rooms below it, never one above
or beside it, at module level or inside a function.

    models  <  export  <  runtime  <  train, tui  <  cli

``models`` is what the model is (and the engine that decodes it); ``export`` writes it for other
runtimes; ``runtime`` runs it with MCP tools; ``train`` builds on all of them (its evaluation
decodes through the runtime's backends) and ``tui`` on the runtime; ``cli`` puts the rooms'
commands together. Inside ``train``: ``data`` < ``rl`` < ``eval``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RANK = {"models": 0, "export": 1, "runtime": 2, "train": 3, "tui": 3, "cli": 4}
TRAIN_RANK = {"data": 0, "rl": 1, "eval": 2}


def imported(path: Path, package: str) -> set[str]:
    """Every bslm module ``path`` imports (relative imports resolved against ``package``)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
    return {m for m in out if m.startswith("bslm.")}


def modules():
    for room in RANK:
        for path in sorted((ROOT / room).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            package = ".".join(["bslm", *(parts if parts[-1] == "__init__" else parts[:-1])])
            package = package.removesuffix(".__init__")
            yield room, path, package


ALL = list(modules())


def test_every_room_is_checked():
    assert {room for room, _, _ in ALL} == set(RANK) and len(ALL) > 100


@pytest.mark.parametrize(
    "room,path,package", ALL, ids=[str(p.relative_to(ROOT)) for _, p, _ in ALL]
)
def test_a_room_imports_only_the_rooms_below_it(room, path, package):
    for name in imported(path, package):
        other = name.split(".")[1]
        if other == room or other not in RANK:
            continue
        assert RANK[other] < RANK[room], f"{path.relative_to(ROOT)} imports {name} ({other})"
    if room == "train" and len(package.split(".")) > 2 and package.split(".")[2] in TRAIN_RANK:
        mine = TRAIN_RANK[package.split(".")[2]]
        for name in imported(path, package):
            parts = name.split(".")
            if parts[1] == "train" and len(parts) > 2 and parts[2] in TRAIN_RANK:
                assert TRAIN_RANK[parts[2]] <= mine, f"{path.relative_to(ROOT)} imports {name}"
