"""A base's text tokenizer read with the ``tokenizers`` library alone: what the runtime needs
(encode, decode, special ids, the files), without transformers or PyTorch.

It reads the files a Hugging Face tokenizer saves (``tokenizer.json``, ``tokenizer_config.json``,
``special_tokens_map.json``) and answers the calls ``DualTokenizer`` makes of its base exactly as
transformers' fast tokenizer does (a test compares them on every base).

    tok = TextTokenizer.from_files({"tokenizer.json": ..., "tokenizer_config.json": ...})
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

SPECIAL_ROLES = ("bos", "eos", "unk", "pad", "mask", "sep", "cls")


def _content(value) -> str | None:
    if isinstance(value, dict):
        return value.get("content")
    return value if isinstance(value, str) else None


class TextTokenizer:
    """The subset of a transformers fast tokenizer that bslm's runtime uses."""

    def __init__(self, files: dict[str, str]):
        from tokenizers import Tokenizer

        if "tokenizer.json" not in files:
            raise ValueError("a text tokenizer needs its tokenizer.json")
        # kept as UTF-8 (a vocabulary's JSON as a str may take four bytes a character)
        self._files = {name: text.encode("utf-8") for name, text in files.items()}
        self._tok = Tokenizer.from_str(files["tokenizer.json"])
        # one tokenizer for both ways of encoding (control-token text split or not): the
        # switch and the encoding happen under this lock
        self._lock = threading.Lock()
        cfg = json.loads(files.get("tokenizer_config.json") or "{}")
        smap = json.loads(files.get("special_tokens_map.json") or "{}")
        for role in SPECIAL_ROLES:
            name = _content(cfg.get(f"{role}_token")) or _content(smap.get(f"{role}_token"))
            setattr(self, f"{role}_token", name)
            setattr(self, f"{role}_token_id", self._tok.token_to_id(name) if name else None)
        extra = cfg.get("extra_special_tokens") or cfg.get("additional_special_tokens") or []
        extra = extra.values() if isinstance(extra, dict) else extra
        extra_ids = [self._tok.token_to_id(_content(t) or "") for t in extra]
        role_ids = [getattr(self, f"{r}_token_id") for r in SPECIAL_ROLES]
        self.all_special_ids = sorted({i for i in role_ids + extra_ids if i is not None})
        self.add_bos = self._adds_bos()

    @classmethod
    def from_dir(cls, directory: str | os.PathLike) -> TextTokenizer:
        d = Path(directory)
        names = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
        return cls({n: (d / n).read_text("utf-8") for n in names if (d / n).is_file()})

    @property
    def files(self) -> dict[str, str]:
        return {name: data.decode("utf-8") for name, data in self._files.items()}

    def _encode(self, text: str, add_special_tokens: bool, split_special_tokens: bool) -> list[int]:
        with self._lock:
            self._tok.encode_special_tokens = split_special_tokens
            return self._tok.encode(text, add_special_tokens=add_special_tokens).ids

    def _adds_bos(self) -> bool:
        probe = self._encode("a", True, False)
        return bool(probe) and probe[0] == self.bos_token_id

    def __len__(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)

    def __call__(self, text: str, add_special_tokens: bool = True) -> dict:
        return {"input_ids": self._encode(text, add_special_tokens, False)}

    def encode(
        self, text: str, add_special_tokens: bool = False, split_special_tokens: bool = True
    ) -> list[int]:
        return self._encode(text, add_special_tokens, split_special_tokens)

    def decode(
        self, ids, skip_special_tokens: bool = False, clean_up_tokenization_spaces: bool = False
    ) -> str:
        if clean_up_tokenization_spaces:
            raise ValueError("bslm never cleans up tokenization spaces")
        return self._tok.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def convert_tokens_to_ids(self, token: str) -> int | None:
        tid = self._tok.token_to_id(token)
        return tid if tid is not None else self.unk_token_id

    def convert_ids_to_tokens(self, i: int) -> str | None:
        return self._tok.id_to_token(i)

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        for name, data in self._files.items():
            (d / name).write_bytes(data)
