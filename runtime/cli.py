"""``bslm run`` and ``bslm tools``: the runtime's commands, and the agent's flags that ``bslm
chat`` shares (``add_agent_options``).

    bslm run "PROMPT" [--model PATH] [--backend llama|onnx|torch] [--mcp-config FILE]
             [--system TEXT] [--approve ask|all|none] [--mask hard|soft|off]
             [--call-threshold P] [--copy-bias B] [--max-steps N] [--json]
    bslm tools [--mcp-config FILE] [--accept SERVER ...]
"""

from __future__ import annotations

import argparse

from bslm.models.errors import BslmError

MCP_CONFIG_HELP = (
    "mcpServers JSON (default: $BSLM_MCP_CONFIG, ~/.config/bslm/mcp.json, else the demo server)"
)


def add_agent_options(p: argparse.ArgumentParser) -> None:
    """The flags of ``AgentOptions`` (``runtime/options.py``), for ``run`` and ``chat``."""
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
    p.add_argument("--mcp-config", default=None, help=MCP_CONFIG_HELP)
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
    p.add_argument(
        "--call-threshold",
        type=_probability,
        default=None,
        help="open a call at a turn's start only when its masked probability is at least this "
        "(default: the model's calibrated setting, else its own choice)",
    )
    p.add_argument(
        "--copy-bias",
        type=float,
        default=None,
        help="logit bonus, inside string values, for words of the conversation (default: the "
        "model's calibrated setting, else 0)",
    )
    p.add_argument("--max-steps", type=int, default=6, help="model turns that call tools, at most")
    p.add_argument("--max-new-tokens", type=int, default=384, help="tokens per model turn")
    p.add_argument("--ctx", type=int, default=None, help="context length (default: the model's)")


def _probability(value: str) -> float:
    try:
        p = float(value)
    except ValueError:
        p = -1.0
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a probability between 0 and 1")
    return p


def agent_options(args) -> dict:
    """``AgentOptions`` keywords from the flags of ``add_agent_options``."""
    return {
        "model": str(args.model) if args.model else None,
        "backend": args.backend,
        "mcp_config": args.mcp_config,
        "system": args.system,
        "approve": args.approve,
        "mask": args.mask,
        "call_threshold": args.call_threshold,
        "copy_bias": args.copy_bias,
        "max_steps": args.max_steps,
        "max_new_tokens": args.max_new_tokens,
        "n_ctx": args.ctx,
    }


def _run(args) -> int:
    from bslm.runtime.run import RunOptions, run

    if not args.prompt.strip():
        raise BslmError("the prompt is empty")
    return run(RunOptions(prompt=args.prompt, json=args.json, **agent_options(args)))


def _tools(args) -> int:
    from bslm.runtime.inventory import run

    return run(args.mcp_config, args.accept or [])


def add_parsers(sub) -> None:
    """The runtime's subcommands, on the ``bslm`` parser's subparsers (``lean``: they never
    need transformers when the model is a GGUF)."""
    p = sub.add_parser("run", help="answer one request with the model and the MCP tools")
    p.add_argument("prompt", help="the request")
    add_agent_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=_run, lean=True)

    p = sub.add_parser(
        "tools", help="list every MCP server's tools and descriptions, to audit them"
    )
    p.add_argument("--mcp-config", default=None, help=MCP_CONFIG_HELP)
    p.add_argument(
        "--accept",
        nargs="+",
        metavar="SERVER",
        default=None,
        help="accept these servers' tool lists as they are now ('all': every server)",
    )
    p.set_defaults(run=_tools, lean=True)
