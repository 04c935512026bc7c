"""ONNX export: prefill and decode graphs with explicit past keys/values, for onnxruntime.

    bslm export [MODEL] --format onnx [--quant int8] [-o DIR] [--force]

transformers' exporter splits generation into a ``prefill`` graph (prompt in, logits and the
cache out) and a ``decode`` graph (new tokens and the cache in, both out); both take any number
of tokens (batch 1) and return the logits of the last position only. Gemma 3 graphs also carry
each sliding layer's window as a scalar ``_sliding_window_tensor``; the cache is never cut back,
the attention mask applies the window. The directory holds ``prefill.onnx``, ``decode.onnx``
(with ``.data`` weight files at fp32), and ``bslm.json`` (``export/metadata.py``), which the
runtime reads; the small ``bslm.*`` keys are also in each graph's ``metadata_props``. ``--quant
int8`` is onnxruntime's dynamic quantization of the weights.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from .gguf import ExportSummary, quiet_native_output
from .metadata import LARGE_KEYS, ONNX_SIDECAR, ExportError, bslm_metadata
from .source import load_source

ONNX_QUANTS = ("fp32", "int8")
GRAPHS = ("prefill", "decode")


def onnx_info(config) -> dict[str, int | str]:
    """The keys the ONNX runtime backend reads beside the ``bslm.*`` ones."""
    layer_types = list(getattr(config, "layer_types", None) or [])
    return {
        "onnx.architecture": getattr(config, "model_type", "?"),
        "onnx.context_length": int(getattr(config, "max_position_embeddings", 0) or 0),
        "onnx.sliding_window": int(getattr(config, "sliding_window", 0) or 0)
        if "sliding_attention" in layer_types
        else 0,
        "onnx.vocab_size": int(config.vocab_size),
    }


def export_graphs(model, tok, directory: Path) -> int:
    """Write ``prefill.onnx`` and ``decode.onnx`` (fp32) into ``directory``; returns the
    number of weight tensors. Raises ExportError when the exporter fails."""
    import torch
    from transformers.exporters import OnnxConfig, OnnxExporter
    from transformers.exporters.utils import decompose_for_generation

    prompt = ([tok.bos_id] if tok.bos_id is not None else []) + tok.encode_text("Hello, world")
    ids = torch.tensor([prompt])
    n_weights = 0
    try:
        with quiet_native_output(), warnings.catch_warnings(), _quiet_loggers():
            warnings.simplefilter("ignore")
            stages = decompose_for_generation(
                model, {"input_ids": ids, "attention_mask": torch.ones_like(ids)},
                multi_token_decode=True,
            )  # fmt: skip
            for name in GRAPHS:
                submodel, inputs = stages[name]
                inputs = dict(inputs)
                # only the last position's logits: a long prompt must not return a
                # (length x vocabulary) matrix
                inputs["logits_to_keep"] = 1
                exported = OnnxExporter().export(submodel, inputs, OnnxConfig(dynamic=True))
                program = exported.program
                n_weights = max(n_weights, len(program.graph.initializers))
                OnnxExporter.save_program(program, directory / f"{name}.onnx")
    except (RuntimeError, ValueError, TypeError, KeyError) as e:
        raise ExportError(f"ONNX export failed: {str(e).splitlines()[0]}") from e
    return n_weights


class _quiet_loggers:
    """torch.export logs a line per specialised dimension; keep progress readable."""

    def __enter__(self):
        self.saved = [(n, logging.getLogger(n).level) for n in ("torch", "onnxscript")]
        for n, _ in self.saved:
            logging.getLogger(n).setLevel(logging.ERROR)

    def __exit__(self, *exc):
        for n, level in self.saved:
            logging.getLogger(n).setLevel(level)


def set_metadata_props(path: Path, meta: dict) -> None:
    """Put the small ``bslm.*`` keys in a graph's ``metadata_props`` (weights left in place)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    del model.metadata_props[:]
    for key, value in meta.items():
        if key not in LARGE_KEYS:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, str(value)
    onnx.save(model, str(path))


def quantize_int8(src: Path, dst: Path) -> None:
    """onnxruntime's dynamic int8 quantization of the weights (MatMul and Gather), per channel."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        with quiet_native_output(), _quiet_loggers():
            # per output channel: one scale for the whole (tied) 276k-row output matrix
            # loses the logits
            quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True)
    except (RuntimeError, ValueError, OSError) as e:
        raise ExportError(f"int8 quantization of {src.name} failed: {e}") from e


def export_onnx(model_path: str | Path | None, out: str | Path | None = None,
                quant: str | None = None, force: bool = False,
                say: Callable[[str], None] = lambda s: None) -> ExportSummary:  # fmt: skip
    """Export a bslm model directory (None: the default model) to an ONNX directory.
    Raises ExportError (bad input, unsupported model) and FileExistsError (``out`` exists and
    ``force`` is false); leaves nothing behind when it fails."""
    quant = quant or "fp32"
    if quant not in ONNX_QUANTS:
        raise ExportError(
            f"unknown quantization {quant!r} for onnx: choose from {', '.join(ONNX_QUANTS)}"
        )
    t0 = time.perf_counter()
    src = load_source(model_path, say)
    suffix = "" if quant == "fp32" else f".{quant}"
    out = Path(out) if out is not None else Path(f"{src.name}{suffix}.onnx")
    if out.exists() and not force:
        raise FileExistsError(f"{out} already exists (use --force to replace it)")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file: an ONNX export is a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    model, tok = src.load()
    kind = getattr(model.config, "model_type", "?")
    if kind not in ("gemma3_text", "gemma3", "llama"):
        raise ExportError(
            f"unsupported architecture {kind!r}: bslm exports gemma3 and llama models"
        )
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        tmp.chmod(0o755)
        fp32 = tmp / "fp32" if quant == "int8" else tmp
        fp32.mkdir(exist_ok=True)
        say("exporting prefill and decode graphs (torch.export, a while)...")
        n_weights = export_graphs(model, tok, fp32)
        meta = bslm_metadata(tok, src.record) | onnx_info(model.config)
        meta["onnx.quantization"] = quant
        del model
        for name in GRAPHS:
            path = fp32 / f"{name}.onnx"
            set_metadata_props(path, meta)
            if quant == "int8":
                say(f"quantizing {name} to int8...")
                quantize_int8(path, tmp / path.name)
        if quant == "int8":
            shutil.rmtree(fp32)
        (tmp / ONNX_SIDECAR).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    details = {
        "graphs": ", ".join(f"{g}.onnx" for g in GRAPHS),
        "architecture": meta["onnx.architecture"],
        "sliding window": meta["onnx.sliding_window"] or "none",
        "vocabulary": f"{len(tok.base)} text + {len(tok.tool)} tool (ids from {tok.offset})",
    }
    return ExportSummary(out, "onnx", quant, size, n_weights, len(meta),
                         time.perf_counter() - t0, details)  # fmt: skip
