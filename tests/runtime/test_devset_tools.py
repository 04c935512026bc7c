"""The development set's captured tool lists against the live servers, and its demo-server
results against what the demo server answers.

    python tests/runtime/test_devset_tools.py    # capture the tool lists into train/assets/dev_tools.json

The capture runs each server through bslm's MCP client and keeps what the model is shown
(name, description, input schema) and the output schema (which decides whether results come
with structured content). Third-party servers are compared only at the version captured.
"""

import asyncio
import json
import shutil
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from bslm.models.chat import result_message
from bslm.models.tools import ToolSpec, from_openai_call
from bslm.runtime.approval import Policy
from bslm.runtime.mcp_client import MCPHub
from bslm.runtime.mcp_config import parse_config
from bslm.train.eval import devset

SQLITE_ADAPTER = Path(__file__).parent / "servers" / "sqlite_v1.py"
BIN = Path(sys.executable).parent
# The local zone mcp-server-time is started with: its descriptions name it, and requests
# about "here" expect it.
LOCAL_ZONE = "Europe/Berlin"
# Demo tools whose result depends only on the arguments (current_time depends on the clock;
# convert_time too, unless the call gives the day and both zones).
DETERMINISTIC = {"calculate", "convert_units", "days_between"}
FIXED_TIME = {"day", "source_timezone", "target_timezone"}


def servers(db: Path) -> dict[str, dict]:
    """How each server is started: (package whose version is recorded, command line)."""
    return {
        "demo": {"package": None, "argv": [sys.executable, "-m", "bslm.runtime.demo_server"]},
        "time": {
            "package": "mcp-server-time",
            "argv": [str(BIN / "mcp-server-time"), "--local-timezone", LOCAL_ZONE],
        },
        # mcp-server-sqlite is written for mcp 1.x; the adapter runs its own code under mcp 2
        "sqlite": {
            "package": "mcp-server-sqlite",
            "argv": [sys.executable, str(SQLITE_ADAPTER), "--db-path", str(db)],
        },
        "git": {"package": "mcp-server-git", "argv": [str(BIN / "mcp-server-git")]},
    }


def installed(package: str | None) -> str | None:
    try:
        return version(package or "bslm")
    except PackageNotFoundError:
        return None


def as_captured(spec: ToolSpec) -> dict:
    out = {"name": spec.name, "description": spec.description, "inputSchema": spec.parameters}
    if "output_schema" in spec.extra:
        out["outputSchema"] = spec.extra["output_schema"]
    return out


async def list_live(argv: list[str]) -> list[dict]:
    """The tools of one server started by ``argv``, as the asset stores them."""
    cfg = parse_config({"mcpServers": {"s": {"command": argv[0], "args": argv[1:]}}})
    async with MCPHub(cfg) as hub:
        [status] = hub.status()
        if status.state != "ready":
            raise RuntimeError(f"{' '.join(argv)} did not start: {status.error}")
        return [as_captured(t) for t in hub.tools()]


def capture(out: Path = devset.TOOLS_FILE) -> dict:
    """Run every server once and write their tool lists to ``out``."""
    data = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, s in servers(Path(tmp) / "shop.db").items():
            ver = installed(s["package"])
            if ver is None:
                raise RuntimeError(f"{s['package']} is not installed: pip install {s['package']}")
            shown = [Path(a).name if a.startswith(str(BIN)) else a for a in s["argv"]]
            data[name] = {
                "package": s["package"] or "bslm",
                "version": ver,
                "command": " ".join(shown),
                "tools": asyncio.run(list_live(s["argv"])),
            }
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


# --- tests -----------------------------------------------------------------------------------

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def committed() -> dict:
    return json.loads(devset.TOOLS_FILE.read_text(encoding="utf-8"))


async def test_captured_demo_tools_equal_the_live_demo_server(tmp_path):
    live = await list_live(servers(tmp_path / "x.db")["demo"]["argv"])
    assert committed()["demo"]["tools"] == live


@pytest.mark.parametrize("name", ["time", "sqlite", "git"])
async def test_captured_third_party_tools_equal_the_live_server(name, tmp_path):
    s = servers(tmp_path / "x.db")[name]
    want = committed()[name]
    ver = installed(s["package"])
    if ver is None or shutil.which(s["argv"][0]) is None:
        pytest.skip(f"{s['package']} is not installed")
    if ver != want["version"]:
        pytest.skip(f"{s['package']} {ver} installed, {want['version']} captured")
    assert await list_live(s["argv"]) == want["tools"]


def demo_exchanges() -> list[tuple[str, dict, dict]]:
    """(record id, gold call, its result message) for the deterministic demo calls the dev set
    shows results of."""
    out = []
    for rec in devset.load():
        if rec["domain"] != "demo":
            continue
        msgs = rec["messages"]
        for i, m in enumerate(msgs):
            calls = m.get("tool_calls") or []
            results = msgs[i + 1 : i + 1 + len(calls)]
            for c, r in zip(calls, results, strict=False):
                name, args = c["function"]["name"], c["function"]["arguments"]
                fixed = name == "convert_time" and set(args) >= FIXED_TIME
                if r["role"] == "tool" and (name in DETERMINISTIC or fixed):
                    out.append((rec["id"], c, r))
    return out


async def test_dev_results_are_what_the_demo_server_answers(tmp_path):
    exchanges = demo_exchanges()
    assert len(exchanges) >= 5
    cfg = parse_config(
        {
            "mcpServers": {
                "demo": {"command": sys.executable, "args": ["-m", "bslm.runtime.demo_server"]}
            }
        }
    )
    async with MCPHub(cfg, policy=Policy(None, "all")) as hub:
        for rid, call, shown in exchanges:
            got = result_message(await hub.call(from_openai_call(call)))
            assert got == shown, rid


if __name__ == "__main__":
    written = capture()
    for name, s in written.items():
        print(f"{name}: {len(s['tools'])} tools ({s['package']} {s['version']})")
    print(f"wrote {devset.TOOLS_FILE}")
