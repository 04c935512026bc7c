"""ONNX export: prefill and decode graphs with explicit past keys/values, for onnxruntime.

    bslm export [MODEL] --format onnx [--quant int8] [-o DIR] [--force]

transformers' exporter splits generation into a ``prefill`` graph (prompt in, logits and the
cache out) and a ``decode`` graph (new tokens and the cache in, both out); both take any number
of tokens (batch 1) and return the logits of the last position only. Gemma 3 graphs also carry
each sliding layer's window as a scalar ``_sliding_window_tensor``; the cache is never cut back,
the attention mask applies the window. The directory holds ``prefill.onnx``, ``decode.onnx``,
one ``weights.data`` file both graphs read their weights from, and ``bslm.json``
(``export/metadata.py``), which the runtime reads; the small ``bslm.*`` keys are also in each
graph's ``metadata_props``.

``--quant int8`` stores every weight matrix as int8 blocks of 32 with one scale each (as
llama.cpp's q8_0 does) and quantizes the activations to int8 at run time: onnxruntime's
``MatMulNBits`` for the linear layers and the output, ``GatherBlockQuantized`` for the
embedding, both reading the one quantized copy of the tied matrix.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from bslm.models.files import TargetExistsError, atomic_dir

from .gguf import ExportSummary, quiet_native_output
from .metadata import LARGE_KEYS, ONNX_SIDECAR, ExportError, bslm_metadata
from .source import load_source

ONNX_QUANTS = ("fp32", "int8")
GRAPHS = ("prefill", "decode")
WEIGHTS_FILE = "weights.data"  # shared by both graphs
INT8_BLOCK = 32  # weights per int8 scale, as in llama.cpp's q8_0
INT8_ACCURACY = 4  # MatMulNBits: int8 activations (accuracy levels 0-1 compute in fp32)


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
                model,
                {"input_ids": ids, "attention_mask": torch.ones_like(ids)},
                multi_token_decode=True,
            )
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


def set_metadata_props(model, meta: dict) -> None:
    """Put the small ``bslm.*`` keys in a graph's ``metadata_props``."""
    del model.metadata_props[:]
    for key, value in meta.items():
        if key not in LARGE_KEYS:
            entry = model.metadata_props.add()
            entry.key, entry.value = key, str(value)


def _quantize_blocks(w):
    """Symmetric int8 blocks of INT8_BLOCK along a [N, K] matrix's rows, stored the way
    onnxruntime's 8-bit block operators read them: uint8 ``q + 128`` and a float scale per
    block. Returns (data [N, K], scales [N, K / INT8_BLOCK])."""
    import numpy as np

    n, k = w.shape
    blocks = w.reshape(n, k // INT8_BLOCK, INT8_BLOCK).astype(np.float32)
    scales = np.abs(blocks).max(axis=-1) / 127.0
    scales[scales == 0] = 1.0
    q = np.clip(np.rint(blocks / scales[..., None]), -127, 127).astype(np.int16) + 128
    return q.astype(np.uint8).reshape(n, k), scales.astype(np.float32)


def _quantize_embedding_and_head(model) -> None:
    """The (tied) embedding matrix as int8 blocks: ``Gather`` of its rows becomes
    ``GatherBlockQuantized``, and the logits ``MatMul(x, Transpose(W))`` a ``MatMulNBits``
    whose [N, K] weight is W itself, so the two share one quantized matrix (the quantizer
    only sees constant MatMul weights and would leave this largest tensor in fp32)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    users: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    quantized: dict[str, tuple[str, str]] = {}

    def blocks_of(name: str) -> tuple[str, str] | None:
        """(data, scales) initializer names of ``name`` quantized; the data also as
        ``<data>_nk``, the same bytes shaped [N, K / block, block] as MatMulNBits reads them
        (the shared weights file stores them once; the unused form is dropped below)."""
        t = inits.get(name)
        if t is None or len(t.dims) != 2 or t.dims[1] % INT8_BLOCK or t.data_type != 1:
            return None
        if name not in quantized:
            data, scales = _quantize_blocks(numpy_helper.to_array(t))
            n, k = data.shape
            graph.initializer.extend(
                [
                    numpy_helper.from_array(data, f"{name}_Q8"),
                    numpy_helper.from_array(
                        data.reshape(n, k // INT8_BLOCK, INT8_BLOCK), f"{name}_Q8_nk"
                    ),
                    numpy_helper.from_array(scales, f"{name}_scales"),
                ]
            )
            quantized[name] = (f"{name}_Q8", f"{name}_scales")
        return quantized[name]

    replace: dict[int, list] = {}
    for node in list(graph.node):
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Gather" and attrs.get("axis", 0) == 0 and node.input[0] in inits:
            names = blocks_of(node.input[0])
            if names:
                replace[id(node)] = [
                    helper.make_node(
                        "GatherBlockQuantized",
                        [names[0], node.input[1], names[1]],
                        list(node.output),
                        name=f"{node.name}_Q8",
                        domain="com.microsoft",
                        bits=8,
                        block_size=INT8_BLOCK,
                        gather_axis=0,
                        quantize_axis=1,
                    )
                ]
        elif (
            node.op_type == "Transpose"
            and list(attrs.get("perm", [])) == [1, 0]
            and node.input[0] in inits
        ):
            consumers = users.get(node.output[0], [])
            if not consumers or any(
                c.op_type != "MatMul" or c.input[1] != node.output[0] for c in consumers
            ):
                continue
            names = blocks_of(node.input[0])
            if not names:
                continue
            n, k = inits[node.input[0]].dims
            replace[id(node)] = []
            for c in consumers:
                replace[id(c)] = [
                    helper.make_node(
                        "MatMulNBits",
                        [c.input[0], names[0] + "_nk", names[1]],
                        list(c.output),
                        name=f"{c.name}_Q8",
                        domain="com.microsoft",
                        K=k,
                        N=n,
                        bits=8,
                        block_size=INT8_BLOCK,
                        accuracy_level=INT8_ACCURACY,
                    )
                ]
    if not replace:
        return
    nodes = []
    for node in graph.node:
        nodes.extend(replace.get(id(node), [node]))
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


def quantize_int8(model):
    """int8 weights in blocks of INT8_BLOCK with a scale each, activations quantized to int8
    at run time (onnxruntime's MatMulNBits, accuracy level 4): every linear layer through
    onnxruntime's own quantizer, the embedding and the output matrix by
    ``_quantize_embedding_and_head``. Returns the new model (ModelProto)."""
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        MatMulNBitsQuantizer,
    )

    settings = {
        "bits": 8,
        "block_size": INT8_BLOCK,
        "is_symmetric": True,
        "accuracy_level": INT8_ACCURACY,
        "op_types_to_quantize": ("MatMul",),
    }
    try:
        with quiet_native_output(), _quiet_loggers():
            config = DefaultWeightOnlyQuantConfig(**settings)
            quantizer = MatMulNBitsQuantizer(model, algo_config=config, **settings)
            quantizer.process()
            model = quantizer.model.model
            _quantize_embedding_and_head(model)
    except (RuntimeError, ValueError, OSError, AssertionError) as e:
        raise ExportError(f"int8 quantization failed: {str(e).splitlines()[0]}") from e
    return model


class SharedWeights:
    """One external-data file for several graphs: a tensor whose bytes were already written
    (the prefill and decode graphs carry the same weights) points at the first copy."""

    MIN_BYTES = 1024
    ALIGN = 4096  # page-aligned offsets let onnxruntime map the file

    def __init__(self, directory: Path, name: str = WEIGHTS_FILE):
        self.path = directory / name
        self.name = name
        self.seen: dict[bytes, tuple[int, int]] = {}
        self.file = open(self.path, "wb")  # noqa: SIM115 (closed in save's caller)

    def save(self, model, path: Path) -> None:
        """Move ``model``'s large tensors into the shared file and write the graph."""
        import hashlib

        import onnx
        from onnx import numpy_helper
        from onnx.external_data_helper import set_external_data

        for t in model.graph.initializer:
            if t.data_location == onnx.TensorProto.EXTERNAL:
                raise ExportError(f"{t.name}: weights still external (load them first)")
            raw = t.raw_data or numpy_helper.from_array(numpy_helper.to_array(t)).raw_data
            if len(raw) < self.MIN_BYTES:
                continue
            key = hashlib.sha256(raw).digest()
            if key not in self.seen:
                offset = -self.file.tell() % self.ALIGN + self.file.tell()
                self.file.seek(offset)
                self.file.write(raw)
                self.seen[key] = (offset, len(raw))
            offset, length = self.seen[key]
            for field in ("float_data", "int32_data", "int64_data", "double_data"):
                t.ClearField(field)
            t.raw_data = raw
            set_external_data(t, self.name, offset, length)
            t.data_location = onnx.TensorProto.EXTERNAL
            t.ClearField("raw_data")
        onnx.save(model, str(path))

    def close(self) -> None:
        self.file.close()


def write_graphs(
    src: Path, dst: Path, quant: str, meta: dict, say: Callable[[str], None] = lambda s: None
) -> None:
    """Both graphs of ``src`` (any ONNX export directory) into ``dst``: quantized as asked,
    with ``meta`` in their ``metadata_props``, their weights in one shared file."""
    import onnx

    weights = SharedWeights(dst)
    try:
        for name in GRAPHS:
            graph = onnx.load(str(src / f"{name}.onnx"))
            if quant == "int8":
                say(f"quantizing {name} to int8...")
                graph = quantize_int8(graph)
            set_metadata_props(graph, meta)
            weights.save(graph, dst / f"{name}.onnx")
            del graph
    finally:
        weights.close()


def export_onnx(
    model_path: str | Path | None,
    out: str | Path | None = None,
    quant: str | None = None,
    force: bool = False,
    say: Callable[[str], None] = lambda s: None,
) -> ExportSummary:
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
        raise TargetExistsError(f"{out} already exists (use --force to replace it)")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file: an ONNX export is a directory")
    out.parent.mkdir(parents=True, exist_ok=True)
    model, tok = src.load()
    kind = getattr(model.config, "model_type", "?")
    if kind not in ("gemma3_text", "gemma3", "llama"):
        raise ExportError(
            f"unsupported architecture {kind!r}: bslm exports gemma3 and llama models"
        )
    with atomic_dir(out, replace=True) as tmp:
        raw = tmp / "torch.export"
        raw.mkdir()
        say("exporting prefill and decode graphs (torch.export, a while)...")
        n_weights = export_graphs(model, tok, raw)
        meta = bslm_metadata(tok, src.record, src.decoding) | onnx_info(model.config)
        meta["onnx.quantization"] = quant
        del model
        write_graphs(raw, tmp, quant, meta, say)
        shutil.rmtree(raw)
        (tmp / ONNX_SIDECAR).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    details = {
        "graphs": ", ".join(f"{g}.onnx" for g in GRAPHS) + f" (weights in one {WEIGHTS_FILE})",
        "architecture": meta["onnx.architecture"],
        "sliding window": meta["onnx.sliding_window"] or "none",
        "vocabulary": f"{len(tok.base)} text + {len(tok.tool)} tool (ids from {tok.offset})",
    }
    return ExportSummary(
        out, "onnx", quant, size, n_weights, len(meta), time.perf_counter() - t0, details
    )
