"""The CLI tests never write to the user's data directory (pins, audit log)."""

import pytest


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("BSLM_DATA", str(tmp_path_factory.mktemp("data")))
