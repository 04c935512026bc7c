"""Model directories and the default model's files: the default GGUF is current only for the
shipped artifact; files and directories are written whole or not at all, beside their target."""

import json

import pytest


@pytest.fixture
def tiny_dir(tmp_path):
    """A model directory as far as its build record goes."""
    d = tmp_path / "model"
    d.mkdir()
    return d


def test_the_default_gguf_is_current_only_for_the_shipped_artifact(tiny_dir, tmp_path, monkeypatch):
    from bslm.models.files import BUILD_FILE, build_record, shipped_digest
    from bslm.models.files import gguf_is_current as is_current

    monkeypatch.setenv("BSLM_CACHE", str(tmp_path / "cache"))
    (tiny_dir / BUILD_FILE).write_text(json.dumps({"base": "tiny", "artifact": shipped_digest()}))
    assert is_current(build_record(tiny_dir))
    (tiny_dir / BUILD_FILE).write_text(json.dumps({"base": "tiny", "artifact": "0" * 16}))
    assert not is_current(build_record(tiny_dir))
    assert not is_current("not json") and not is_current(None)
    # a built default model decides by its build, wherever the cache lives (moved, linked)
    built = tmp_path / "cache" / "models" / "default"
    built.mkdir(parents=True)
    (built / BUILD_FILE).write_text(json.dumps({"base": "tiny", "artifact": shipped_digest()}))
    moved = build_record(built).replace(str(built), "/elsewhere/models/default")
    assert is_current(moved)
    (built / BUILD_FILE).write_text(json.dumps({"base": "other", "artifact": shipped_digest()}))
    assert not is_current(moved)


def test_atomic_writes_leave_the_old_content_or_the_new_one(tmp_path):
    from bslm.models.files import atomic_dir, atomic_file, write_text

    target = write_text(tmp_path / "a" / "f.txt", "old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        assert tmp.parent == target.parent  # same filesystem: the rename is atomic
        tmp.write_text("half")
        raise RuntimeError
    assert target.read_text() == "old" and sorted(p.name for p in target.parent.iterdir()) == [
        "f.txt"
    ]
    d = tmp_path / "d"
    with atomic_dir(d) as tmp:
        (tmp / "x").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(d, replace=True) as tmp:
        (tmp / "y").write_text("2")
        raise RuntimeError
    assert [p.name for p in d.iterdir()] == ["x"]
    with atomic_dir(d, replace=True) as tmp:
        (tmp / "y").write_text("2")
    assert [p.name for p in d.iterdir()] == ["y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "d"]
