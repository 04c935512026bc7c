"""A pruned text vocabulary: the base's tokens a laptop agent needs, the rest cut away.

Gemma 3's 262,144 text tokens make its embedding (tied to the output layer) 168M of its 268M
parameters, and every decoded token pays for the whole output layer. A kept list (shipped in
``models/assets/vocab/``) names the text tokens to keep by their ids in the full vocabulary:

- every special token but Gemma's ``<unusedN>`` placeholders, and all 256 byte tokens
  (``<0xNN>``), so any Unicode string still encodes and decodes exactly: text outside the kept
  tokens costs more tokens, through byte fallback;
- the tokens of bslm's own training data and tool vocabulary, and the most frequent tokens of
  English prose and code: the sources and documentation (``.py``, ``.md``, ``.rst``, ``.txt``)
  of the standard library and the installed packages (``python -m bslm.models.vocab select``);
- closed under the tokenizer's merges: every merge that makes a kept token has both parts
  kept, so text made only of kept tokens tokenizes exactly as it did in the full vocabulary.

``prune_tokenizer`` rewrites the base's ``tokenizer.json`` to the kept ids (in their old order,
so the special tokens keep their ids), ``prune_model`` slices the embedding rows. A pruned base
is named ``BASE@SIZE`` (``gemma-3-270m@32k``); the bare name is the full vocabulary.

    python -m bslm.models.vocab select --sizes 16k,32k,48k        # write the kept lists
    python -m bslm.models.vocab report                            # tokens per character
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path

from .errors import BslmError
from .files import write_text

VOCAB_ASSETS = "assets/vocab"
UNUSED = re.compile(r"^<unused\d+>$")
BYTE = re.compile(r"^<0x[0-9A-F]{2}>$")


class VocabError(BslmError, ValueError):
    """A vocabulary size with no kept list, or a base that cannot be pruned."""


def split_name(name: str) -> tuple[str, str | None]:
    """``gemma-3-270m@32k`` -> (``gemma-3-270m``, ``32k``); a bare name -> (name, None)."""
    base, sep, size = name.rpartition("@")
    if not sep or not base or "/" in size:
        return name, None
    return base, size


def pruned_name(base: str, size: str | None) -> str:
    """The name of ``base`` with the vocabulary ``size`` (None or ``full``: the bare name)."""
    base = split_name(base)[0]
    return base if size in (None, "full") else f"{base}@{size}"


def _asset(base: str, size: str):
    return resources.files("bslm.models").joinpath(f"{VOCAB_ASSETS}/{base}-{size}.json")


def sizes(base: str) -> list[str]:
    """The vocabulary sizes shipped for ``base``."""
    folder = resources.files("bslm.models").joinpath(VOCAB_ASSETS)
    if not folder.is_dir():
        return []
    names = [p.name for p in folder.iterdir() if p.name.startswith(f"{base}-")]
    return sorted(n[len(base) + 1 : -len(".json")] for n in names)


@cache
def kept_ids(base: str, size: str) -> tuple[int, ...]:
    """The kept text ids (ids of the full vocabulary, ascending). Raises VocabError when no
    list ships for ``base`` at ``size``."""
    asset = _asset(base, size)
    if not asset.is_file():
        have = ", ".join(sizes(base)) or "none"
        raise VocabError(f"no {size} vocabulary for {base} (shipped: {have}; or use full)")
    data = json.loads(asset.read_text("utf-8"))
    return tuple(_undelta(data["ids"]))


def _delta(ids: list[int]) -> list[int]:
    return [ids[0]] + [b - a for a, b in zip(ids, ids[1:], strict=False)] if ids else []


def _undelta(d: list[int]) -> list[int]:
    out, acc = [], 0
    for x in d:
        acc += x
        out.append(acc)
    return out


# --- the tokenizer --------------------------------------------------------------------------


def _spec(tokenizer) -> dict:
    return json.loads(tokenizer.backend_tokenizer.to_str())


def _merge_pairs(merges: list) -> list[tuple[str, str]]:
    return [tuple(m.split(" ", 1)) if isinstance(m, str) else (m[0], m[1]) for m in merges]


def required_ids(tokenizer) -> set[int]:
    """Ids every pruned vocabulary keeps: special tokens (not Gemma's ``<unusedN>``), the
    unknown token and the 256 byte tokens. Raises VocabError for a tokenizer that has no byte
    fallback (pruning it would lose text)."""
    spec = _spec(tokenizer)
    model = spec["model"]
    if model.get("type") != "BPE" or not model.get("byte_fallback"):
        raise VocabError("only a BPE tokenizer with byte fallback can be pruned losslessly")
    vocab = model["vocab"]
    keep = {t["id"] for t in spec.get("added_tokens", []) if not UNUSED.match(t["content"])}
    keep |= {i for p, i in vocab.items() if BYTE.match(p)}
    if model.get("unk_token") in vocab:
        keep.add(vocab[model["unk_token"]])
    if sum(1 for p in vocab if BYTE.match(p)) != 256:
        raise VocabError("the tokenizer lacks some of the 256 byte tokens")
    return keep


_MAKERS: dict[int, dict[int, list[tuple[int, int]]]] = {}


def _makers(tokenizer) -> dict[int, list[tuple[int, int]]]:
    """For each token made by merges: the pairs of parts that make it."""
    key = id(tokenizer.backend_tokenizer)
    if key not in _MAKERS:
        model = _spec(tokenizer)["model"]
        vocab = model["vocab"]
        makers: dict[int, list[tuple[int, int]]] = {}
        for a, b in _merge_pairs(model["merges"]):
            ia, ib, ab = vocab.get(a), vocab.get(b), vocab.get(a + b)
            if ia is not None and ib is not None and ab is not None:
                makers.setdefault(ab, []).append((ia, ib))
        _MAKERS.clear()
        _MAKERS[key] = makers
    return _MAKERS[key]


def close(tokenizer, ids: set[int]) -> set[int]:
    """``ids`` with the parts of every merge that makes one of them, recursively."""
    makers = _makers(tokenizer)
    kept = set(ids)
    todo = list(kept)
    while todo:
        for pair in makers.get(todo.pop(), ()):
            for part in pair:
                if part not in kept:
                    kept.add(part)
                    todo.append(part)
    return kept


def prune_tokenizer(tokenizer, keep: list[int] | tuple[int, ...]):
    """A new fast tokenizer with only the ``keep`` ids (ascending, old ids), renumbered from 0
    in their old order; merges whose parts or result are cut go too."""
    from transformers import AutoTokenizer

    keep = sorted(keep)
    new_id = {old: new for new, old in enumerate(keep)}
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        path = Path(tmp) / "tokenizer.json"
        spec = json.loads(path.read_text("utf-8"))
        model = spec["model"]
        vocab = {p: new_id[i] for p, i in model["vocab"].items() if i in new_id}
        model["vocab"] = vocab
        model["merges"] = [
            [a, b]
            for a, b in _merge_pairs(model["merges"])
            if a in vocab and b in vocab and a + b in vocab
        ]
        spec["added_tokens"] = [
            dict(t, id=new_id[t["id"]]) for t in spec.get("added_tokens", []) if t["id"] in new_id
        ]
        _renumber_post_processor(spec.get("post_processor"), new_id)
        path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        cfg_path = Path(tmp) / "tokenizer_config.json"
        if cfg_path.is_file():
            cfg = json.loads(cfg_path.read_text("utf-8"))
            dec = cfg.get("added_tokens_decoder") or {}
            cfg["added_tokens_decoder"] = {
                str(new_id[int(k)]): v for k, v in dec.items() if int(k) in new_id
            }
            cfg_path.write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
        return AutoTokenizer.from_pretrained(tmp)


def _renumber_post_processor(node, new_id: dict[int, int]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "ids" and isinstance(v, list) and all(isinstance(i, int) for i in v):
                node[k] = [new_id[i] for i in v]
            else:
                _renumber_post_processor(v, new_id)
    elif isinstance(node, list):
        for v in node:
            _renumber_post_processor(v, new_id)


def prune_model(model, keep: list[int] | tuple[int, ...]) -> None:
    """Keep only the ``keep`` rows (ascending) of ``model``'s text embeddings, in place
    (the output layer too, tied or not), and renumber the config's special ids."""
    import torch

    idx = torch.tensor(sorted(keep), dtype=torch.long)
    new_id = {int(old): new for new, old in enumerate(idx.tolist())}
    emb = model.get_input_embeddings()
    out = model.get_output_embeddings()
    tied = out is not None and out.weight.data_ptr() == emb.weight.data_ptr()
    with torch.no_grad():
        emb.weight = torch.nn.Parameter(emb.weight[idx].clone())
        emb.num_embeddings = len(idx)
        if out is not None:
            if tied:
                out.weight = emb.weight
            else:
                out.weight = torch.nn.Parameter(out.weight[idx].clone())
            out.out_features = len(idx)
    model.config.vocab_size = len(idx)
    for cfg in (model.config, getattr(model, "generation_config", None)):
        for key in ("pad_token_id", "bos_token_id", "eos_token_id"):
            v = getattr(cfg, key, None) if cfg is not None else None
            if isinstance(v, int):
                setattr(cfg, key, new_id.get(v))
            elif isinstance(v, list):
                setattr(cfg, key, [new_id[i] for i in v if i in new_id] or None)


# --- choosing what to keep -------------------------------------------------------------------


def _site_texts(suffixes: tuple[str, ...], max_bytes: int) -> list[str]:
    """Source and documentation files of the installed packages and the standard library."""
    import random
    import sysconfig

    roots = {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"]}
    paths = [
        p
        for root in sorted(roots)
        for p in sorted(Path(root).rglob("*"))
        if p.suffix in suffixes and p.is_file() and "bslm" not in p.parts
    ]
    random.Random(0).shuffle(paths)  # every package a chance, not the alphabet's first
    texts, total = [], 0
    for p in paths:
        try:
            t = p.read_text("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        texts.append(t[:200_000])
        total += len(texts[-1])
        if total >= max_bytes:
            break
    return texts


def _own_texts(data: Path | None) -> list[str]:
    """bslm's own text: the tool pieces' surfaces, the catalog, and generated training data."""
    from .tokenizer import ToolVocab, default_pieces

    vocab = ToolVocab(default_pieces())
    texts = [vocab.surface(i) for i in range(len(vocab))]
    if data is not None and data.is_file():
        with data.open(encoding="utf-8") as f:
            for line in f:
                _strings(json.loads(line), texts)
    return texts


def _strings(node, out: list[str]) -> None:
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        for k, v in node.items():
            out.append(k)
            _strings(v, out)
    elif isinstance(node, list):
        for v in node:
            _strings(v, out)


def count_tokens(tokenizer, texts: list[str], chunk: int = 4000) -> Counter:
    ids: Counter = Counter()
    for i in range(0, len(texts), chunk):
        for enc in tokenizer(texts[i : i + chunk], add_special_tokens=False)["input_ids"]:
            ids.update(enc)
    return ids


def select(tokenizer, counts: Counter, own: set[int], target: int) -> list[int]:
    """The largest most-frequent-first vocabulary that, with ``own`` and the required ids,
    closed under merges, has at most ``target`` ids."""
    base = close(tokenizer, required_ids(tokenizer) | own)
    if len(base) > target:
        raise VocabError(
            f"the required and own tokens alone, closed under merges, are {len(base)} ids: "
            f"more than {target}"
        )
    ranked = [i for i, _ in counts.most_common() if i not in base]
    lo, hi = 0, len(ranked)
    while lo < hi:  # closure grows with the prefix: bisect the longest prefix that fits
        mid = (lo + hi + 1) // 2
        if len(close(tokenizer, base | set(ranked[:mid]))) <= target:
            lo = mid
        else:
            hi = mid - 1
    return sorted(close(tokenizer, base | set(ranked[:lo])))


def parse_size(size: str) -> int:
    m = re.fullmatch(r"(\d+)k", size)
    if not m:
        raise VocabError(f"vocabulary size {size!r}: write it as 16k, 32k, ...")
    return int(m.group(1)) * 1024


def write_kept(base: str, size: str, ids: list[int], sources: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{base}-{size}.json"
    meta = {"base": base, "size": len(ids), "sources": sources, "ids": _delta(ids)}
    return write_text(path, json.dumps(meta, separators=(",", ":")) + "\n")


def main(argv: list[str] | None = None) -> int:
    import argparse

    from .bases import base_tokenizer

    ap = argparse.ArgumentParser(description="Choose pruned text vocabularies by coverage.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("select", help="write the kept lists")
    s.add_argument("--base", default="gemma-3-270m")
    s.add_argument("--sizes", default="16k,32k,48k")
    s.add_argument("--data", type=Path, default=Path("data/train.jsonl"))
    s.add_argument("--code-mb", type=float, default=40.0)
    s.add_argument("--prose-mb", type=float, default=10.0)
    s.add_argument("--out", type=Path, default=Path(__file__).parent / VOCAB_ASSETS)
    args = ap.parse_args(argv)
    tok = base_tokenizer(args.base)
    code = _site_texts((".py",), int(args.code_mb * 1e6))
    prose = _site_texts((".md", ".rst", ".txt"), int(args.prose_mb * 1e6))
    own = _own_texts(args.data)
    counts = count_tokens(tok, code) + count_tokens(tok, prose)
    own_ids = set(count_tokens(tok, own))
    sources = {
        "code_chars": sum(map(len, code)),
        "prose_chars": sum(map(len, prose)),
        "own_texts": len(own),
        "own_ids": len(own_ids),
        "distinct_corpus_ids": len(counts),
    }
    print(json.dumps(sources))
    total = sum(counts.values())
    for size in args.sizes.split(","):
        ids = select(tok, counts, own_ids, parse_size(size))
        kept = set(ids)
        cover = sum(c for i, c in counts.items() if i in kept) / total
        path = write_kept(args.base, size, ids, sources, args.out)
        print(f"{size}: {len(ids)} ids, {100 * cover:.3f} % of corpus tokens -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
