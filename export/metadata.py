"""What an exported model carries about itself: the ``bslm.*`` metadata.

A GGUF file (as key/values) or an ONNX directory (as ``bslm.json``, with the small keys also in
each graph's ``metadata_props``) holds everything the runtime needs beside the weights, so an
export is used with no other file:

    bslm.format_version     this metadata format (``FORMAT_VERSION``)
    bslm.language_version   the tool language the vocabulary was built for
    bslm.base               the base model's name (``gemma-3-270m``, ``smollm2-135m``, a path)
    bslm.source             what the export was made from (model directory, build record)
    bslm.tool_offset        first tool-modality id; tool ids are ``offset + local``
    bslm.tool_vocab_size    number of tool tokens
    bslm.modalities         JSON ``{"text": [begin, end], "tool": [begin, end]}`` (end excluded)
    bslm.special            JSON ``{"bos": id | null, "eot": id, "symbols": {name: id}}``
    bslm.tool_tokenizer     ``bslm_tokenizer.json``: symbols, number characters, pieces
    bslm.text_tokenizer     JSON ``{file name: text}`` of the base tokenizer's own files
    bslm.decoding           JSON ``{"call_threshold", "copy_bias", ...}``: the decoder's help
                            calibrated for these weights (``engine.Help``); absent when none

``tokenizer_from_metadata`` rebuilds the dual tokenizer from these alone.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from bslm.models.errors import BslmError
from bslm.models.identifiers import PieceModel
from bslm.models.language import FORMAT_VERSION as LANGUAGE_VERSION
from bslm.models.text_tokenizer import TextTokenizer
from bslm.models.tokenizer import TOOL_TOKENIZER_FILE, DualTokenizer, ToolVocab, read_tool_tokenizer

FORMAT_VERSION = 1
PREFIX = "bslm."
ONNX_SIDECAR = "bslm.json"
# Keys too large for ONNX ``metadata_props`` (they stay in the sidecar only).
LARGE_KEYS = ("bslm.tool_tokenizer", "bslm.text_tokenizer")


class ExportError(BslmError, RuntimeError):
    """A model that cannot be exported as asked; the message is one line for the user."""


class MetadataError(BslmError, ValueError):
    """An export without usable ``bslm.*`` metadata; the message is one line."""


def tokenizer_files(tok: DualTokenizer) -> dict[str, str]:
    """The files ``DualTokenizer.save`` writes, as ``{name: text}``."""
    with tempfile.TemporaryDirectory(prefix="bslm-tok-") as d:
        tok.save(d)
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(d).iterdir())}


def bslm_metadata(
    tok: DualTokenizer, source: str = "", decoding: dict | None = None
) -> dict[str, int | str]:
    """The ``bslm.*`` key/values of a model with dual tokenizer ``tok``; ``decoding``: its
    calibrated decoding help, if any."""
    files = tokenizer_files(tok)
    tool_json = files.pop(TOOL_TOKENIZER_FILE)
    n_tool = len(tok.tool)
    symbols = {s: tok.sym(s) for s in tok.tool.symbols}
    return {
        "bslm.format_version": FORMAT_VERSION,
        "bslm.language_version": LANGUAGE_VERSION,
        "bslm.base": tok.base_name,
        "bslm.source": source,
        "bslm.tool_offset": tok.offset,
        "bslm.tool_vocab_size": n_tool,
        "bslm.modalities": json.dumps(
            {"text": [0, len(tok.base)], "tool": [tok.offset, tok.offset + n_tool]}
        ),
        "bslm.special": json.dumps({"bos": tok.bos_id, "eot": tok.eot_id, "symbols": symbols}),
        "bslm.tool_tokenizer": tool_json,
        "bslm.text_tokenizer": json.dumps(files, ensure_ascii=False),
    } | ({"bslm.decoding": json.dumps(decoding, sort_keys=True)} if decoding else {})


def decoding_settings(meta: dict) -> dict | None:
    """The calibrated decoding help in ``bslm.*`` metadata (None: none, or unreadable)."""
    try:
        value = json.loads(meta.get("bslm.decoding") or "null")
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def check_metadata(meta: dict, where: str) -> None:
    """Raises MetadataError when ``meta`` lacks the bslm keys or is from a newer bslm."""
    if "bslm.format_version" not in meta:
        raise MetadataError(f"{where} has no bslm metadata: export it with `bslm export`")
    version = int(meta["bslm.format_version"])
    if version > FORMAT_VERSION:
        raise MetadataError(
            f"{where} uses bslm metadata format {version}; this bslm reads up to "
            f"{FORMAT_VERSION}: upgrade bslm"
        )
    missing = [k for k in ("bslm.tool_tokenizer", "bslm.text_tokenizer") if k not in meta]
    if missing:
        raise MetadataError(f"{where}: bslm metadata without {', '.join(missing)}")


def tokenizer_from_metadata(meta: dict, where: str = "the model") -> DualTokenizer:
    """The dual tokenizer described by ``bslm.*`` metadata. Raises MetadataError."""
    check_metadata(meta, where)
    try:
        files = json.loads(meta["bslm.text_tokenizer"])
        with tempfile.TemporaryDirectory(prefix="bslm-tok-") as d:
            for name, text in files.items():
                (Path(d) / Path(name).name).write_text(text, encoding="utf-8")
            (Path(d) / TOOL_TOKENIZER_FILE).write_text(meta["bslm.tool_tokenizer"], "utf-8")
            tool = read_tool_tokenizer(d)
        # the tokenizers library alone: a runtime that opens a GGUF never imports transformers
        base = TextTokenizer(files)
        pieces = ToolVocab(PieceModel.from_json(tool["pieces"]))
        tok = DualTokenizer(base, pieces, tool["offset"], tool.get("base", ""))
    except (ValueError, OSError, KeyError, TypeError) as e:
        raise MetadataError(f"{where}: unreadable bslm tokenizer ({e})") from e
    if tok.offset != int(meta.get("bslm.tool_offset", tok.offset)):
        raise MetadataError(f"{where}: bslm.tool_offset disagrees with its tool tokenizer")
    return tok


def read_onnx_metadata(directory: str | Path) -> dict:
    """The ``bslm.*`` key/values of an ONNX export directory. Raises MetadataError."""
    path = Path(directory) / ONNX_SIDECAR
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise MetadataError(
            f"{directory} has no {ONNX_SIDECAR}: export it with `bslm export`"
        ) from e
    except (OSError, json.JSONDecodeError) as e:
        raise MetadataError(f"{path} is not readable bslm metadata ({e})") from e
