"""The shipped artifact: pack an SFT adapter small, rebuild the same model from it."""

import json

import torch

from bslm.models.artifact import build_from_artifact, digest, pack
from bslm.models.build import load_model


def test_pack_and_rebuild_match_the_adapter(tmp_path):
    from bslm.train.sft import SFTConfig, train

    data = tmp_path / "train.jsonl"
    rec = {
        "stage": 3,
        "tools": [],
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello there"},
        ],
    }
    data.write_text("\n".join(json.dumps(rec) for _ in range(4)))
    cfg = SFTConfig(model="tiny", data=str(data), out=str(tmp_path / "run"), stages=(3,), max_steps=(3,),
                    batch_size=2, use_cpu=True, lr=0.05)  # fmt: skip
    final = train(cfg)
    art = pack(final, tmp_path / "art")
    meta = json.loads((art / "artifact.json").read_text())
    assert meta["tool_rows"] == len(load_model(final)[1].tool)
    size = sum(p.stat().st_size for p in art.iterdir() if p.suffix == ".safetensors")
    adapter_size = (final / "adapter_model.safetensors").stat().st_size
    assert size < adapter_size / 3
    merged, tok = load_model(final)
    rebuilt, rtok = build_from_artifact(art)
    assert rtok.offset == tok.offset and len(rtok) == len(tok)
    ids = torch.tensor([tok.encode_text("hello there") + [tok.eot_id]])
    with torch.no_grad():
        a, b = merged(ids).logits, rebuilt(ids).logits
    assert (a - b).abs().max() < 0.1  # bfloat16 LoRA, int8 row changes
    assert (a.argmax(-1) == b.argmax(-1)).all()
    assert digest(art) == digest(art) and len(digest(art)) == 16
