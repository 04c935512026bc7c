"""The runtime path from Enter to answer on a current GGUF imports no PyTorch, transformers,
PEFT, TRL or datasets, nor gguf-py (llama.cpp reads the file): ``bslm run`` in a fresh
interpreter, its modules checked afterwards."""

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "peft", "trl", "datasets", "gguf")

SCRIPT = """
import json, sys
from bslm.cli.main import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "heavy": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)  # noqa: UP031


@pytest.fixture
def tiny_dir(tiny, tmp_path):
    from bslm.models.build import save_model

    model, tok = tiny
    return save_model(model, tok, tmp_path / "tiny")


def _default_gguf(tiny_dir, cache):
    """The tiny model exported as the default model's GGUF, made from the shipped artifact."""
    from bslm.export.gguf import export_gguf
    from bslm.models.files import BUILD_FILE, shipped_digest

    (tiny_dir / BUILD_FILE).write_text(json.dumps({"base": "tiny", "artifact": shipped_digest()}))
    target = cache / "models" / "default.q8_0.gguf"
    target.parent.mkdir(parents=True)
    export_gguf(tiny_dir, target, "f16")
    return target


def _run(args, env):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1]), out


def test_bslm_run_on_the_default_gguf_never_imports_torch(tiny_dir, tmp_path):
    cache = tmp_path / "cache"
    gguf = _default_gguf(tiny_dir, cache)
    env = dict(os.environ, BSLM_CACHE=str(cache), BSLM_DATA=str(tmp_path / "data"))
    empty = tmp_path / "mcp.json"
    empty.write_text(json.dumps({"mcpServers": {}}))
    args = ["run", "Hello", "--json", "--max-new-tokens", "4", "--mcp-config", str(empty)]
    result, _ = _run(args, env)
    assert result["heavy"] == []
    assert gguf.is_file() and not (cache / "models" / "default").exists()  # nothing rebuilt
