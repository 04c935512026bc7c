"""What a user waits for, on the default model (llama.cpp, its q8_0 GGUF), side by side in one
run, as tables. Pause other work while it measures.

    python bench/lean.py                      # bslm run, bslm chat, token choice
    python bench/lean.py --only run --n 3

- run: ``bslm run "What time is it in Tokyo right now?" --json`` as a new process, first with
  no stored prompt head (the system prompt and the tools are evaluated, then stored), then
  with it; wall time, the run's own breakdown (model and servers ready, counted from the run's
  start, while they load side by side; the stored head loaded or evaluated; the rest of the
  prompts; decoding; tool calls), what is left for the process start (interpreter, imports),
  and the process's peak RSS. The stored heads go to a temporary cache (the default model's
  files are linked into it), so the user's own cache is left alone.
- chat: ``bslm chat`` in a real terminal (tmux), from the start of the process to the ready
  input box (the model open, "ready" in the status line; the MCP SDK is imported after it, and
  a message sent before the servers are up waits for them), and to the demo server ready in
  the side panel.
- run and chat take turns with the stdio servers spawned ahead, at the start of the command
  (``runtime/prespawn.py``), and spawned by the MCP SDK once it is imported
  (``BSLM_SPAWN_AHEAD=0``).
- choice: time to choose a token (the argmax and the grammar's mask) per token, with the mask
  off and hard, over held-out tool-use requests (bench/runtime.py's decode section); then its
  parts, timed one by one on fresh logits in a hard-mask greedy decode: numpy's argmax over
  llama.cpp's logits as the backend hands them out, and through a read-only view of the same
  buffer (numpy copies a read-only array before its argmax), each read again; the decoder's
  choice (the argmax, ``Matcher.advance`` of the model's own token, and only where the
  grammar refuses it what it allows), and for comparison the order that works out what is
  allowed at every token (``Matcher.allowed``, ``Chooser.choose``, ``Matcher.advance``);
  where text is free and inside a call's structure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tables import table  # bench/tables.py, beside this script

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROMPT = "What time is it in Tokyo right now?"


def scratch_cache() -> Path:
    """A cache folder whose models are the user's (linked), with its own prompt store."""
    from bslm.models.files import cache_dir

    real = cache_dir()
    tmp = Path(tempfile.mkdtemp(prefix="bslm-lean-"))
    (tmp / "models").symlink_to(real / "models", target_is_directory=True)
    return tmp


def timed_process(cmd: list[str], env: dict) -> tuple[float, int, str, str]:
    """(wall seconds, peak RSS in MiB, stdout, stderr) of a process run to its end."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed: {stderr[-400:]}")
    return wall, usage.ru_maxrss // 1024, stdout, stderr


SPAWNED = {"1": "spawned ahead", "0": "spawned by the SDK"}  # BSLM_SPAWN_AHEAD


def bench_run(n: int) -> None:
    cache = scratch_cache()
    env = dict(os.environ, BSLM_CACHE=str(cache), BSLM_DATA=str(cache / "data"))
    cmd = [sys.executable, "-m", "bslm.cli", "run", PROMPT, "--json", "--approve", "all"]
    rows = []
    runs = [("first (head evaluated, stored)", "1")]
    runs += [("again (head loaded)", ahead) for _ in range(n - 1) for ahead in ("1", "0")]
    try:
        for label, ahead in runs:
            wall, rss, out, _ = timed_process(cmd, dict(env, BSLM_SPAWN_AHEAD=ahead))
            report = json.loads(out)
            t = report["timing"]
            agent = report["ms"] / 1000
            ready = max(t["model_s"], t["servers_s"])
            calls = ", ".join(c["name"] for c in report["tool_calls"]) or "none"
            rows.append([
                label,
                SPAWNED[ahead],
                f"{wall:.2f}",
                f"{wall - ready - agent:.2f}",
                f"{t['model_s']:.2f}",
                f"{t['servers_s']:.2f}",
                f"{t['head_s']:.2f}",
                f"{t['prefill_s']:.2f}",
                f"{t['decode_s']:.2f}",
                f"{t['tools_s']:.2f}",
                report["tokens"]["prompt"],
                report["tokens"]["completion"],
                rss,
                calls,
            ])  # fmt: skip
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    table(
        f"`bslm run {PROMPT!r} --json`, a new process each time",
        ["run", "servers", "wall s", "process start s", "model ready s", "servers ready s", "head s",
         "prefill s", "decode s", "tools s", "prompt tokens", "tokens out", "peak RSS MiB",
         "calls"],
        rows,
    )  # fmt: skip


def bench_chat(n: int) -> None:
    if shutil.which("tmux") is None:
        print("\n(chat: tmux is not installed; skipped)")
        return
    cache = scratch_cache()
    env = {"BSLM_CACHE": str(cache), "BSLM_DATA": str(cache / "data"), "HF_HUB_OFFLINE": "1",
           "TERM": "xterm-256color", "PATH": os.environ.get("PATH", "")}  # fmt: skip
    assignments = [f"{k}={v}" for k, v in env.items()]
    rows = []
    try:
        for i, ahead in [(i, ahead) for i in range(n) for ahead in ("1", "0")]:
            name = f"bslm-lean-{os.getpid()}-{i}-{ahead}"
            t0 = time.perf_counter()
            subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "36",
                            "env", *assignments, f"BSLM_SPAWN_AHEAD={ahead}", sys.executable,
                            "-m", "bslm.cli", "chat"], check=True)  # fmt: skip
            ready = servers = None
            try:
                while time.perf_counter() - t0 < 120 and servers is None:
                    screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", name],
                                            capture_output=True, text=True).stdout  # fmt: skip
                    now = time.perf_counter() - t0
                    if ready is None and "ready · Enter sends" in screen:
                        ready = now
                    if "● ready" in screen:  # the demo server's row in the side panel
                        servers = now
                    time.sleep(0.02)
            finally:
                subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
            rows.append(["first" if i == 0 else "again", SPAWNED[ahead],
                         f"{ready:.2f}" if ready is not None else "not ready in 120 s",
                         f"{servers:.2f}" if servers is not None else "not ready in 120 s"])  # fmt: skip
            time.sleep(0.5)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    table("`bslm chat`: seconds from the process start to the ready input box (the model "
          "open), and to the demo server ready in the side panel (tmux)",
          ["start", "servers", "input box ready", "servers ready"], rows)  # fmt: skip


def bench_choice(n: int, tokens: int) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "runtime_bench", Path(__file__).with_name("runtime.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from bslm.runtime.backends import open_backend

    backend = open_backend(None, "llama")
    try:
        reqs = mod.requests(n)
        mod.bench_decode(backend, reqs, tokens)
        choice_parts(backend, reqs, tokens)
    finally:
        backend.close()


def choice_parts(backend, reqs: list[dict], tokens: int) -> None:
    """Each part of a token's choice, timed on fresh logits. Four readers take turns to read
    the logits first after an evaluation (the argmax on the backend's view, the argmax on a
    read-only view of it, the choice itself, the old order below); only the first reader of a
    token is timed. The choice is the decoder's (models/engine.py, hard mask, greedy): the
    argmax, then ``Matcher.advance`` of the model's own token; only where the grammar refuses
    it, ``Matcher.allowed``, ``Chooser.choose`` and ``Matcher.advance`` of the allowed token. The
    old order (``allowed`` worked out at every token, then the choice) runs on a copy of the
    matcher, for comparison."""
    import numpy as np

    from bslm.models.chat import as_spec, encode_chat
    from bslm.models.choice import Chooser
    from bslm.models.grammar import Grammar, Matcher

    ns = time.perf_counter_ns
    tok = backend.tokenizer
    times: dict[tuple[str, str], list[float]] = {}
    turn = 0
    for r in reqs:
        specs = [as_spec(t) for t in r["tools"]]
        ids = encode_chat(tok, r["messages"], specs, add_generation_prompt=True).ids
        g = Grammar(tok, specs)
        matcher, chooser = Matcher(g), Chooser(g, "hard")
        logits = backend.prime(ids, copy=False)
        for _ in range(tokens):
            first, turn = turn % 4, turn + 1
            old = matcher.fork()
            parts = {}
            if first < 2:
                x = logits
                if first == 1:
                    x = logits.view()
                    x.flags.writeable = False
                name = "argmax, read-only view" if first else "argmax"
                t0 = ns()
                x.argmax()
                t1 = ns()
                x.argmax()
                t2 = ns()
                parts = {name: t1 - t0, f"{name}, again": t2 - t1}
            if first == 3:
                u0 = ns()
                allowed = old.allowed()
                u1 = ns()
                u = chooser.choose(logits, allowed)
                u2 = ns()
                old.advance(u)
                u3 = ns()
                parts = {"old order: Matcher.allowed": u1 - u0, "… Chooser.choose": u2 - u1,
                         "… Matcher.advance": u3 - u2, "… the three": u3 - u0}  # fmt: skip
            t0 = ns()
            t = int(logits.argmax())
            t1 = ns()
            taken = matcher.advance(t)
            t2 = ns()
            if not taken:
                t = chooser.choose(logits, matcher.allowed())
                matcher.advance(t)
            t3 = ns()
            if first == 2:
                parts = {"the choice: argmax": t1 - t0, "… advance of the model's token": t2 - t1}
                if not taken:
                    parts["… where refused: allowed, choose, advance"] = t3 - t2
                parts["… all of it"] = t3 - t0
            if first == 3:
                assert u == t, "the two orders chose different tokens"
            else:
                allowed = old.allowed()
            state = "text" if allowed.text else "structure"
            for name, v in parts.items():
                times.setdefault((name, state), []).append(v / 1000)
                times.setdefault((name, "all"), []).append(v / 1000)
            if t == tok.eot_id:
                break
            logits = backend.eval([t], copy=False)
    names = dict.fromkeys(name for name, _ in times)

    def cell(name: str, state: str) -> str:
        v = times.get((name, state))
        return f"{np.median(v):.1f} ({len(v)})" if v else "–"

    def mean(name: str) -> str:
        v = times.get((name, "all"))
        return f"{np.mean(v):.1f}" if v else "–"

    table(
        "Choosing a token, part by part on fresh logits (hard mask; median µs, (tokens))",
        ["part", "all", "text free", "inside structure", "mean, all"],
        [
            [name, cell(name, "all"), cell(name, "text"), cell(name, "structure"), mean(name)]
            for name in names
        ],  # fmt: skip
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="run,chat,choice")
    ap.add_argument("--n", type=int, default=3, help="processes per row group")
    ap.add_argument("--requests", type=int, default=12, help="requests for the choice section")
    ap.add_argument("--tokens", type=int, default=64)
    args = ap.parse_args()
    only = set(args.only.split(","))
    print(f"{os.cpu_count()} CPU cores; default model GGUF (q8_0)")
    if "run" in only:
        bench_run(args.n)
    if "chat" in only:
        bench_chat(args.n)
    if "choice" in only:
        bench_choice(args.requests, args.tokens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
