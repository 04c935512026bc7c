"""``bslm build``, ``bslm tokenize`` and ``bslm pack``: the model room's commands.

bslm build [--base gemma-3-270m@48k|gemma-3-270m|smollm2-135m|DIR] [--vocab SIZE]
           [--out DIR] [--force | --if-missing]
bslm build --artifact ARTIFACT --out DIR     # a packed checkpoint, to evaluate it
bslm tokenize FILE [--base NAME | --model DIR] [--ids] [--full]
bslm pack RUN/final OUT        # ship a trained run (OUT: models/default to make it the default)
bslm pack CK1 CK2 CK3 OUT      # the average of several checkpoints of one run
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bslm.models.errors import BslmError


def read_json(path: str):
    """The JSON in a file (``-``: stdin). Raises BslmError."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as e:
        raise BslmError(f"cannot read {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise BslmError(f"{path} is not JSON: {e}") from e


def _build(args) -> int:
    from bslm.models.build import build_model
    from bslm.models.files import META, default_model_dir, is_model_dir, stale_reason

    if args.artifact is not None:
        if args.base is not None or args.out is None:
            raise BslmError("--artifact builds into its own --out, and takes no --base")
        if not (args.artifact / META).is_file():
            raise BslmError(f"--artifact: {args.artifact} is not an artifact (bslm pack makes one)")
    out = args.out or default_model_dir()
    force = args.force
    if args.if_missing and out.exists():
        if not is_model_dir(out):
            raise BslmError(f"{out} exists and is not a bslm model: choose another --out")
        reason = stale_reason(out)
        if reason is None:
            print(f"model ready: {out}")
            return 0
        print(f"rebuilding {out}: {reason}")
        force = True
    what = args.base or args.artifact or "the shipped default model"
    print(f"building {out} from {what} (first time: de-quantizing the base, about a minute)...")
    path = build_model(args.base, out, force=force, vocab=args.vocab, artifact=args.artifact)
    print(f"model ready: {path}")
    return 0


def _tokenize(args) -> int:
    from bslm.models.chat import chat_items, encode_chat
    from bslm.models.embeddings import dual_tokenizer
    from bslm.models.language import render, tool_items
    from bslm.models.tokenizer import DualTokenizer
    from bslm.models.tools import from_openai_tool

    data = read_json(args.file)
    tok = DualTokenizer.load(args.model) if args.model else dual_tokenizer(args.base)
    if isinstance(data, dict) and "messages" in data:
        items = chat_items(data["messages"], data.get("tools"), full=args.full)
        ids = encode_chat(tok, data["messages"], data.get("tools")).ids
    else:
        tools = data.get("tools", [data]) if isinstance(data, dict) else data
        if not isinstance(tools, list):
            raise BslmError(
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


def _pack(args) -> int:
    from bslm.models.pack import average, pack

    for src in args.adapter:
        if not Path(src).is_dir():
            raise BslmError(f"{src}: no such directory")
    if len(args.adapter) == 1:
        out = pack(args.adapter[0], args.out)
    else:
        out, kept = average(args.adapter, args.out)
        print(f"averaged {len(args.adapter)} checkpoints; the LoRA update keeps {kept:.2%}")
    size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
    print(f"{out}: {size:.1f} MB")
    return 0


def add_parsers(sub) -> None:
    """The model room's subcommands, on the ``bslm`` parser's subparsers."""
    p = sub.add_parser("build", help="build a bslm model (base model + tool vocabulary)")
    p.add_argument(
        "--base",
        default=None,
        help="gemma-3-270m, smollm2-135m or a checkpoint directory, with a fresh tool vocabulary "
        "(default: the shipped default model)",
    )
    p.add_argument(
        "--artifact",
        type=Path,
        default=None,
        help="an artifact (bslm pack) to build instead of the shipped one, into --out: to "
        "evaluate a checkpoint without touching the default model",
    )
    p.add_argument(
        "--out", type=Path, default=None, help="model directory (default: the default model)"
    )
    p.add_argument(
        "--vocab",
        default=None,
        metavar="SIZE",
        help="text vocabulary: full, or a pruned size such as 32k (default: the model's own)",
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

    p = sub.add_parser("pack", help="ship a trained run as a small artifact (LoRA + tool rows)")
    p.add_argument(
        "adapter",
        metavar="RUN",
        nargs="+",
        help="an adapter directory: RUN/final, or a checkpoint of a run; several checkpoints "
        "(or artifacts) of one run pack into their average",
    )
    p.add_argument("out", help="the artifact directory (models/default: the shipped default)")
    p.set_defaults(run=_pack)
