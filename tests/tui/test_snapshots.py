"""SVG snapshots of the main screens (``App.export_screenshot``), compared with the files in
``snapshots/``. Times and speeds are fixed so that the pictures do not depend on the machine.

    BSLM_UPDATE_SNAPSHOTS=1 pytest tests/tui/test_snapshots.py   # accept the current look
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from bslm.tui.widgets import ApprovalScreen

from .conftest import SIZE, SNAPSHOTS, Sym, Text, call, ready, run, send, turn, until

UPDATE = os.environ.get("BSLM_UPDATE_SNAPSHOTS") == "1"


@pytest.fixture(autouse=True)
def fixed_data_dir(data_dir, monkeypatch):
    """The audit log's path is on the screen: the same one in every run."""
    fixed = Path(tempfile.gettempdir()) / "bslm-tui-snapshots"
    shutil.rmtree(fixed, ignore_errors=True)
    monkeypatch.setenv("BSLM_DATA", str(fixed))
    yield
    shutil.rmtree(fixed, ignore_errors=True)


@pytest.fixture(autouse=True)
def fixed_numbers(monkeypatch):
    monkeypatch.setattr("bslm.tui.widgets.format_ms", lambda ms: "12 ms")
    monkeypatch.setattr("bslm.tui.widgets.format_rate", lambda rate: "75.0 tok/s")


def normalise(svg: str) -> str:
    # the id Rich derives from the content is repeated in every class name; one is enough
    ids = set(re.findall(r"terminal-(\d+)", svg))
    for i, found in enumerate(sorted(ids)):
        svg = svg.replace(f"terminal-{found}", f"terminal-{i}")
    return svg


def check(svg: str, name: str, tmp_path) -> None:
    svg = normalise(svg)
    path = SNAPSHOTS / f"{name}.svg"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(svg, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}: run with BSLM_UPDATE_SNAPSHOTS=1 to write it")
    if path.read_text(encoding="utf-8") != svg:
        got = tmp_path / f"{name}.svg"
        got.write_text(svg, encoding="utf-8")
        pytest.fail(
            f"{name} looks different: compare {got} with {path} "
            "(BSLM_UPDATE_SNAPSHOTS=1 accepts the new look)"
        )


def test_conversation_with_a_tool_call(tok, make_app, tmp_path):
    script = [
        turn(
            tok,
            Sym("think"),
            Text("The user wants a product."),
            Sym("end"),
            *call("calculate", expression="6*7"),
        ),
        turn(tok, Text("Six times seven is **42**.")),
    ]
    app = make_app(script)

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "What is six times seven?")
            return app.export_screenshot()

    check(run(go()), "conversation", tmp_path)


def test_approval_dialog(tok, make_app, tmp_path):
    app = make_app([turn(tok, *call("add_note", text="buy milk", tags=["shopping"]))])

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "Remember to buy milk", wait=False)
            await until(pilot, lambda: isinstance(app.screen, ApprovalScreen), what="the dialog")
            await pilot.pause(0.2)
            svg = app.export_screenshot()
            await pilot.press("n")
            return svg

    check(run(go()), "approval", tmp_path)


def test_help(tok, make_app, tmp_path):
    app = make_app([])

    async def go():
        async with app.run_test(size=SIZE) as pilot:
            await ready(pilot)
            await send(pilot, "/help")
            return app.export_screenshot()

    check(run(go()), "help", tmp_path)
