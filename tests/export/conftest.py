"""Exports of the tiny model, written once per session."""

import pytest


@pytest.fixture(scope="session")
def tiny_dir(tiny, tmp_path_factory):
    """The tiny model as a bslm model directory (what ``bslm export`` reads)."""
    from bslm.models.build import save_model

    model, tok = tiny
    return save_model(model, tok, tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def gguf_of(tiny_dir, tmp_path_factory):
    """``gguf_of(quant)``: the tiny model exported to GGUF (each quantization once)."""
    from bslm.export.gguf import export_gguf

    out = tmp_path_factory.mktemp("gguf")
    made: dict[str, object] = {}

    def get(quant: str):
        if quant not in made:
            made[quant] = export_gguf(tiny_dir, out / f"tiny.{quant}.gguf", quant).path
        return made[quant]

    return get


@pytest.fixture(scope="session")
def reference_runs(tiny):
    """PyTorch's greedy runs on the parity prompts (one short, one past the window of 32)."""
    from bslm.export.parity import parity_prompts, reference_runs
    from bslm.models.torch_backend import TorchBackend

    model, tok = tiny
    prompts = parity_prompts(tok, model.config.sliding_window, 24)
    return reference_runs(TorchBackend(model, tok), prompts, 24)
