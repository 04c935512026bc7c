"""The dual tokenizer: the base model's text tokenizer, untouched, plus the tool tokenizer.

Tool-modality ids sit after the text vocabulary (``offset`` = the larger of the text
tokenizer's length and the base model's embedding rows), in this order: the structural symbols
of ``language.SYMBOLS``, the number characters, the two case marks, then the identifier pieces.
Text is encoded with the base's special tokens split as plain text, so nothing a user or a tool
writes can become a control token of either modality. Text round-trips exactly for every
character the base can spell; the few it cannot (SmolLM2 has no token for six ASCII control
characters, nor for code points from U+40000) become U+FFFD instead of vanishing.

Saved as one directory: the base's own files (``tokenizer.json`` stays a valid text tokenizer)
and ``bslm_tokenizer.json`` beside them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .files import TOOL_TOKENIZER_FILE, read_tool_tokenizer, write_text
from .identifiers import CAP, UPPER, PieceModel
from .language import FORMAT_VERSION, NUM_CHARS, SURFACES, SYMBOLS, Item, Name, Num, Sym, Text

TEXT, TOOL = 0, 1


def default_pieces() -> PieceModel:
    """The identifier pieces shipped with bslm (``models/assets/tool_pieces.json``)."""
    data = resources.files("bslm.models").joinpath("assets/tool_pieces.json").read_text("utf-8")
    return PieceModel.from_json(json.loads(data))


class ToolVocab:
    """The tool modality's own vocabulary (local ids from 0)."""

    def __init__(self, pieces: PieceModel):
        self.pieces = pieces
        self.symbols = list(SYMBOLS)
        self.tokens: list[str] = (
            [f"<|{s}|>" for s in SYMBOLS]
            + [f"<|#{c}|>" for c in NUM_CHARS]
            + ["<|cap|>", "<|upper|>"]
            + [f"<|~{p}|>" for p in pieces.vocab]
        )
        self.sym_id = {s: i for i, s in enumerate(SYMBOLS)}
        base = len(SYMBOLS)
        self.num_id = {c: base + i for i, c in enumerate(NUM_CHARS)}
        base += len(NUM_CHARS)
        self.mark_id = {CAP: base, UPPER: base + 1}
        base += 2
        self.piece_base = base
        self.piece_id = {p: base + i for i, p in enumerate(pieces.vocab)}
        self.num_char = {v: k for k, v in self.num_id.items()}
        self.piece_of = {v: k for k, v in self.piece_id.items()} | {
            v: k for k, v in self.mark_id.items()
        }

    def __len__(self) -> int:
        return len(self.tokens)

    def kind(self, local: int) -> str:
        """'sym', 'num' or 'name' (a piece or a case mark)."""
        if local < len(self.symbols):
            return "sym"
        return "num" if local in self.num_char else "name"

    def surface(self, local: int) -> str:
        """What the token means in plain text: its embedding starts as that text's."""
        kind = self.kind(local)
        if kind == "sym":
            return SURFACES[self.symbols[local]]
        if kind == "num":
            return self.num_char[local]
        p = self.piece_of[local]
        return {CAP: "Capital", UPPER: "UPPERCASE"}.get(p, p)


@dataclass
class Encoding:
    ids: list[int]
    modality: list[int]  # TEXT (0) or TOOL (1) per id


class DualTokenizer:
    """Items (``language.Item``) <-> token ids, over two disjoint id ranges."""

    def __init__(
        self, base, vocab: ToolVocab | None = None, offset: int | None = None, base_name: str = ""
    ):
        self.base = base
        self.tool = vocab or ToolVocab(default_pieces())
        self.offset = max(len(base), offset or 0)
        self.base_name = base_name
        probe = base("a", add_special_tokens=True)["input_ids"]
        bos = base.bos_token_id
        self.bos_id: int | None = bos if bos is not None and probe and probe[0] == bos else None
        lost = [c for c in map(chr, range(128)) if self.base.decode(self._encode(c)) != c]
        ranges = [re.escape(c) for c in lost]
        if self.base.decode(self._encode("\U00040000")) != "\U00040000":  # UTF-8 lead bytes F1, F2
            ranges.append("\U00040000-\U000bffff")
        self._unspellable = re.compile(f"[{''.join(ranges)}]") if ranges else None

    # --- ids ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.offset + len(self.tool)

    def sym(self, name: str) -> int:
        """Global id of a structural symbol."""
        return self.offset + self.tool.sym_id[name]

    def is_tool(self, token_id: int) -> bool:
        return token_id >= self.offset

    @property
    def eot_id(self) -> int:
        return self.sym("eot")

    # --- text ---------------------------------------------------------------------------------

    def _encode(self, text: str) -> list[int]:
        return self.base.encode(text, add_special_tokens=False, split_special_tokens=True)

    def spellable(self, text: str) -> str:
        """``text`` with the characters the base cannot spell replaced by U+FFFD."""
        return self._unspellable.sub("\ufffd", text) if self._unspellable else text

    def encode_text(self, text: str) -> list[int]:
        """Text-modality ids; the base's control tokens inside ``text`` stay plain text."""
        return self._encode(self.spellable(text))

    def decode_text(self, ids: list[int]) -> str:
        return self.base.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    # --- items --------------------------------------------------------------------------------

    def item_ids(self, item: Item) -> list[int]:
        off, tv = self.offset, self.tool
        if isinstance(item, Sym):
            return [off + tv.sym_id[item.name]]
        if isinstance(item, Text):
            return self.encode_text(item.text)
        if isinstance(item, Num):
            return [off + tv.num_id[c] for c in item.text]
        pid = tv.piece_id
        return [
            off + (tv.mark_id[p] if p in (CAP, UPPER) else pid[p])
            for p in tv.pieces.encode(item.text)
        ]

    def encode(self, items: list[Item]) -> Encoding:
        ids: list[int] = []
        modality: list[int] = []
        for it in items:
            part = self.item_ids(it)
            ids += part
            modality += [TEXT if isinstance(it, Text) else TOOL] * len(part)
        return Encoding(ids, modality)

    def decode(self, ids: list[int]) -> list[Item]:
        """Ids -> items: runs of text ids become one Text, runs of pieces one Name, runs of
        number characters one Num. Never raises (unknown ids decode as text by the base)."""
        out: list[Item] = []
        run: list[int] = []
        run_kind: str | None = None
        tv, off = self.tool, self.offset

        def flush() -> None:
            if not run:
                return
            if run_kind == "text":
                out.append(Text(self.decode_text(run)))
            elif run_kind == "num":
                out.append(Num("".join(tv.num_char[i - off] for i in run)))
            else:
                out.append(Name(tv.pieces.decode(tv.piece_of[i - off] for i in run)))
            run.clear()

        for i in ids:
            local = i - off
            kind = tv.kind(local) if 0 <= local < len(tv) else "text"
            if kind == "sym":
                flush()
                out.append(Sym(tv.symbols[local]))
                run_kind = None
                continue
            if kind != run_kind:
                flush()
                run_kind = kind
            run.append(i)
        flush()
        return out

    def surface_ids(self, local: int) -> list[int]:
        """Text ids of a tool token's surface (byte pieces map to the base's byte tokens)."""
        s = self.tool.surface(local)
        if s.startswith("<0x") and s.endswith(">"):
            tid = self.base.convert_tokens_to_ids(s)
            if isinstance(tid, int) and tid != self.base.unk_token_id:
                return [tid]
            s = bytes([int(s[3:5], 16)]).decode("latin-1")
        return self.encode_text(s) or self.encode_text(" ")

    def token_strings(self) -> list[str]:
        """The tool tokens' unique strings (for vocabularies of exported models)."""
        return list(self.tool.tokens)

    # --- files --------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.base.save_pretrained(d)
        meta = {
            "format_version": FORMAT_VERSION,
            "offset": self.offset,
            "base": self.base_name,
            "symbols": self.tool.symbols,
            "num_chars": NUM_CHARS,
            "pieces": self.tool.pieces.to_json(),
        }
        write_text(d / TOOL_TOKENIZER_FILE, json.dumps(meta, ensure_ascii=False))

    @classmethod
    def load(cls, directory: str | os.PathLike) -> DualTokenizer:
        """Raises FileNotFoundError when the directory holds no dual tokenizer and ValueError
        when it was written by a newer bslm."""
        from transformers import AutoTokenizer

        d = Path(directory)
        meta = read_tool_tokenizer(d)
        base = AutoTokenizer.from_pretrained(d)
        return cls(
            base,
            ToolVocab(PieceModel.from_json(meta["pieces"])),
            meta["offset"],
            meta.get("base", ""),
        )
