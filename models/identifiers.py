"""Identifier pieces: how tool and parameter names are spelled in the tool modality.

A name is split at case boundaries into chunks (``getCurrentWeather`` -> ``get``, ``Current``,
``Weather``; ``HTTPServer_v2`` -> ``HTTP``, ``Server_v2``). Each chunk is lowercased and cut into
words at ``_`` (the underscore stays on the word before it). A word that is in the learned word
list is one piece (``weather``, ``weather_``); any other word is cut by a small BPE model
learned from real identifiers, with byte fallback, so that any name at all can be spelled. Case is restored by two marks: ``cap`` (the next piece starts with a
capital) and ``upper`` (the next piece is all capitals). Decoding is concatenation, so every
tokenization of a name decodes to it; ``encode`` always gives the canonical one.

Rebuild the shipped piece vocabulary (deterministic for a given set of installed packages):

    python -m bslm.models.identifiers --out models/assets/tool_pieces.json \
        --words-from ~/.cache/bslm/bases/gemma-3-270m/tokenizer.json \
                     ~/.cache/bslm/bases/smollm2-135m/tokenizer.json
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import sys
import sysconfig
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, models, trainers

from bslm.models.files import write_text

CAP = "<cap>"  # marks are never pieces: "<" is not in the alphabet
UPPER = "<upper>"
# Characters a piece may contain; anything else is spelled with UTF-8 byte pieces.
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789_-./:$@"
BYTE_PIECES = [f"<0x{b:02X}>" for b in range(256)]
_ALPHABET_SET = set(ALPHABET)
_BYTE_RE = re.compile(r"<0x([0-9A-F]{2})>")
# A run of capitals before a Capitalized word, a run of capitals, a Capitalized word, the rest.
_CHUNK_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]{2,}|[A-Z][^A-Z]*|[^A-Z]+")
# Pieces never span a word boundary: "get_current_weather" learns "get_", "current_", "weather".
_WORD_RE = re.compile(r"[^_]+_?|_")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def split_chunks(name: str) -> list[tuple[str | None, str]]:
    """Split a name into ``(case_mark, lowercase_chunk)`` pairs.

    >>> split_chunks("getHTTPServer_v2")
    [(None, 'get'), ('<upper>', 'http'), ('<cap>', 'server_v2')]
    """
    out: list[tuple[str | None, str]] = []
    for m in _CHUNK_RE.finditer(name):
        chunk = m.group(0)
        if len(chunk) > 1 and chunk.isascii() and chunk.isalpha() and chunk.isupper():
            out.append((UPPER, chunk.translate(_LOWER)))
        elif "A" <= chunk[0] <= "Z":
            out.append((CAP, chunk[0].translate(_LOWER) + chunk[1:]))
        else:
            out.append((None, chunk))
    return out


class PieceModel:
    """Cuts lowercase chunks into learned pieces; spells whole names with case marks."""

    def __init__(self, vocab: list[str], merges: list[tuple[str, str]], words: list[str]):
        known = set(vocab)
        self.vocab = list(vocab) + [w for w in words if w not in known]
        self.merges = [tuple(m) for m in merges]
        self.words = frozenset(words)
        self._bpe = models.BPE(
            vocab={p: i for i, p in enumerate(self.vocab)},
            merges=self.merges,
            byte_fallback=True,
            ignore_merges=False,
        )
        self._cache: dict[str, list[str]] = {}

    def pieces(self, chunk: str) -> list[str]:
        """Canonical pieces of one lowercase chunk."""
        hit = self._cache.get(chunk)
        if hit is None:
            hit = [p for w in _WORD_RE.findall(chunk) for p in self._word(w)]
            if len(self._cache) < 65536:
                self._cache[chunk] = hit
        return hit

    def _word(self, w: str) -> list[str]:
        if w in self.words:
            return [w]
        if w.endswith("_") and w[:-1] in self.words:
            return [w[:-1], "_"]
        return [t.value for t in self._bpe.tokenize(w)]

    def encode(self, name: str) -> list[str]:
        """Canonical spelling of ``name`` as pieces and case marks (``CAP``, ``UPPER``)."""
        out: list[str] = []
        for mark, chunk in split_chunks(name):
            pieces = self.pieces(chunk)
            if mark == UPPER:
                for p in pieces:
                    out.extend((UPPER, p))
            elif mark == CAP:
                out.append(CAP)
                out.extend(pieces)
            else:
                out.extend(pieces)
        return out

    @staticmethod
    def decode(pieces: Iterable[str]) -> str:
        """Join pieces back into a name. Never raises: stray marks are ignored, invalid bytes
        become U+FFFD."""
        out: list[str] = []
        pending: list[int] = []
        mark: str | None = None

        def flush() -> None:
            if pending:
                out.append(bytes(pending).decode("utf-8", errors="replace"))
                pending.clear()

        for p in pieces:
            if p in (CAP, UPPER):
                mark = p
                continue
            m = _BYTE_RE.fullmatch(p)
            if m:
                pending.append(int(m.group(1), 16))
                mark = None
                continue
            flush()
            if mark == UPPER:
                p = p.upper()
            elif mark == CAP and p:
                p = p[0].upper() + p[1:]
            mark = None
            out.append(p)
        flush()
        return "".join(out)

    def to_json(self) -> dict:
        n_bpe = len(self.vocab) - len(self.words)
        return {
            "vocab": self.vocab[:n_bpe],
            "merges": [list(m) for m in self.merges],
            "words": self.vocab[n_bpe:],
        }

    @classmethod
    def from_json(cls, data: dict) -> PieceModel:
        return cls(data["vocab"], [tuple(m) for m in data["merges"]], data["words"])


# --- learning the pieces ---------------------------------------------------------------------


def _python_files(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_dir():
            yield from sorted(p for p in root.rglob("*.py") if "test" not in p.name)


def code_identifiers(roots: Iterable[Path], limit_files: int | None = None) -> Counter:
    """Function, parameter, class, keyword-argument and attribute names in Python sources."""
    counts: Counter = Counter()
    for i, path in enumerate(_python_files(roots)):
        if limit_files is not None and i >= limit_files:
            break
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                counts[node.name] += 1
            elif isinstance(node, ast.arg) or isinstance(node, ast.keyword) and node.arg:
                counts[node.arg] += 1
            elif isinstance(node, ast.Attribute):
                counts[node.attr] += 1
    return counts


def vocabulary_words(tokenizer_json: Path, limit: int) -> list[str]:
    """Whole lowercase words of a text tokenizer's vocabulary, in merge (≈ frequency) order."""
    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    items = vocab.items() if isinstance(vocab, dict) else ((p, i) for i, (p, _) in enumerate(vocab))
    words = []
    for piece, _ in sorted(items, key=lambda kv: kv[1]):
        w = piece.lstrip("Ġ▁")
        if len(w) >= 3 and len(piece) > len(w) and w.isascii() and w.isalpha() and w.islower():
            words.append(w)
    return list(dict.fromkeys(words))[:limit]


def code_words(identifiers: Counter) -> Counter:
    """Words inside identifiers (split at case and ``_``), weighted by the log of the count
    of each identifier they appear in."""
    out: Counter = Counter()
    for name, count in identifiers.items():
        weight = 1 + int(math.log2(count))
        for _, chunk in split_chunks(name):
            for w in chunk.split("_"):
                if w and set(w) <= _ALPHABET_SET:
                    out[w] += weight
    return out


def choose_words(english: list[str], code: Counter, n_english: int, n_code: int) -> list[str]:
    """The whole-word pieces: the most frequent English words, then the most frequent words
    of code not already in; each also with a trailing ``_`` (how words sit in snake_case)."""
    chosen = list(dict.fromkeys(english[:n_english]))
    have = set(chosen)
    for w, _ in code.most_common():
        if len(chosen) >= n_english + n_code:
            break
        if len(w) >= 2 and w not in have:
            chosen.append(w)
            have.add(w)
    return [v for w in chosen for v in (w, w + "_")]


def train_pieces(code: Counter, words: list[str], bpe_size: int) -> PieceModel:
    """Learn the BPE fallback (``bpe_size`` entries, bytes and alphabet included) from the
    code words, and put the whole words beside it."""
    tok = Tokenizer(models.BPE(byte_fallback=True))
    trainer = trainers.BpeTrainer(
        vocab_size=bpe_size,
        min_frequency=3,
        special_tokens=BYTE_PIECES,
        initial_alphabet=list(ALPHABET),
        limit_alphabet=len(ALPHABET),
        show_progress=False,
    )
    corpus = (w for w, n in sorted(code.items()) for _ in range(min(n, 64)))
    tok.train_from_iterator(corpus, trainer=trainer)
    data = json.loads(tok.to_str())["model"]
    vocab = [p for p, _ in sorted(data["vocab"].items(), key=lambda kv: kv[1])]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in data["merges"]]
    return PieceModel(vocab, merges, words)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--bpe-size", type=int, default=2048)
    ap.add_argument(
        "--words-from",
        type=Path,
        nargs="+",
        required=True,
        help="text tokenizer.json files: words in all of them, in the first one's order",
    )
    ap.add_argument("--english", type=int, default=6000, help="English words to keep whole")
    ap.add_argument("--code", type=int, default=700, help="code words to keep whole")
    args = ap.parse_args(argv)
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    ids = code_identifiers(roots)
    code = code_words(ids)
    lists = [vocabulary_words(p, 10**6) for p in args.words_from]
    common = set.intersection(*map(set, lists))
    english = [w for w in lists[0] if w in common]
    words = choose_words(english, code, args.english, args.code)
    model = train_pieces(code, words, args.bpe_size)
    write_text(args.out, json.dumps(model.to_json(), ensure_ascii=False))
    print(
        f"{len(ids)} identifiers -> {len(model.vocab)} pieces ({len(words)} whole words): {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
