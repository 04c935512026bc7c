"""Shared fixtures: the real dual tokenizer (SmolLM2's text tokenizer + the tool vocabulary)
and a tiny random Gemma 3 model built on it in seconds."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "bslm", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", parent=settings.get_profile("bslm"), max_examples=3000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bslm"))


@pytest.fixture(scope="session")
def tok():
    from bslm.models.embeddings import dual_tokenizer

    return dual_tokenizer("smollm2-135m")


@pytest.fixture(scope="session")
def tiny(tok):
    from bslm.models.tiny import build_tiny

    return build_tiny(tok=tok)


def pytest_collection_modifyitems(config, items):
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
