"""The ``bslm`` command line.

    bslm build [--base gemma-3-270m|smollm2-135m|DIR] [--out DIR] [--force | --if-missing]
    bslm tokenize FILE [--base NAME | --model DIR] [--ids] [--full]
    bslm chat [--model DIR] [--tools FILE]

Errors a user can cause print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

EXIT_USAGE = 2


class UserError(Exception):
    """Bad input: printed as one line, exit status 2."""


def _build(args) -> int:
    from bslm.models.build import build_model, default_model_dir, is_model_dir, stale_reason

    out = args.out or default_model_dir()
    force = args.force
    if args.if_missing and out.exists():
        if not is_model_dir(out):
            raise UserError(f"{out} exists and is not a bslm model: choose another --out")
        reason = stale_reason(out)
        if reason is None:
            print(f"model ready: {out}")
            return 0
        print(f"rebuilding {out}: {reason}")
        force = True
    print(
        f"building {out} from {args.base} (first time: de-quantizing the base, about a minute)..."
    )
    path = build_model(args.base, out, force=force)
    print(f"model ready: {path}")
    return 0


def _read_json(path: str):
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise UserError(f"{path} is not JSON: {e}") from e


def _tokenize(args) -> int:
    from bslm.models.build import dual_tokenizer
    from bslm.models.chat import chat_items, encode_chat
    from bslm.models.language import render, tool_items
    from bslm.models.tokenizer import DualTokenizer
    from bslm.models.tools import from_openai_tool

    data = _read_json(args.file)
    tok = DualTokenizer.load(args.model) if args.model else dual_tokenizer(args.base)
    if isinstance(data, dict) and "messages" in data:
        items = chat_items(data["messages"], data.get("tools"), full=args.full)
        ids = encode_chat(tok, data["messages"], data.get("tools")).ids
    else:
        tools = data.get("tools", [data]) if isinstance(data, dict) else data
        if not isinstance(tools, list):
            raise UserError(
                "expected {'messages': [...], 'tools': [...]}, a list of tools, or one tool"
            )
        items = [it for t in tools for it in tool_items(from_openai_tool(t), full=args.full)]
        ids = tok.encode(items).ids
    n_tool = sum(tok.is_tool(i) for i in ids)
    print(render(items))
    if args.ids:
        print(ids)
    print(f"{len(ids)} tokens: {n_tool} tool, {len(ids) - n_tool} text")
    return 0


def _chat(args) -> int:
    from bslm.runtime.repl import run

    return run(args.model, args.tools, args.max_new_tokens)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="bslm",
        description="bslm: a small bi-modal language model that calls tools, on your machine.",
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("build", help="build a bslm model (base model + tool vocabulary)")
    p.add_argument(
        "--base",
        default="gemma-3-270m",
        help="gemma-3-270m, smollm2-135m or a checkpoint directory",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="model directory (default: the default model)"
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--force", action="store_true", help="replace an existing model")
    g.add_argument("--if-missing", action="store_true", help="do nothing when the model exists")
    p.set_defaults(run=_build)

    p = sub.add_parser("tokenize", help="show how a conversation or tool schemas are tokenized")
    p.add_argument(
        "file", help="JSON: {'messages', 'tools'}, a list of tools, or one tool ('-': stdin)"
    )
    p.add_argument("--base", default="gemma-3-270m", help="base whose text tokenizer to use")
    p.add_argument("--model", type=Path, default=None, help="a bslm model directory instead")
    p.add_argument("--ids", action="store_true", help="also print the token ids")
    p.add_argument("--full", action="store_true", help="keep keywords prompts leave out (title...)")
    p.set_defaults(run=_tokenize)

    p = sub.add_parser("chat", help="chat with a model in the terminal")
    p.add_argument(
        "--model", type=Path, default=None, help="bslm model directory (default: the default model)"
    )
    p.add_argument(
        "--tools", type=Path, default=None, help="OpenAI-style tools JSON to describe to the model"
    )
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.set_defaults(run=_chat)
    return ap


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    args = parser().parse_args(argv)
    from transformers.utils import logging as hf_logging

    from bslm.models.bases import BaseModelError

    hf_logging.disable_progress_bar()
    try:
        return args.run(args)
    except (UserError, BaseModelError, FileExistsError, FileNotFoundError, ValueError) as e:
        print(f"bslm: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
