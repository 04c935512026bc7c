"""How quickly ``bslm chat`` answers: time from Enter to the first streamed token, per message,
with the real default model (llama.cpp, GGUF) and the demo MCP server, the app driven headless.

    python bench/chat_latency.py [--model PATH] [--backend llama|onnx|torch] [--mask hard]

"First token" is the model's first token, of either modality (its prefill is done); "first
text on screen" is the first streamed text the app shows, which comes after any tool calls the
model makes first. The first message pays for the whole prompt (the tools' schemas); later ones
reuse the cached prefix. Conversations go to a temporary store, not the user's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time

PROMPTS = (
    "Hello! What can you do?",
    "What is 17 times 23?",
    "What time is it in Tokyo?",
    "Thanks. Can you say that again in one sentence?",
)


def timed(backend, primed: list[float]):
    """The backend, noting when each prefill ends (the first token's logits are ready)."""
    prime = backend.prime

    def timed_prime(prompt, copy=True):
        logits = prime(prompt, copy)
        primed.append(time.perf_counter())
        return logits

    backend.prime = timed_prime
    return backend


async def measure(args) -> list[dict]:
    from bslm.runtime.backends import open_backend
    from bslm.tui.app import ChatApp, ChatOptions
    from bslm.tui.widgets import ModelInfo, PromptInput

    options = ChatOptions(
        model=args.model,
        backend=args.backend,
        mask=args.mask,
        approve="all",
        max_new_tokens=args.max_new_tokens,
    )
    primed: list[float] = []
    app = ChatApp(options, open_model=lambda: timed(open_backend(args.model, args.backend), primed))
    rows = []
    async with app.run_test(size=(120, 40)) as pilot:
        t0 = time.perf_counter()
        while not app.ready.is_set():
            await pilot.pause(0.05)
        if app.agent is None:
            raise SystemExit(f"cannot open the model: {app.model_error}")
        load = time.perf_counter() - t0
        print(
            f"model and servers ready in {load:.1f} s: {app.backend.info.get('model')}", flush=True
        )
        # a person takes a few seconds to type the first message: the app evaluates the
        # system prompt and the tools meanwhile
        await pilot.pause(args.typing)
        for text in PROMPTS:
            sent, steps, calls = len(app.latencies), len(primed), len(app.cards)
            # what Enter posts (a key press through the pilot would wait for the whole turn)
            app.query_one(PromptInput).post_message(PromptInput.Submitted(text))
            t0 = time.perf_counter()
            while len(app.latencies) == sent or app.turn_task is not None:
                if time.perf_counter() - t0 > args.timeout:
                    raise SystemExit(f"no answer to {text!r} within {args.timeout:g} s")
                await pilot.pause(0.01)
            await pilot.pause(0.05)
            lat = app.latencies[-1]
            info = app.query_one(ModelInfo)
            rows.append(
                {
                    "prompt": text,
                    "context": info.used,
                    "token": primed[steps] - lat["sent"],
                    "first": (lat["first"] - lat["sent"]) if lat["first"] else None,
                    "turn": lat["done"] - lat["sent"],
                    "rate": info.rate,
                    "calls": len(app.cards) - calls,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="default: the shipped default model")
    ap.add_argument("--backend", default=None, choices=("llama", "onnx", "torch"))
    ap.add_argument("--mask", default="hard", choices=("hard", "soft", "off"))
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per message, at most")
    ap.add_argument(
        "--typing",
        type=float,
        default=3.0,
        help="seconds between ready and the first message (a person typing)",
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as data:
        os.environ["BSLM_DATA"] = data
        os.environ["BSLM_DEMO_DATA"] = data
        rows = asyncio.run(measure(args))
    print(
        "| # | message | context (tokens) | Enter → first token (s) | "
        "Enter → first text on screen (s) | whole turn (s) | tok/s | tool calls |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for i, r in enumerate(rows, 1):
        first = f"{r['first']:.2f}" if r["first"] is not None else "no text"
        print(
            f"| {i} | {r['prompt']} | {r['context']} | {r['token']:.2f} | {first} | "
            f"{r['turn']:.2f} | {r['rate']:.1f} | {r['calls']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
