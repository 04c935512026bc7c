"""The demo MCP server: its calculator and unit conversions, and notes and files over stdio."""

import json
import math
import sys

import pytest

from bslm.models.tools import ToolCall
from bslm.runtime.approval import Policy
from bslm.runtime.demo_server import convert, evaluate
from bslm.runtime.mcp_client import MCPHub
from bslm.runtime.mcp_config import demo_config

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.parametrize(
    "expression,value",
    [
        ("1 + 2 * 3", 7),
        ("(17.5 * 3) / 4", 13.125),
        ("2^10", 1024),
        ("7 // 2 + 7 % 2", 4),
        ("-3 ** 2", -9),
        ("sqrt(16) + abs(-2)", 6),
        ("round(pi, 3)", 3.142),
        ("max(1, 5, 3) * 2", 10),
        ("log10(1000)", 3),
        ("6 × 7 ÷ 2", 21),
    ],
)
def test_calculator_accepts(expression, value):
    assert evaluate(expression) == pytest.approx(value)


@pytest.mark.parametrize(
    "expression,message",
    [
        ("__import__('os').system('id')", "unsupported"),
        ("open('/etc/passwd')", "unsupported"),
        ("(1).__class__", "unsupported"),
        ("x + 1", "unsupported"),
        ("'a' * 3", "unsupported"),
        ("9 ** 9 ** 9", "exponent too large"),
        ("factorial(10**6)", "too large"),
        ("1 / 0", "division by zero"),
        ("2 +", "not an arithmetic expression"),
        ("[1, 2]", "unsupported"),
    ],
)
def test_calculator_refuses(expression, message):
    with pytest.raises(ValueError, match=message):
        evaluate(expression)


@pytest.mark.parametrize(
    "value,src,dst,expected",
    [
        (100, "C", "F", 212),
        (32, "F", "C", 0),
        (0, "K", "C", -273.15),
        (5, "km", "mi", 3.10686),
        (1, "lb", "g", 453.59237),
        (1, "gal", "l", 3.785411784),
        (100, "km/h", "m/s", 27.7778),
        (1, "GiB", "MB", 1073.741824),
    ],
)
def test_unit_conversion(value, src, dst, expected):
    assert convert(value, src, dst) == pytest.approx(expected, rel=1e-5)


def test_unit_conversion_refuses_other_quantities():
    with pytest.raises(ValueError, match="cannot convert length"):
        convert(1, "km", "kg")


async def test_notes_and_files_over_stdio(tmp_path, monkeypatch):
    root = tmp_path / "shared"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "plan.md").write_text("step one\n" * 100)
    (root / "secret.txt").write_text("in root")
    (tmp_path / "outside.txt").write_text("no")
    monkeypatch.setenv("BSLM_DEMO_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("BSLM_DEMO_ROOT", str(root))
    async with MCPHub(demo_config(), policy=Policy(None, "all")) as hub:

        async def call(name, **args):
            r = await hub.call(ToolCall(name, args))
            return r, (None if r.is_error else r.text())

        await call("add_note", text="Buy oat milk", tags=["Shopping"])
        await call("add_note", text="Call the plumber on Monday", tags=["home"])
        _, text = await call("list_notes")
        assert [n["text"] for n in json.loads(text)["notes"]] == [
            "Call the plumber on Monday",
            "Buy oat milk",
        ]
        _, text = await call("search_notes", query="milk")
        assert [n["id"] for n in json.loads(text)["notes"]] == [1]
        _, text = await call("list_notes", tag="shopping")
        assert json.loads(text)["total"] == 1
        stored = json.loads((tmp_path / "data" / "notes.json").read_text())
        assert [n["tags"] for n in stored] == [["shopping"], ["home"]]
        _, text = await call("delete_note", id=1)
        assert text == "deleted note 1"
        r, _ = await call("delete_note", id=1)
        assert r.is_error and "there is no note 1" in r.text()

        _, text = await call("list_files", recursive=True)
        assert [e["path"] for e in json.loads(text)["entries"]] == [
            "docs",
            "docs/plan.md",
            "secret.txt",
        ]
        _, text = await call("read_file", path="docs/plan.md", max_chars=20)
        assert text.startswith("step one\nstep one\nst") and "offset=20" in text
        for bad in ("../outside.txt", "/etc/passwd", "docs/../../outside.txt"):
            r, _ = await call("read_file", path=bad)
            assert r.is_error and "outside the shared directory" in r.text()

        _, text = await call("current_time", timezone="Asia/Kolkata")
        assert json.loads(text)["utc_offset"] == "+0530"
        r, _ = await call("current_time", timezone="Mars/Olympus")
        assert r.is_error and "unknown time zone" in r.text()
        _, text = await call(
            "convert_time",
            time="09:30",
            source_timezone="Europe/Paris",
            target_timezone="America/New_York",
            day="2025-01-15",
        )
        assert json.loads(text)["target"]["datetime"] == "2025-01-15T03:30:00-05:00"
        _, text = await call("days_between", start="2025-01-01", end="2025-03-01")
        assert json.loads(text)["days"] == 59
        _, text = await call("calculate", expression="sqrt(2) * pi")
        assert float(text) == pytest.approx(math.sqrt(2) * math.pi)


def test_demo_server_runs_as_a_module():
    import subprocess

    r = subprocess.run(
        [sys.executable, "-c", "import bslm.runtime.demo_server as d; print(d.server.name)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and r.stdout.strip() == "bslm-demo"
