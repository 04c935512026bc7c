"""ONNX export of the tiny model (slow: torch.export takes tens of seconds on two cores)."""

import shutil

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def onnx_dir(tiny_dir, tmp_path_factory):
    from bslm.export.onnx import export_onnx

    return export_onnx(tiny_dir, tmp_path_factory.mktemp("onnx") / "tiny.onnx").path


@pytest.fixture(scope="module")
def int8_dir(onnx_dir, tmp_path_factory):
    """int8 from the fp32 graphs, the way ``export_onnx --quant int8`` makes it."""
    from bslm.export.metadata import read_onnx_metadata
    from bslm.export.onnx import write_graphs

    out = tmp_path_factory.mktemp("int8") / "tiny.int8.onnx"
    out.mkdir()
    meta = read_onnx_metadata(onnx_dir) | {"onnx.quantization": "int8"}
    write_graphs(onnx_dir, out, "int8", meta)
    shutil.copy(onnx_dir / "bslm.json", out / "bslm.json")
    return out


def test_runs_in_plain_onnxruntime(onnx_dir, tiny):
    import onnx
    import onnxruntime as ort

    model, tok = tiny
    ids = np.array([tok.encode_text("Hello there, general")], dtype=np.int64)
    prefill = ort.InferenceSession(str(onnx_dir / "prefill.onnx"))
    feed = {"input_ids": ids, "position_ids": np.arange(ids.shape[1])[None]}
    for i in prefill.get_inputs():
        feed.setdefault(i.name, np.array(model.config.sliding_window, dtype=np.int64))
    logits = prefill.run(["logits"], feed)[0]
    assert logits.shape == (1, 1, len(tok))  # the last position only
    props = {
        p.key: p.value
        for p in onnx.load(str(onnx_dir / "decode.onnx"), load_external_data=False).metadata_props
    }
    assert props["bslm.tool_offset"] == str(tok.offset)
    assert "bslm.text_tokenizer" not in props  # too large: it lives in bslm.json


@pytest.mark.parametrize("which, max_abs, top1", [("fp32", 1e-3, 1.0), ("int8", 0.2, 0.9)])
def test_parity_with_pytorch_past_the_window(
    onnx_dir, int8_dir, reference_runs, which, max_abs, top1
):
    from bslm.export.parity import compare
    from bslm.runtime.backends import open_backend

    backend = open_backend(onnx_dir if which == "fp32" else int8_dir)
    assert backend.name == "onnx"
    stats = compare(backend, reference_runs)
    assert stats.max_abs <= max_abs
    assert stats.top1 >= top1


def test_rewind_and_tokenizer(onnx_dir, tiny):
    from bslm.runtime.backends import open_backend

    _, tok = tiny
    backend = open_backend(onnx_dir)
    assert backend.tokenizer.offset == tok.offset and backend.tokenizer.eot_id == tok.eot_id
    ids = tok.encode_text("The lighthouse keeper counted the steps to the lamp room. " * 4)
    backend.prime(ids)
    backend.rewind(10)
    again = backend.eval(ids[10:40])
    backend.reset()
    assert np.abs(again - backend.prime(ids[:40])).max() < 1e-5


def test_both_graphs_read_one_weights_file(onnx_dir):
    import onnx

    files = sorted(p.name for p in onnx_dir.iterdir())
    assert files == ["bslm.json", "decode.onnx", "prefill.onnx", "weights.data"]
    locations = set()
    for name in ("prefill", "decode"):
        graph = onnx.load(str(onnx_dir / f"{name}.onnx"), load_external_data=False)
        for t in graph.graph.initializer:
            if t.data_location == onnx.TensorProto.EXTERNAL:
                entry = {e.key: e.value for e in t.external_data}
                locations.add((entry["location"], int(entry["offset"]) % 4096))
    assert locations == {("weights.data", 0)}  # shared and page-aligned
    n_params = sum(p.numel() for p in _tiny_params())
    # one fp32 copy of the weights, not one per graph
    assert (onnx_dir / "weights.data").stat().st_size < 1.1 * 4 * n_params


def _tiny_params():
    from bslm.models.tiny import build_tiny

    return list(build_tiny()[0].parameters())


def test_int8_quantizes_every_matrix_and_the_tied_one_once(onnx_dir, int8_dir):
    import onnx

    graph = onnx.load(str(int8_dir / "decode.onnx"), load_external_data=False).graph
    assert {"MatMulNBits", "GatherBlockQuantized"} <= {n.op_type for n in graph.node}
    scales = {
        n.input[2] for n in graph.node if n.op_type in ("MatMulNBits", "GatherBlockQuantized")
    }
    float_matrices = [
        t.name
        for t in graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 2 and t.name not in scales
    ]
    assert float_matrices == []  # no weight matrix left in fp32, the tied one included
    fp32 = (onnx_dir / "weights.data").stat().st_size
    assert (int8_dir / "weights.data").stat().st_size < 0.35 * fp32
