"""Identifier pieces: any name round-trips; common names are short."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bslm.models.identifiers import CAP, UPPER, PieceModel, split_chunks
from bslm.models.tokenizer import default_pieces

PIECES = default_pieces()


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_name_round_trips(name):
    assert PieceModel.decode(PIECES.encode(name)) == name


@pytest.mark.parametrize("name", ["Upper", "upper", "Cap", "CAP", "UPPER_CAP", "<0x41>", "<cap>"])
def test_names_that_look_like_marks_or_bytes(name):
    assert PieceModel.decode(PIECES.encode(name)) == name


@given(st.from_regex(r"[a-zA-Z][a-zA-Z0-9_.\-]{0,40}", fullmatch=True))
def test_identifiers_never_need_bytes(name):
    assert not any(p.startswith("<0x") for p in PIECES.encode(name))


@pytest.mark.parametrize(
    "name,pieces",
    [
        ("get_current_weather", ["get_", "current_", "weather"]),
        ("getCurrentWeather", ["get", CAP, "current", CAP, "weather"]),
        ("HTTPServer", [UPPER, "http", CAP, "server"]),
        ("send_email", ["send_", "email"]),
        ("max_results", ["max_", "results"]),
    ],
)
def test_canonical_pieces(name, pieces):
    assert PIECES.encode(name) == pieces


@pytest.mark.parametrize(
    "name,chunks",
    [
        ("getURL", [(None, "get"), (UPPER, "url")]),
        ("X1", [(CAP, "x1")]),
        ("a_B_c", [(None, "a_"), (CAP, "b_c")]),
        ("ÉtéX", [(None, "Été"), (CAP, "x")]),
    ],
)
def test_case_chunks(name, chunks):
    assert split_chunks(name) == chunks


def test_decode_never_raises_on_stray_marks_and_bad_bytes():
    assert PieceModel.decode([CAP, UPPER, "<0xC3>", "a"]) == "\ufffda"
