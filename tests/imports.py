"""What a piece of code imports: run in a fresh interpreter, its modules listed afterwards."""

import json
import subprocess
import sys


def modules_loaded(code: str, packages: tuple[str, ...]) -> list[str]:
    """The modules of ``packages`` (top-level names) loaded once ``code`` has run in a fresh
    interpreter, sorted."""
    script = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])
