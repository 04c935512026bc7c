"""GGUF export: a bslm model as one file that stock llama.cpp loads.

    bslm export [MODEL] --format gguf --quant f16|q8_0|q4_k_m [-o FILE] [--force]

The architecture is written as llama.cpp names it (``gemma3``, or ``llama`` for SmolLM2), the
vocabulary is the union of the base's text tokens and the tool tokens (structural symbols typed
CONTROL and named ``⟨call⟩``, numbers and name pieces USER_DEFINED), the chat template writes bslm's turn symbols,
and ``bslm.*`` keys (``export/metadata.py``) carry the dual tokenizer. The f16 (or f32) file is
written here with ``gguf``; q8_0 and q4_k_m come from llama.cpp's own quantizer. Every file is
written to a temporary sibling and renamed into place, so a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bslm.models.files import TargetExistsError, atomic_file
from bslm.models.language import Sym, render
from bslm.models.tokenizer import DualTokenizer

from .metadata import ExportError, bslm_metadata, tokenizer_files
from .source import load_source

QUANTS = ("f16", "q8_0", "q4_k_m", "f32")
# Text tokenizers llama.cpp knows by a pre-tokenizer name (byte-level BPE needs one).
PRE_TOKENIZERS = {"smollm2-135m": "smollm"}


@dataclass
class ExportSummary:
    path: Path
    format: str
    quant: str
    size: int
    tensors: int
    metadata: int
    seconds: float
    details: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"wrote {self.path}",
            f"  format {self.format}, quantization {self.quant}, {self.size / 1e6:.1f} MB",
            f"  {self.tensors} tensors, {self.metadata} metadata keys",
        ]
        out += [f"  {k}: {v}" for k, v in self.details.items()]
        out.append(f"  {self.seconds:.1f} s")
        return out


# --- architecture -----------------------------------------------------------------------------


def gguf_arch(config) -> str:
    """llama.cpp's name for the architecture of ``config``. Raises ExportError when it is not
    one bslm exports."""
    kind = getattr(config, "model_type", "?")
    if kind in ("gemma3_text", "gemma3"):
        return "gemma3"
    if kind == "llama":
        return "llama"
    raise ExportError(f"unsupported architecture {kind!r}: bslm exports gemma3 and llama models")


def _rope(config, layer_type: str | None = None) -> dict:
    params = getattr(config, "rope_parameters", None) or {}
    if layer_type is not None and isinstance(params.get(layer_type), dict):
        return params[layer_type]
    if "rope_theta" in params:
        return params
    theta = getattr(config, "rope_theta", None) or 10000.0
    if layer_type == "sliding_attention":
        theta = getattr(config, "rope_local_base_freq", None) or 10000.0
    return {"rope_theta": theta, "rope_type": "default"}


def _add_rope_scaling(w, rope: dict, what: str) -> None:
    import gguf

    kind = rope.get("rope_type", "default")
    if kind == "default":
        return
    if kind == "linear":
        w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        w.add_rope_scaling_factor(float(rope["factor"]))
        return
    raise ExportError(f"unsupported rope scaling {kind!r} for {what}")


def write_hparams(w, arch: str, config, n_vocab: int) -> dict:
    """The architecture's key/values; returns what the summary shows."""
    c = config
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    w.add_context_length(int(c.max_position_embeddings))
    w.add_embedding_length(int(c.hidden_size))
    w.add_block_count(int(c.num_hidden_layers))
    w.add_feed_forward_length(int(c.intermediate_size))
    w.add_head_count(int(c.num_attention_heads))
    w.add_head_count_kv(int(c.num_key_value_heads))
    w.add_layer_norm_rms_eps(float(c.rms_norm_eps))
    w.add_vocab_size(n_vocab)
    if arch == "llama":
        if getattr(c, "attention_bias", False) or getattr(c, "mlp_bias", False):
            raise ExportError("unsupported llama variant: biases in attention or MLP")
        rope = _rope(c)
        w.add_rope_dimension_count(head_dim)
        w.add_rope_freq_base(float(rope["rope_theta"]))
        _add_rope_scaling(w, rope, "llama")
        return {"architecture": "llama", "layers": c.num_hidden_layers}
    # gemma3: llama.cpp fixes what it does not read; refuse configs that differ from it.
    if getattr(c, "query_pre_attn_scalar", head_dim) != head_dim:
        raise ExportError(
            f"unsupported gemma3 variant: query_pre_attn_scalar {c.query_pre_attn_scalar} "
            f"differs from head_dim {head_dim} (llama.cpp scales attention by head_dim)"
        )
    if getattr(c, "attn_logit_softcapping", None) is not None:
        raise ExportError("unsupported gemma3 variant: attention logit soft-capping")
    if getattr(c, "use_bidirectional_attention", False):
        raise ExportError("unsupported gemma3 variant: bidirectional attention")
    act = getattr(c, "hidden_activation", "gelu_pytorch_tanh")
    if act != "gelu_pytorch_tanh":
        raise ExportError(f"unsupported gemma3 variant: activation {act!r}")
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    full, local = _rope(c, "full_attention"), _rope(c, "sliding_attention")
    w.add_rope_freq_base(float(full["rope_theta"]))
    w.add_rope_freq_base_swa(float(local["rope_theta"]))
    _add_rope_scaling(w, full, "global layers")
    if local.get("rope_type", "default") != "default":
        raise ExportError("unsupported gemma3 variant: rope scaling on sliding layers")
    if getattr(c, "final_logit_softcapping", None):
        w.add_final_logit_softcapping(float(c.final_logit_softcapping))
    layer_types = list(getattr(c, "layer_types", None) or [])
    sliding = [t == "sliding_attention" for t in layer_types]
    window = getattr(c, "sliding_window", None)
    if window and any(sliding):
        w.add_sliding_window(int(window))
        # Without the per-layer pattern llama.cpp assumes every sixth layer is global.
        w.add_sliding_window_pattern(sliding)
    else:
        w.add_sliding_window(0)
    pattern = "".join("s" if s else "G" for s in sliding)
    return {
        "architecture": "gemma3",
        "layers": c.num_hidden_layers,
        "sliding window": f"{window} (layers {pattern}: s sliding, G global)",
    }


# --- vocabulary -------------------------------------------------------------------------------


@dataclass
class Vocab:
    model: str  # "llama" (SentencePiece-style BPE) or "gpt2" (byte-level BPE)
    pre: str
    tokens: list[str]
    scores: list[float]
    types: list[int]
    merges: list[str]
    add_space_prefix: bool


def _merge_pairs(merges: list) -> list[tuple[str, str]]:
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else (m[0], m[1]) for m in merges]


def tool_token_strings(tok: DualTokenizer) -> list[str]:
    """The tool tokens as the GGUF names them: structural symbols in their rendered form
    (``⟨call⟩``), because llama.cpp takes tokens named ``<|call|>`` or ``<|end|>`` for
    end-of-generation tokens of other models; the rest as ``token_strings()``."""
    strings = tok.token_strings()
    for name, local in tok.tool.sym_id.items():
        strings[local] = render([Sym(name)])
    return strings


def union_vocab(tok: DualTokenizer, n_rows: int) -> Vocab:
    """Text tokens (from the base's ``tokenizer.json``), then tool tokens at their ids; rows
    no token uses are UNUSED placeholders. Raises ExportError for a text tokenizer llama.cpp
    cannot represent."""
    from gguf import TokenType

    spec = json.loads(tokenizer_files(tok)["tokenizer.json"])
    model = spec.get("model", {})
    if model.get("type") != "BPE":
        raise ExportError(
            f"unsupported text tokenizer {model.get('type')!r}: GGUF export needs BPE"
        )
    byte_level = (spec.get("decoder") or {}).get("type") == "ByteLevel"
    spm = bool(model.get("byte_fallback")) and not byte_level
    if not (spm or byte_level):
        raise ExportError(
            "unsupported text tokenizer: BPE that is neither byte-level nor SentencePiece-style"
        )
    if n_rows < len(tok):
        raise ExportError(f"model has {n_rows} embedding rows for {len(tok)} tokens")
    tokens: list[str | None] = [None] * n_rows
    types = [int(TokenType.UNUSED)] * n_rows
    for piece, i in model["vocab"].items():
        tokens[i] = piece
        is_byte = spm and len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">")
        types[i] = int(TokenType.BYTE if is_byte else TokenType.NORMAL)
    for t in spec.get("added_tokens", []):
        tokens[t["id"]] = t["content"]
        types[t["id"]] = int(TokenType.CONTROL if t.get("special") else TokenType.USER_DEFINED)
    pairs = _merge_pairs(model.get("merges", []))
    scores = [-1000.0] * n_rows
    if spm:
        # llama.cpp merges the adjacent pair whose joined piece scores highest: the score of a
        # piece is minus the rank of the merge that makes it, so it merges in BPE's order.
        rank: dict[str, int] = {}
        for r, (a, b) in enumerate(pairs):
            rank.setdefault(a + b, r)
        for piece, i in model["vocab"].items():
            scores[i] = -float(rank.get(piece, len(pairs)))
    for local, s in enumerate(tool_token_strings(tok)):
        i = tok.offset + local
        tokens[i] = s
        sym = tok.tool.kind(local) == "sym"
        types[i] = int(TokenType.CONTROL if sym else TokenType.USER_DEFINED)
    for i, t in enumerate(tokens):
        if t is None:
            tokens[i] = f"<|bslm_unused_{i}|>"
    if len(set(tokens)) != len(tokens):
        raise ExportError("the text and tool vocabularies share a token string")
    norm = json.dumps(spec.get("normalizer") or {})
    return Vocab(
        model="llama" if spm else "gpt2",
        pre="default" if spm else PRE_TOKENIZERS.get(tok.base_name, "default"),
        tokens=tokens,  # type: ignore[arg-type]
        scores=scores,
        types=types,
        merges=[] if spm else [f"{a} {b}" for a, b in pairs],
        add_space_prefix='"Prepend"' in norm and "\\u2581" in norm,
    )


def chat_template(tok: DualTokenizer) -> str:
    """A Jinja chat template for text conversations in bslm's turn format (``models/chat.py``);
    tools and their results are written in the tool language by the runtime, not here."""
    strings = tool_token_strings(tok)
    s = {name: strings[local] for name, local in tok.tool.sym_id.items()}
    return (
        ("{{- bos_token -}}" if tok.bos_id is not None else "") + "{%- for m in messages -%}"
        f"{{%- if m['role'] == 'system' -%}}{s['system']}"
        f"{{%- elif m['role'] == 'user' -%}}{s['user']}"
        f"{{%- elif m['role'] == 'assistant' -%}}{s['model']}"
        "{%- else -%}{{ raise_exception('only system, user and assistant messages') }}"
        "{%- endif -%}"
        f"{{{{ m['content'] or '' }}}}{s['eot']}"
        "{%- endfor -%}"
        f"{{%- if add_generation_prompt -%}}{s['model']}{{%- endif -%}}"
    )


def write_vocab(w, tok: DualTokenizer, n_rows: int) -> Vocab:
    v = union_vocab(tok, n_rows)
    base = tok.base
    w.add_tokenizer_model(v.model)
    w.add_tokenizer_pre(v.pre)
    w.add_token_list(v.tokens)
    w.add_token_scores(v.scores)
    w.add_token_types(v.types)
    if v.merges:
        w.add_token_merges(v.merges)
    if v.model == "llama":
        w.add_add_space_prefix(v.add_space_prefix)
    for kind in ("bos", "eos", "unk", "pad"):
        tid = getattr(base, f"{kind}_token_id", None)
        if isinstance(tid, int) and tid >= 0:
            getattr(w, f"add_{kind}_token_id")(tid)
    w.add_eot_token_id(tok.eot_id)  # a model turn ends with ⟨eot⟩: llama.cpp stops there
    w.add_add_bos_token(tok.bos_id is not None)
    w.add_add_eos_token(False)
    w.add_chat_template(chat_template(tok))
    return v


# --- tensors ----------------------------------------------------------------------------------


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF rotates query/key halves; llama.cpp's llama rotates interleaved pairs."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def gguf_tensors(model, arch: str, float_type: str):
    """(gguf name, array) for every weight llama.cpp reads."""
    import gguf
    import torch

    cfg = model.config
    arch_id = next(a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == arch)
    names = gguf.get_tensor_name_map(arch_id, cfg.num_hidden_layers)
    tied = bool(getattr(cfg, "tie_word_embeddings", False))
    dtype = np.float16 if float_type == "f16" else np.float32
    for name, t in model.state_dict().items():
        if name == "lm_head.weight" and tied:
            continue
        if name.endswith("rotary_emb.inv_freq"):
            continue
        new = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            raise ExportError(f"unsupported {arch} model: no GGUF name for tensor {name!r}")
        data = t.detach().to(torch.float32).numpy()
        if arch == "gemma3" and name.endswith("norm.weight"):
            data = data + 1.0  # Gemma's RMSNorm scales by (1 + weight); llama.cpp by weight
        if arch == "llama" and name.endswith("q_proj.weight"):
            data = _permute(data, cfg.num_attention_heads)
        elif arch == "llama" and name.endswith("k_proj.weight"):
            data = _permute(data, cfg.num_key_value_heads)
        yield new, (data.astype(dtype) if data.ndim > 1 else data.astype(np.float32))


# --- writing ----------------------------------------------------------------------------------


@contextmanager
def quiet_native_output():
    """llama.cpp logs to the C stdout/stderr whatever its verbosity; keep the terminal clean."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        try:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def quantize(src: Path, dst: Path, quant: str, embedding: str | None = None) -> None:
    """llama.cpp's own quantizer (``llama_model_quantize``); ``embedding="f16"`` keeps the
    token embedding and the output matrix (one tensor when tied) in f16. Raises ExportError."""
    import ctypes

    import llama_cpp

    ftype = {
        "q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0,
        "q4_k_m": llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M,
    }
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype[quant]
    params.nthread = os.cpu_count() or 1
    if embedding == "f16":
        params.token_embedding_type = llama_cpp.GGML_TYPE_F16
        params.output_tensor_type = llama_cpp.GGML_TYPE_F16
    with quiet_native_output():
        rc = llama_cpp.llama_model_quantize(
            str(src).encode(), str(dst).encode(), ctypes.byref(params)
        )
    if rc != 0:
        raise ExportError(f"llama.cpp could not quantize {src.name} to {quant} (status {rc})")


def write_gguf(
    model,
    tok: DualTokenizer,
    out: Path,
    float_type: str = "f16",
    source: str = "",
    progress: bool = False,
    decoding: dict | None = None,
) -> tuple[int, int, dict]:
    """Write ``model`` as an f16/f32 GGUF at ``out`` (no temp-file handling here); returns
    (tensors, metadata keys, details)."""
    import gguf

    arch = gguf_arch(model.config)
    n_rows = int(model.get_input_embeddings().weight.shape[0])
    w = gguf.GGUFWriter(out, arch)
    w.add_name(f"bslm {tok.base_name}".strip())
    w.add_type(gguf.GGUFType.MODEL)
    w.add_file_type(
        gguf.LlamaFileType.MOSTLY_F16 if float_type == "f16" else gguf.LlamaFileType.ALL_F32
    )
    details = write_hparams(w, arch, model.config, n_rows)
    vocab = write_vocab(w, tok, n_rows)
    meta = bslm_metadata(tok, source, decoding)
    for key, value in meta.items():
        if isinstance(value, int):
            w.add_uint32(key, value)
        else:
            w.add_string(key, value)
    n = 0
    for name, data in gguf_tensors(model, arch, float_type):
        w.add_tensor(name, data)
        n += 1
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file(progress=progress)
    w.close()
    n_kv = sum(len(kv) for kv in w.kv_data) + 1  # + general.architecture
    details["vocabulary"] = (
        f"{len(tok.base)} text ({vocab.model}) + {len(tok.tool)} tool (ids from {tok.offset})"
    )
    details["bslm metadata"] = ", ".join(k.removeprefix("bslm.") for k in meta)
    return n, n_kv, details


def export_gguf(
    model_path: str | Path | None,
    out: str | Path | None = None,
    quant: str = "f16",
    force: bool = False,
    say: Callable[[str], None] = lambda s: None,
    progress: bool = False,
    embedding: str | None = None,
) -> ExportSummary:
    """Export a bslm model directory (None: the default model, built when missing) to GGUF.
    ``embedding="f16"`` keeps the embedding (and output) matrix in f16 when quantizing: the
    logits then stay much closer to the model's. Raises ExportError (bad input, unsupported
    model) and FileExistsError (``out`` exists and ``force`` is false); leaves no partial
    file behind."""
    if quant not in QUANTS:
        raise ExportError(
            f"unknown quantization {quant!r} for gguf: choose from {', '.join(QUANTS)}"
        )
    if embedding not in (None, "f16") or (embedding and quant not in ("q8_0", "q4_k_m")):
        raise ExportError(f"--embedding {embedding} needs --quant q8_0 or q4_k_m (and only f16)")
    t0 = time.perf_counter()
    src = load_source(model_path, say)
    out = Path(out) if out is not None else Path(f"{src.name}.{quant}.gguf")
    if out.exists() and not force:
        raise TargetExistsError(f"{out} already exists (use --force to replace it)")
    if out.is_dir():
        raise ExportError(f"{out} is a directory: give a file name for the GGUF")
    out.parent.mkdir(parents=True, exist_ok=True)
    model, tok = src.load()
    float_type = "f32" if quant == "f32" else "f16"
    quantized = quant in ("q8_0", "q4_k_m")
    with atomic_file(out) as final:
        written = final.with_suffix(".f16.part") if quantized else final
        try:
            say(f"writing {float_type} GGUF ({gguf_arch(model.config)})...")
            n, n_kv, details = write_gguf(
                model, tok, written, float_type, src.record, progress, src.decoding
            )
            del model
            if quantized:
                say(f"quantizing to {quant} with llama.cpp...")
                quantize(written, final, quant, embedding)
        finally:
            if quantized:
                written.unlink(missing_ok=True)
    return ExportSummary(
        out, "gguf", quant, out.stat().st_size, n, n_kv, time.perf_counter() - t0, details
    )
