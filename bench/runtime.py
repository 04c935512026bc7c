"""The runtime's costs on the default model, side by side in one run, as tables.

    python bench/runtime.py                      # everything, the default model's GGUF (q8_0)
    python bench/runtime.py --only decode,gbnf   # some sections
    python bench/runtime.py --model FILE.gguf --n 12 --tokens 96

Sections:
- decode: tok/s with the grammar as a hard mask, a soft bias, and off, over the same prompts
  (tool-use requests from the generator's held-out split, their own tools), and the mask's
  cost in µs per token (the choice of each token, argmax included: hard minus off is the
  mask itself);
- gbnf: llama.cpp's own grammar sampling (``LlamaGrammar.from_json_schema`` over the same
  tools, calls written as JSON) against llama.cpp sampling freely, on the same GGUF;
- agent: latency of whole agent turns (prompt to answer, with the demo MCP server);
- rss: peak resident memory of a ``bslm run`` process;
- prefill: prefill time and memory at 1k, 8k and 16k tokens of context, with the
  sliding-window cache (local layers keep their window) and with a full-size cache.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tables import table  # bench/tables.py, beside this script

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def requests(n: int) -> list[dict]:
    """Held-out tool-use requests: (messages up to the first model turn, tools)."""
    from bslm.train.data.jsonl import read_jsonl

    path = Path("data/test_seen.jsonl")
    if not path.is_file():
        out = Path(tempfile.mkdtemp(prefix="bslm-bench-"))
        subprocess.run(
            [sys.executable, "-m", "bslm.cli", "data", "generate", f"out={out}"],
            check=True,
            capture_output=True,
        )
        path = out / "test_seen.jsonl"
    picked = []
    for rec in read_jsonl(path):
        if rec["kind"] not in ("single", "parallel", "chain", "args"):
            continue
        msgs = []
        for m in rec["messages"]:
            if m["role"] == "assistant":
                break
            msgs.append(m)
        picked.append({"messages": msgs, "tools": rec["tools"]})
        if len(picked) == n:
            break
    return picked


# --- decode: hard / soft / off --------------------------------------------------------------


def bench_decode(backend, reqs: list[dict], tokens: int) -> dict:
    from bslm.models.chat import as_spec, encode_chat
    from bslm.models.engine import generate
    from bslm.models.grammar import Grammar, Pattern

    tok = backend.tokenizer
    rows, summary = [], {}
    prompts = []
    for r in reqs:
        specs = [as_spec(t) for t in r["tools"]]
        prompts.append(
            (
                encode_chat(tok, r["messages"], specs, add_generation_prompt=True).ids,
                Grammar(tok, specs),
            )
        )
    generate(backend, prompts[0][0], prompts[0][1], "off", max_new_tokens=8)  # warm up
    # built once per process, at the first string with a pattern or format: not per token
    t0 = time.perf_counter()
    Pattern._first_chars(tok)
    index_ms = 1000 * (time.perf_counter() - t0)
    for mode in ("off", "hard", "soft"):
        n = secs = mask = 0.0
        overridden = 0
        for ids, g in prompts:
            gen = generate(backend, ids, g, mode, max_new_tokens=tokens)
            n += len(gen.ids) - 1
            secs += gen.seconds - gen.prefill_seconds
            mask += gen.mask_seconds
            overridden += gen.overridden
        tps = n / secs if secs else 0.0
        summary[mode] = tps
        rows.append([mode, int(n), f"{tps:.1f}", f"{1e6 * mask / max(n, 1):.1f}", overridden])
    for row in rows:
        row.insert(3, f"{100 * summary[row[0]] / summary['off']:.1f} %")
    t0 = time.perf_counter()
    for r in reqs:
        Grammar(tok, [as_spec(t) for t in r["tools"]])
    build_ms = 1000 * (time.perf_counter() - t0) / len(reqs)
    table(
        f"Decoding, {backend.info.get('model')} ({backend.name}), {len(reqs)} requests, "
        f"≤{tokens} tokens each; grammar built in {build_ms:.2f} ms per request; text tokens "
        f"indexed for string patterns once per process in {index_ms:.0f} ms (before timing)",
        [
            "mask",
            "tokens",
            "tok/s",
            "vs off",
            "choice µs/token (with argmax)",
            "tokens the mask changed",
        ],
        rows,
    )
    return summary


# --- llama.cpp's own grammar ----------------------------------------------------------------


def calls_schema(tools: list) -> dict:
    from bslm.models.chat import as_spec

    alts = []
    for t in tools:
        spec = as_spec(t)
        params = spec.parameters or {"type": "object", "properties": {}}
        alts.append(
            {
                "type": "object",
                "properties": {"name": {"const": spec.name}, "arguments": params},
                "required": ["name", "arguments"],
            }
        )
    return {"type": "array", "items": {"anyOf": alts}, "minItems": 1}


def bench_gbnf(gguf: Path, reqs: list[dict], tokens: int) -> None:
    from llama_cpp import Llama, LlamaGrammar

    from bslm.export.gguf import quiet_native_output
    from bslm.models.chat import as_spec
    from bslm.models.tools import to_openai_tool

    with quiet_native_output():
        llm = Llama(model_path=str(gguf), n_ctx=4096, n_threads=os.cpu_count() or 1, verbose=False)
    rows = []
    base = None
    for label in ("free", "grammar"):
        n = secs = build = 0.0
        for r in reqs:
            specs = [to_openai_tool(as_spec(t))["function"] for t in r["tools"]]
            question = next(m["content"] for m in r["messages"] if m["role"] == "user")
            prompt = f"Tools: {json.dumps(specs)}\nUser: {question}\nCalls as JSON: "
            grammar = None
            if label == "grammar":
                t0 = time.perf_counter()
                with quiet_native_output():
                    grammar = LlamaGrammar.from_json_schema(
                        json.dumps(calls_schema(r["tools"])), verbose=False
                    )
                build += time.perf_counter() - t0
            first = last = None
            count = 0
            for _ in llm.create_completion(
                prompt, max_tokens=tokens, temperature=0.0, grammar=grammar, stream=True
            ):
                now = time.perf_counter()
                first = first or now
                last = now
                count += 1
            if count > 1:
                n += count - 1
                secs += last - first
        tps = n / secs if secs else 0.0
        base = base or tps
        extra = (1e6 / tps - 1e6 / base) if tps and base else 0.0
        rows.append(
            [
                label,
                int(n),
                f"{tps:.1f}",
                f"{100 * tps / base:.1f} %",
                f"{extra:.0f}" if label == "grammar" else "—",
                f"{1000 * build / len(reqs):.1f}" if label == "grammar" else "—",
            ]
        )
    llm.close()
    table(
        f"llama.cpp sampling, same GGUF, same tools (JSON calls), {len(reqs)} requests",
        ["sampling", "tokens", "tok/s", "vs free", "grammar µs/token", "grammar build ms"],
        rows,
    )


# --- agent turns ----------------------------------------------------------------------------

AGENT_PROMPTS = (
    "What is 17.5 times 3?",
    "What time is it in Tokyo?",
    "Convert 10 km to miles.",
)


def bench_agent(backend) -> None:
    from bslm.runtime.agent import Agent
    from bslm.runtime.approval import Policy
    from bslm.runtime.mcp_client import MCPHub
    from bslm.runtime.mcp_config import demo_config

    async def go():
        config = demo_config()
        rows = []
        t0 = time.perf_counter()
        async with MCPHub(config, policy=Policy(config, override="all")) as hub:
            start = time.perf_counter() - t0
            for p in AGENT_PROMPTS:
                agent = Agent(backend, hub, max_steps=3, max_new_tokens=96)
                before = getattr(backend, "rewinds", 0)
                res = await agent.send(p)
                calls = ", ".join(c.name for c in res.calls) or "—"
                rows.append(
                    [
                        p,
                        res.steps,
                        calls,
                        res.prompt_tokens,
                        res.completion_tokens,
                        getattr(backend, "rewinds", 0) - before,
                        f"{res.ms:.0f}",
                    ]
                )
        return start, rows

    start, rows = asyncio.run(go())
    table(
        f"Agent turns (demo MCP server started in {1000 * start:.0f} ms), {backend.name}",
        [
            "request",
            "model turns",
            "calls",
            "prompt tokens",
            "completion tokens",
            "cache re-evaluations",
            "ms",
        ],
        rows,
    )


# --- peak RSS of bslm run -------------------------------------------------------------------


def bench_rss(model: str | None) -> None:
    cmd = [
        sys.executable,
        "-m",
        "bslm.cli",
        "run",
        "What is 2 + 2?",
        "--json",
        "--approve",
        "all",
        "--max-steps",
        "2",
        "--max-new-tokens",
        "64",
    ]
    if model:
        cmd += ["--model", model]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ok = r.returncode == 0
    table(
        "`bslm run` as a process (model load, demo server, one request)",
        ["exit", "wall s", "peak RSS MiB"],
        [
            [
                r.returncode if ok else f"{r.returncode}: {r.stderr.strip()[:80]}",
                f"{wall:.1f}",
                f"{peak:.0f}",
            ]
        ],
    )


# --- prefill at long contexts ---------------------------------------------------------------

_PREFILL = """
import json, os, sys, time
from llama_cpp import Llama
from bslm.export.gguf import quiet_native_output
path, n, swa_full = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
with quiet_native_output():
    llm = Llama(model_path=path, n_ctx=n + 64, n_batch=512, n_threads=os.cpu_count(),
                swa_full=swa_full, verbose=False)
before = rss()
ids = [(i * 7919) % 20000 + 1000 for i in range(n)]
t0 = time.perf_counter()
llm.eval(ids)
dt = time.perf_counter() - t0
print(json.dumps({"s": dt, "rss": rss(), "grew": rss() - before}))
"""


def bench_prefill(gguf: Path, lengths: list[int]) -> None:
    rows = []
    for n in lengths:
        for swa_full in (False, True):
            r = subprocess.run(
                [sys.executable, "-c", _PREFILL, str(gguf), str(n), "1" if swa_full else "0"],
                capture_output=True,
                text=True,
            )
            if r.returncode != 0:
                rows.append([n, "full" if swa_full else "sliding", "failed", "", "", ""])
                continue
            m = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append(
                [
                    n,
                    "full" if swa_full else "sliding window",
                    f"{m['s']:.2f}",
                    f"{n / m['s']:.0f}",
                    f"{m['rss']:.0f}",
                    f"{m['grew']:.0f}",
                ]
            )
    table(
        f"Prefill, {gguf.name} (llama.cpp, {os.cpu_count()} threads)",
        ["context tokens", "KV cache", "prefill s", "tok/s", "RSS MiB", "RSS growth MiB"],
        rows,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="GGUF (default: the default model's)")
    ap.add_argument("--backend", default=None)
    ap.add_argument("--n", type=int, default=12, help="requests for decode and gbnf")
    ap.add_argument("--tokens", type=int, default=96, help="tokens per request at most")
    ap.add_argument("--only", default="decode,gbnf,agent,rss,prefill")
    ap.add_argument("--lengths", default="1024,8192,16384")
    args = ap.parse_args()
    only = set(args.only.split(","))

    from bslm.runtime.backends import open_backend

    backend = open_backend(args.model, args.backend)
    gguf = Path(backend.info["model"])
    print(
        f"model: {gguf} ({backend.info.get('quantization')}), backend {backend.name}, "
        f"{os.cpu_count()} cores"
    )
    reqs = requests(args.n) if only & {"decode", "gbnf"} else []
    if "decode" in only:
        bench_decode(backend, reqs, args.tokens)
    if "agent" in only:
        bench_agent(backend)
    backend.close()
    if "gbnf" in only and gguf.suffix == ".gguf":
        bench_gbnf(gguf, reqs, args.tokens)
    if "rss" in only:
        bench_rss(args.model)
    if "prefill" in only and gguf.suffix == ".gguf":
        bench_prefill(gguf, [int(x) for x in args.lengths.split(",")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
