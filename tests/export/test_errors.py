"""Bad input to ``bslm export`` and to the backends: one line, exit status 2, nothing left."""

import json
import shutil

import pytest

from bslm.cli.main import main


def _one_line_error(capsys) -> str:
    """The error line (after any progress lines), and no traceback."""
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in lines if line.startswith("bslm: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    assert not any("Traceback" in line for line in lines)
    return errors[0]


def test_a_directory_that_is_not_a_model(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hi")
    assert main(["export", str(tmp_path), "--format", "gguf", "-o", str(tmp_path / "m.gguf")]) == 2
    assert "not a bslm model directory" in _one_line_error(capsys)
    assert main(["export", str(tmp_path / "missing"), "--format", "gguf"]) == 2
    assert "does not exist" in _one_line_error(capsys)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--format", "gguf", "--quant", "q3_x"], "unknown quantization 'q3_x'"),
        (["--format", "onnx", "--quant", "q8_0"], "unknown quantization 'q8_0' for onnx"),
        (["--format", "tflite"], "unknown format 'tflite'"),
        (["--format", "gguf", "--quant", "f16", "--embedding", "f16"], "needs --quant q8_0"),
    ],
)
def test_unknown_quant_or_format(tiny_dir, tmp_path, capsys, args, words):
    assert main(["export", str(tiny_dir), *args, "-o", str(tmp_path / "out")]) == 2
    assert words in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_architecture_leaves_nothing(tiny, tmp_path, capsys):
    from transformers import GPT2Config, GPT2LMHeadModel

    from bslm.models.build import save_model

    _, tok = tiny
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=len(tok)))
    model_dir = save_model(gpt2, tok, tmp_path / "gpt2")
    out = tmp_path / "out"
    out.mkdir()
    for fmt in ("gguf", "onnx"):
        assert main(["export", str(model_dir), "--format", fmt, "-o", str(out / "m")]) == 2
        assert "unsupported architecture 'gpt2'" in _one_line_error(capsys)
    assert list(out.iterdir()) == []


def test_existing_target_needs_force(tiny_dir, tmp_path, capsys):
    target = tmp_path / "m.gguf"
    target.write_text("keep me")
    assert main(["export", str(tiny_dir), "--quant", "f16", "-o", str(target)]) == 2
    assert "already exists (use --force" in _one_line_error(capsys)
    assert target.read_text() == "keep me"
    assert main(["export", str(tiny_dir), "--quant", "f16", "-o", str(target), "--force"]) == 0
    out = capsys.readouterr().out
    assert "tensors" in out and "MB" in out
    assert target.read_bytes()[:4] == b"GGUF"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.gguf"]


def test_a_failure_midway_leaves_no_partial_file(tiny_dir, tmp_path, monkeypatch, capsys):
    import bslm.export.gguf as gguf_export
    from bslm.export.metadata import ExportError

    def broken(src, dst, quant, embedding=None):
        dst.write_bytes(b"GGUF half")
        raise ExportError("llama.cpp could not quantize")

    monkeypatch.setattr(gguf_export, "quantize", broken)
    assert main(["export", str(tiny_dir), "--quant", "q8_0", "-o", str(tmp_path / "m.gguf")]) == 2
    assert "could not quantize" in _one_line_error(capsys)
    assert list(tmp_path.iterdir()) == []


def test_truncated_corrupt_or_foreign_gguf_at_load(gguf_of, tmp_path):
    from bslm.runtime.backends import BackendError, open_backend

    good = gguf_of("f16").read_bytes()
    cases = {
        "truncated.gguf": good[: len(good) // 2],
        "garbage.gguf": b"not a model at all" * 100,
        "header_only.gguf": good[:64],
        "empty.gguf": b"",
        "magic_only.gguf": b"GGUF",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(BackendError) as e:
            open_backend(tmp_path / name)
        assert "\n" not in str(e.value) and name in str(e.value)
    with pytest.raises(BackendError, match="does not exist"):
        open_backend(tmp_path / "missing.gguf")


def test_a_gguf_without_bslm_metadata_is_refused(tiny, tmp_path):
    """A stock GGUF (here: ours with the bslm keys dropped) opens in llama.cpp but is not a
    bslm model."""
    import gguf

    from bslm.export.gguf import write_gguf
    from bslm.runtime.backends import BackendError, open_backend

    model, tok = tiny
    path = tmp_path / "plain.gguf"
    write_gguf(model, tok, path, "f16")
    stripped = tmp_path / "stripped.gguf"
    reader = gguf.GGUFReader(path)
    w = gguf.GGUFWriter(stripped, "gemma3")
    for key, field in reader.fields.items():
        if key.startswith(("bslm.", "GGUF.", "general.architecture")):
            continue
        value = field.contents()
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, value, vtype, sub_type=sub)
    for t in reader.tensors:
        w.add_tensor(
            t.name, t.data, raw_shape=list(reversed(t.shape.tolist())), raw_dtype=t.tensor_type
        )
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(BackendError, match="no bslm metadata"):
        open_backend(stripped)


def test_onnx_directory_errors(tmp_path):
    from bslm.runtime.backends import BackendError
    from bslm.runtime.backends.onnx import OnnxBackend

    with pytest.raises(BackendError, match="bslm.json"):
        OnnxBackend.open(tmp_path)
    (tmp_path / "bslm.json").write_text(json.dumps({"bslm.format_version": 99}))
    with pytest.raises(BackendError, match="upgrade bslm"):
        OnnxBackend.open(tmp_path)
    shutil.rmtree(tmp_path)
    with pytest.raises(BackendError, match="not a directory"):
        OnnxBackend.open(tmp_path)
