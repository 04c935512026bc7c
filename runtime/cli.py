"""The ``bslm`` command line.

    bslm build [--base gemma-3-270m|smollm2-135m|DIR] [--out DIR] [--force | --if-missing]
    bslm tokenize FILE [--base NAME | --model DIR] [--ids] [--full]
    bslm data generate [--config YAML] [key=value ...]
    bslm data import FILE --format openai|xlam|sharegpt -o OUT.jsonl
    bslm train sft|grpo|dpo [--config YAML] [key=value ...]
    bslm eval --suite S1,S2 [--model DIR] [--limit N] [--mask hard|soft|off] [--out FILE.json]
    bslm run "PROMPT" [--model PATH] [--backend llama|onnx|torch] [--mcp-config FILE]
             [--system TEXT] [--approve ask|all|none] [--mask hard|soft|off] [--max-steps N] [--json]
    bslm tools [--mcp-config FILE] [--accept SERVER ...]
    bslm chat [--model PATH] [--backend llama|onnx|torch] [--mcp-config FILE] [--mask hard|soft|off]
              [--system TEXT] [--approve ask|all|none] [--resume [ID]] [--list]
    bslm export [MODEL] --format gguf|onnx [--quant Q] [-o OUT] [--force]

Errors a user can cause print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

EXIT_USAGE = 2


class UserError(Exception):
    """Bad input: printed as one line, exit status 2."""


def _build(args) -> int:
    from bslm.models.build import build_model
    from bslm.models.files import default_model_dir, is_model_dir, stale_reason

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
    what = args.base or "the shipped default model"
    print(f"building {out} from {what} (first time: de-quantizing the base, about a minute)...")
    path = build_model(args.base, out, force=force, vocab=args.vocab)
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
    from bslm.models.chat import chat_items, encode_chat
    from bslm.models.embeddings import dual_tokenizer
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


def _config(cls, args):
    from bslm.train.config import ConfigError, load_config

    try:
        return load_config(cls, args.config, args.overrides)
    except ConfigError as e:
        raise UserError(str(e)) from e


def _data_generate(args) -> int:
    from bslm.train.generate import DataConfig, main

    return main(_config(DataConfig, args))


def _data_import(args) -> int:
    from bslm.train.generate import write_jsonl
    from bslm.train.importers import IMPORTERS, import_file

    if args.format not in IMPORTERS:
        raise UserError(f"unknown format {args.format!r}: choose from {', '.join(IMPORTERS)}")
    records = list(import_file(args.file, args.format))
    out = Path(args.out)
    if out.exists() and not args.force:
        raise UserError(f"{out} already exists (use --force to replace it)")
    write_jsonl(out, records)
    print(f"{len(records)} records -> {out}")
    return 0


def _train_sft(args) -> int:
    from bslm.train.sft import SFTConfig, train

    train(_config(SFTConfig, args))
    return 0


def _train_grpo(args) -> int:
    from bslm.train.grpo import GRPOConfig, train

    train(_config(GRPOConfig, args))
    return 0


def _train_dpo(args) -> int:
    from bslm.train.dpo import DPOConfig, train

    train(_config(DPOConfig, args))
    return 0


def _eval(args) -> int:
    from bslm.train.eval import EvalConfig, evaluate, markdown, write_report
    from bslm.train.plots import plot_bars

    suites = tuple(s.strip() for s in args.suite.split(",") if s.strip())
    cfg = EvalConfig(
        suites=suites,
        model=str(args.model) if args.model else None,
        data=str(args.data),
        limit=args.limit,
        mask=args.mask,
        max_new_tokens=args.max_new_tokens,
        prompted=args.prompted,
        backend=args.backend,
        distractors=args.distractors,
        retrieval=args.retrieval,
        top_k=args.top_k,
    )
    others = [_read_json(p) for p in args.compare]
    from bslm.runtime.evaluation import open_predictor, tool_selector

    report = evaluate(cfg, open_predictor(cfg), args.name, tool_selector(cfg.retrieval, cfg.top_k))
    if args.out:
        write_report(report, Path(args.out))
    print(markdown([report, *others]))
    if args.plot:
        plot_bars([report, *others], Path(args.plot))
    return 0


def _run(args) -> int:
    from bslm.runtime.run import RunOptions, run

    if not args.prompt.strip():
        raise UserError("the prompt is empty")
    return run(
        RunOptions(
            prompt=args.prompt,
            model=str(args.model) if args.model else None,
            backend=args.backend,
            mcp_config=args.mcp_config,
            system=args.system,
            approve=args.approve,
            mask=args.mask,
            max_steps=args.max_steps,
            max_new_tokens=args.max_new_tokens,
            json=args.json,
            n_ctx=args.ctx,
        )
    )


def _tools(args) -> int:
    from bslm.runtime.inventory import run

    return run(args.mcp_config, args.accept or [])


def _chat(args) -> int:
    from bslm.tui.app import ChatOptions
    from bslm.tui.launch import list_conversations, run

    if args.list:
        return list_conversations()
    resume = None
    if args.resume is not None:
        if args.resume != "latest" and not args.resume.isdigit():
            raise UserError(f"--resume takes a conversation number, not {args.resume!r}")
        resume = -1 if args.resume == "latest" else int(args.resume)
    return run(
        ChatOptions(
            model=str(args.model) if args.model else None,
            backend=args.backend,
            mcp_config=args.mcp_config,
            mask=args.mask,
            system=args.system,
            approve=args.approve,
            resume=resume,
            max_steps=args.max_steps,
            max_new_tokens=args.max_new_tokens,
            n_ctx=args.ctx,
        )
    )


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="bslm",
        description="bslm: a small bi-modal language model that calls tools, on your machine.",
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("build", help="build a bslm model (base model + tool vocabulary)")
    p.add_argument(
        "--base",
        default=None,
        help="gemma-3-270m, smollm2-135m or a checkpoint directory, with a fresh tool vocabulary "
        "(default: the shipped default model)",
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

    p = sub.add_parser("data", help="training data: generate the curriculum, import datasets")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    q = dsub.add_parser("generate", help="generate the curriculum (key=value overrides)")
    q.add_argument("--config", default=None, help="YAML config")
    q.add_argument("overrides", nargs="*", help="key=value")
    q.set_defaults(run=_data_generate)
    q = dsub.add_parser("import", help="convert OpenAI / xLAM / ShareGPT tool-use data")
    q.add_argument("file")
    q.add_argument("--format", required=True, help="openai, xlam or sharegpt")
    q.add_argument("-o", "--out", required=True, help="JSONL records to write")
    q.add_argument("--force", action="store_true")
    q.set_defaults(run=_data_import)

    p = sub.add_parser("train", help="train a model")
    tsub = p.add_subparsers(dest="train_command", metavar="METHOD", required=True)
    q = tsub.add_parser("sft", help="three-stage supervised fine-tuning (TRL)")
    q.add_argument("--config", default=None, help="YAML config (configs/sft_*.yaml)")
    q.add_argument("overrides", nargs="*", help="key=value")
    q.set_defaults(run=_train_sft)
    q = tsub.add_parser("grpo", help="GRPO on tool environments with verifiable rewards (TRL)")
    q.add_argument("--config", default=None, help="YAML config (configs/grpo_*.yaml)")
    q.add_argument("overrides", nargs="*", help="key=value")
    q.set_defaults(run=_train_grpo)
    q = tsub.add_parser("dpo", help="DPO from sampled correct/incorrect chains (TRL)")
    q.add_argument("--config", default=None, help="YAML config (configs/dpo_*.yaml)")
    q.add_argument("overrides", nargs="*", help="key=value")
    q.set_defaults(run=_train_dpo)

    p = sub.add_parser("eval", help="evaluate a model on our suites and BFCL")
    p.add_argument(
        "--suite",
        required=True,
        help="comma-separated: dev, seen, unseen, multistep, irrelevance, rules, bfcl:<category>, "
        "env:<calls|math|logic|store|code>",
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="bslm model dir, GGUF file or ONNX dir (default: the default model)",
    )
    p.add_argument("--data", type=Path, default=Path("data"), help="generated data directory")
    p.add_argument("--limit", type=int, default=0, help="items per suite at most")
    p.add_argument(
        "--mask",
        choices=("hard", "soft", "off"),
        default="hard",
        help="constrained decoding (default: hard, as the runtime decodes)",
    )
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument(
        "--backend",
        choices=("torch", "llama", "onnx"),
        default="torch",
        help="torch (model directory; default), llama (GGUF; without --model the "
        "default model's), onnx (exported directory)",
    )
    p.add_argument(
        "--distractors",
        type=int,
        default=0,
        help="catalog tools added to each request's own (our suites)",
    )
    p.add_argument(
        "--retrieval",
        choices=("none", "bm25", "embedding", "hybrid"),
        default="none",
        help="narrow each request's tools to the top-k",
    )
    p.add_argument("--top-k", type=int, default=10, help="tools kept by --retrieval")
    p.add_argument("--name", default=None, help="the model's name in the report")
    p.add_argument(
        "--prompted",
        action="store_true",
        help="baseline: a base model (--model NAME) prompted with JSON tools; --backend llama "
        "runs its own GGUF",
    )
    p.add_argument("--out", default=None, help="report JSON")
    p.add_argument("--compare", nargs="*", default=[], help="other reports to put beside this one")
    p.add_argument("--plot", default=None, help="bar chart PNG")
    p.set_defaults(run=_eval)

    p = sub.add_parser("run", help="answer one request with the model and the MCP tools")
    p.add_argument("prompt", help="the request")
    p.add_argument(
        "--model",
        default=None,
        help="GGUF file, ONNX directory or bslm model directory (default: the default model)",
    )
    p.add_argument(
        "--backend",
        choices=("llama", "onnx", "torch"),
        default=None,
        help="default: llama for the default model, else from what --model is",
    )
    p.add_argument(
        "--mcp-config",
        default=None,
        help="mcpServers JSON (default: $BSLM_MCP_CONFIG, ~/.config/bslm/mcp.json, "
        "else the demo server)",
    )
    p.add_argument("--system", default=None, help="the system prompt")
    p.add_argument(
        "--approve",
        choices=("ask", "all", "none"),
        default=None,
        help="override the approval policy: ask, all (allow), none (deny)",
    )
    p.add_argument(
        "--mask",
        choices=("hard", "soft", "off"),
        default="hard",
        help="constrained decoding of tool calls (default: hard)",
    )
    p.add_argument("--max-steps", type=int, default=6, help="model turns that call tools, at most")
    p.add_argument("--max-new-tokens", type=int, default=384, help="tokens per model turn")
    p.add_argument("--ctx", type=int, default=None, help="context length (default: the model's)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=_run)

    p = sub.add_parser(
        "tools", help="list every MCP server's tools and descriptions, to audit them"
    )
    p.add_argument(
        "--mcp-config",
        default=None,
        help="mcpServers JSON (default: $BSLM_MCP_CONFIG, ~/.config/bslm/mcp.json, "
        "else the demo server)",
    )
    p.add_argument(
        "--accept",
        nargs="+",
        metavar="SERVER",
        default=None,
        help="accept these servers' tool lists as they are now ('all': every server)",
    )
    p.set_defaults(run=_tools)

    from bslm.export.cli import add_parser as add_export_parser

    add_export_parser(sub)

    p = sub.add_parser("chat", help="the terminal agent: chat with the model and the MCP tools")
    p.add_argument(
        "--model",
        default=None,
        help="GGUF file, ONNX directory or bslm model directory (default: the default model)",
    )
    p.add_argument(
        "--backend",
        choices=("llama", "onnx", "torch"),
        default=None,
        help="default: llama for the default model, else from what --model is",
    )
    p.add_argument(
        "--mcp-config",
        default=None,
        help="mcpServers JSON (default: $BSLM_MCP_CONFIG, ~/.config/bslm/mcp.json, "
        "else the demo server)",
    )
    p.add_argument(
        "--mask",
        choices=("hard", "soft", "off"),
        default="hard",
        help="constrained decoding of tool calls (default: hard)",
    )
    p.add_argument("--system", default=None, help="the system prompt")
    p.add_argument(
        "--approve",
        choices=("ask", "all", "none"),
        default=None,
        help="override the approval policy: ask, all (allow), none (deny)",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        default=None,
        metavar="ID",
        help="reopen the latest conversation, or conversation ID",
    )
    p.add_argument("--list", action="store_true", help="list the saved conversations and exit")
    p.add_argument("--max-steps", type=int, default=6, help="model turns that call tools, at most")
    p.add_argument("--max-new-tokens", type=int, default=384, help="tokens per model turn")
    p.add_argument("--ctx", type=int, default=None, help="context length (default: the model's)")
    p.set_defaults(run=_chat)
    return ap


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*ensure_weight_tying.*")
    args = parser().parse_args(argv)
    from bslm.models.bases import BaseModelError

    if args.run not in (_run, _chat, _tools):  # the agent on a GGUF never needs transformers
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    try:
        return args.run(args)
    except (
        UserError,
        BaseModelError,
        FileExistsError,
        FileNotFoundError,
        ValueError,
        RuntimeError,
    ) as e:
        print(f"bslm: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
