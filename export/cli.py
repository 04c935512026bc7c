"""``bslm export``: a bslm model as a GGUF file (llama.cpp) or an ONNX directory (onnxruntime).

    bslm export [MODEL] --format gguf --quant f16|q8_0|q4_k_m [--embedding f16] [-o FILE]
                [--force]
    bslm export [MODEL] --format onnx [--quant int8] [-o DIR] [--force]

MODEL defaults to the shipped default model (built first when missing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .gguf import QUANTS
from .onnx import ONNX_QUANTS

FORMATS = ("gguf", "onnx")


def add_parsers(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export", help="export a model to GGUF (llama.cpp) or ONNX (onnxruntime)"
    )
    p.add_argument(
        "model",
        nargs="?",
        type=Path,
        default=None,
        help="bslm model directory (default: the default model)",
    )
    p.add_argument("--format", default="gguf", help="gguf or onnx (default gguf)")
    p.add_argument(
        "--quant",
        default=None,
        help=f"gguf: {', '.join(QUANTS)} (default q8_0); onnx: {', '.join(ONNX_QUANTS)} "
        "(default fp32)",
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        help="the file (gguf) or directory (onnx) to write (default: MODEL.QUANT.gguf / "
        "MODEL.onnx in the current directory)",
    )
    p.add_argument(
        "--embedding",
        choices=("f16",),
        default=None,
        help="gguf q8_0/q4_k_m: keep the embedding and output matrix in f16 (closer logits, "
        "a larger file)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing target")
    p.set_defaults(run=run)
    return p


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(args) -> int:
    """Raises ExportError / FileExistsError, which the ``bslm`` CLI prints as one line."""
    from .gguf import export_gguf
    from .metadata import ExportError
    from .onnx import export_onnx

    if args.format not in FORMATS:
        raise ExportError(f"unknown format {args.format!r}: choose from {', '.join(FORMATS)}")
    if args.format == "gguf":
        summary = export_gguf(
            args.model,
            args.out,
            args.quant or "q8_0",
            args.force,
            say=_say,
            progress=sys.stderr.isatty(),
            embedding=args.embedding,
        )
    else:
        summary = export_onnx(args.model, args.out, args.quant, args.force, say=_say)
    print("\n".join(summary.lines()))
    return 0
