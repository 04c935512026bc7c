"""A long run's state kept in the repository, so that a machine without the run's cache
resumes it where it was instead of starting over.

Every ``keep_steps`` optimizer updates, and at the end of each stage, the SFT run writes into
its ``keep`` directory: the newest adapter packed as an artifact (``bslm pack``: LoRA in
bfloat16, tool rows as int8 changes; a few tens of MB, small enough to commit), the trainer's
schedule position (``trainer_state.json``, ``scheduler.pt``, ``rng_state.pth``), what the
finished stages recorded, and ``keep.json``: where the run was and the SHA-256 of its data.

The data is not kept: ``bslm data generate`` makes it again byte for byte from its config,
and ``keep.json`` names the command. Restored, the run resumes at the kept update with a fresh
optimizer (its moments would triple the size) and weights rounded once to bfloat16.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

from bslm.models.files import atomic_dir
from bslm.train.config import ConfigError
from bslm.train.sft import DONE, FINAL, checkpoint_step, done_stages, latest_checkpoint

KEEP_FILE = "keep.json"
ARTIFACT = "artifact"
STATE_FILES = ("trainer_state.json", "scheduler.pt", "rng_state.pth")
OPTIMIZER = "optimizer.pt"


def state_files(directory: Path) -> list[str]:
    """The trainer's state files in ``directory``: ``STATE_FILES`` and, for a run of several
    processes, each process's random state (``rng_state_<rank>.pth``)."""
    names = [n for n in STATE_FILES if (directory / n).is_file()]
    return names + sorted(p.name for p in directory.glob("rng_state_*.pth"))


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def kept_progress(keep: Path) -> tuple[int, int] | None:
    """``(stage index, update)`` of the kept state, or None when there is none."""
    path = Path(keep) / KEEP_FILE
    if not path.is_file():
        return None
    meta = json.loads(path.read_text())
    return meta["position"], meta["step"]


def keep_state(cfg, out: Path, adapter: Path, stage: int | None, step: int, data_sha: str) -> Path:
    """Write the run's state into ``cfg.keep``, replacing what was there: ``adapter`` (a
    checkpoint of ``stage`` at ``step``, or the final adapter of the last finished stage when
    ``stage`` is None) packed, the trainer's state files beside it, the finished stages'
    records."""
    from bslm.models.pack import pack

    dest = Path(cfg.keep)
    done = done_stages(cfg, out)
    position = len(done) if stage is None else cfg.stages.index(stage)
    with atomic_dir(dest, replace=True) as tmp:
        pack(adapter, tmp / ARTIFACT)
        for name in state_files(adapter) if stage is not None else ():
            shutil.copy(adapter / name, tmp / name)
        if stage is not None and (adapter / OPTIMIZER).is_file():
            _optimizer_without_moments(adapter / OPTIMIZER, tmp / OPTIMIZER)
        for s in done:
            shutil.copy(out / f"stage{s}" / DONE, tmp / f"stage{s}.{DONE}")
        meta = {
            "position": position,
            "stage": stage,
            "step": step,
            "done": done,
            "data_sha256": data_sha,
            "data_command": data_command(Path(cfg.data)),
            "config": asdict(cfg),
        }
        (tmp / KEEP_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return dest


def restore_state(cfg, out: Path, data: Path, data_sha: str, build_adapter) -> str | None:
    """Lay the kept state into ``out`` when the run there is behind it (a machine without the
    run's cache); returns a line saying what was restored, or None when nothing was.
    ``data_sha`` is the SHA-256 of ``data``; ``build_adapter(artifact, directory)`` writes a
    trainable adapter holding the artifact's weights. Raises ConfigError when the data differs
    from the data the kept run trained on."""
    keep = Path(cfg.keep)
    kept = kept_progress(keep)
    if kept is None or _run_progress(cfg, out) >= kept:
        return None
    meta = json.loads((keep / KEEP_FILE).read_text())
    if data_sha != meta["data_sha256"]:
        raise ConfigError(
            f"{data} is not the data the kept run in {keep} trained on; make it again with "
            f"`{meta['data_command']}` (or give the run another `keep`)"
        )
    for s in meta["done"]:
        sdir = out / f"stage{s}"
        sdir.mkdir(parents=True, exist_ok=True)
        shutil.copy(keep / f"stage{s}.{DONE}", sdir / DONE)
    if meta["stage"] is None:
        target = out / f"stage{meta['done'][-1]}" / FINAL
    else:
        target = out / f"stage{meta['stage']}" / f"checkpoint-{meta['step']}"
    with atomic_dir(target, replace=True) as tmp:
        build_adapter(keep / ARTIFACT, tmp)
        for name in (*state_files(keep), OPTIMIZER):
            if (keep / name).is_file():
                shutil.copy(keep / name, tmp / name)
    where = (
        "the start of the next stage"
        if meta["stage"] is None
        else (f"update {meta['step']} of stage {meta['stage']}")
    )
    return f"restored the kept state of {keep}: {where}"


def _optimizer_without_moments(src: Path, dst: Path) -> None:
    """The optimizer's state file with its parameter groups (so the trainer also loads the
    learning-rate schedule beside it) and without its per-parameter moments (twice the
    weights' size), which restart from zero."""
    import torch

    state = torch.load(src, map_location="cpu", weights_only=True)
    torch.save({"state": {}, "param_groups": state["param_groups"]}, dst)


def data_command(data: Path) -> str:
    """The ``bslm data generate`` command that makes ``data`` again, read from the manifest
    beside it (the command's defaults left out)."""
    from bslm.train.data.synthesis import DataConfig

    manifest = data.parent / "manifest.json"
    if not manifest.is_file():
        return f"the command that made {data}"
    made = json.loads(manifest.read_text())["config"]
    defaults = asdict(DataConfig())
    args = [f"{k}={v}" for k, v in made.items() if k != "progress" and defaults.get(k) != v]
    return " ".join(["bslm data generate", *args])


def _run_progress(cfg, out: Path) -> tuple[int, int]:
    """``(stage index, update)`` the run directory has reached."""
    done = done_stages(cfg, out)
    if len(done) == len(cfg.stages):
        return len(done), 1 << 30
    latest = latest_checkpoint(out / f"stage{cfg.stages[len(done)]}")
    return len(done), 0 if latest is None else checkpoint_step(latest)


def check_keep(cfg) -> None:
    """Raises ConfigError when ``cfg.keep`` holds another run's state."""
    if cfg.keep is None or kept_progress(Path(cfg.keep)) is None:
        return
    meta = json.loads((Path(cfg.keep) / KEEP_FILE).read_text())
    old = meta["config"]
    mine = asdict(cfg)
    differ = [
        k for k in ("model", "stages", "epochs", "max_len", "seed") if old[k] != _plain(mine[k])
    ]
    if differ:
        raise ConfigError(
            f"keep: {cfg.keep} holds a run with other {', '.join(differ)}; give this run "
            "another `keep` directory"
        )


def _plain(value):
    return list(value) if isinstance(value, tuple) else value
