"""The pruned text vocabulary against the full one, side by side in one run, as tables.

    python bench/vocab.py                               # tokens per character only
    python bench/vocab.py --gguf pruned=A.gguf,full=B.gguf,stock=C.gguf --tokens 64

- tokens: text tokens per character of English prose, code, JSON and other scripts, with the
  full Gemma vocabulary and each shipped pruned size (rarer text costs more tokens through
  byte fallback; nothing is lost);
- decode: for each GGUF, its size, prefill tok/s, decode tok/s (llama.cpp evaluating one token
  at a time, as the runtime does) and the time to copy the logits and take the argmax, on the
  same prompt, greedily; the ratios are to the first GGUF. Pause other work while it measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

SCRIPTS = {
    "German": "Wie spät ist es gerade in Berlin? Bitte rechne 15 Prozent von 240 aus und "
    "erinnere mich morgen früh an den Termin beim Zahnarzt.",
    "French": "Quelle heure est-il à Tokyo en ce moment ? Convertis cinq miles en kilomètres, "
    "s'il te plaît, et ajoute une note pour la réunion de jeudi.",
    "Spanish": "¿Qué hora es en Buenos Aires? Convierte doce mil yenes a euros y guarda una "
    "nota sobre la cena del viernes con mis compañeros.",
    "Russian": "Который час сейчас в Москве? Переведи пять миль в километры и напомни мне "
    "завтра утром о встрече с врачом.",
    "Chinese": "现在东京几点了？请把五英里换算成公里，并提醒我明天早上去看牙医。",
    "Japanese": "今、東京は何時ですか？五マイルをキロメートルに換算して、明日の朝の歯医者の予約を"
    "思い出させてください。",
    "Arabic": "كم الساعة الآن في القاهرة؟ حوّل خمسة أميال إلى كيلومترات وذكّرني غدًا صباحًا بموعد الطبيب.",
    "Hindi": "दिल्ली में अभी कितने बजे हैं? पाँच मील को किलोमीटर में बदलो और मुझे कल सुबह डॉक्टर "
    "की मुलाक़ात याद दिलाना।",
    "emoji": "Great job 🎉🚀! See you at 5 pm 👋🏽 — coffee ☕ or tea 🍵? 👩‍💻🔥",
}


def samples() -> dict[str, str]:
    """English prose (the README), code (bslm's own sources), JSON (tool schemas), others."""
    import json

    root = Path(__file__).resolve().parent.parent
    code = "".join(p.read_text("utf-8") for p in sorted((root / "runtime").glob("*.py"))[:8])
    schemas = json.dumps(
        json.loads((root / "train" / "assets" / "dev_tools.json").read_text("utf-8"))
        if (root / "train" / "assets" / "dev_tools.json").is_file()
        else {"name": "get_weather", "parameters": {"type": "object"}}
    )
    return {
        "English (README)": (root / "README.md").read_text("utf-8"),
        "code (runtime/*.py)": code,
        "JSON (tool schemas)": schemas,
        **SCRIPTS,
    }


def bench_tokens() -> None:
    from bslm.models.bases import base_tokenizer
    from bslm.models.vocab import sizes

    names = ["gemma-3-270m"] + [f"gemma-3-270m@{s}" for s in sizes("gemma-3-270m")]
    toks = {n: base_tokenizer(n) for n in names}
    print("\n### Text tokens per character\n")
    print("| text | chars | " + " | ".join(f"{n} ({len(toks[n])})" for n in names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for what, text in samples().items():
        row = []
        for n in names:
            ids = toks[n].encode(text, add_special_tokens=False, split_special_tokens=True)
            assert toks[n].decode(ids) == text
            row.append(f"{len(ids) / len(text):.3f}")
        print(f"| {what} | {len(text)} | " + " | ".join(row) + " |", flush=True)


def _decode(path: str, prompt: str, tokens: int) -> dict:
    import llama_cpp
    import numpy as np
    from llama_cpp import Llama

    from bslm.export.gguf import quiet_native_output

    with quiet_native_output():
        llm = Llama(model_path=path, n_ctx=2048, n_threads=os.cpu_count(), verbose=False)
    try:
        n_vocab = llm.n_vocab()
        ids = llm.tokenize(prompt.encode(), add_bos=True, special=False)
        t0 = time.perf_counter()
        llm.eval(ids)
        prefill = time.perf_counter() - t0
        choose = evals = 0.0
        for _ in range(tokens):
            t0 = time.perf_counter()
            ptr = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
            logits = np.ctypeslib.as_array(ptr, shape=(n_vocab,)).astype(np.float32, copy=True)
            nxt = int(logits.argmax())
            t1 = time.perf_counter()
            llm.eval([nxt])
            evals += time.perf_counter() - t1
            choose += t1 - t0
        return {
            "vocab": n_vocab,
            "prefill": len(ids) / prefill,
            "decode": tokens / (evals + choose),
            "choose_us": 1e6 * choose / tokens,
        }
    finally:
        llm.close()


def bench_decode(ggufs: dict[str, str], tokens: int) -> None:
    prompt = samples()["English (README)"][:1500]
    print(f"\n### Decoding, greedy, {tokens} tokens after a {len(prompt)}-character prompt\n")
    print("| GGUF | rows | MB | prefill tok/s | decode tok/s | vs first | copy + argmax µs/token |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    first = None
    for name, path in ggufs.items():
        r = _decode(path, prompt, tokens)
        first = first or r["decode"]
        mb = Path(path).stat().st_size / 1e6
        print(
            f"| {name} | {r['vocab']} | {mb:.0f} | {r['prefill']:.0f} | {r['decode']:.1f} | "
            f"{r['decode'] / first:.2f}× | {r['choose_us']:.0f} |",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gguf", default="", help="name=path,name=path (the first is the reference)")
    ap.add_argument("--tokens", type=int, default=64)
    args = ap.parse_args(argv)
    bench_tokens()
    if args.gguf:
        ggufs = dict(item.split("=", 1) for item in args.gguf.split(","))
        bench_decode(ggufs, args.tokens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
