"""Supervised fine-tuning in three stages (tool selection -> arguments -> joint) with TRL.

The loss covers only what the model writes (its turns), and weighs tool-modality and
text-modality tokens per stage (selection-heavy first, then balanced). LoRA on every linear
layer plus the tool-token embedding rows (PEFT ``trainable_token_indices``), or full
fine-tuning. Every stage checkpoints; a rerun resumes where the last one stopped.

    bslm train sft --config configs/sft_tiny.yaml [key=value ...]
    accelerate launch -m bslm.train.sft --config configs/sft_gemma.yaml   # several GPUs
"""

from __future__ import annotations

import functools
import json
import os
import random
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bslm.models.chat import encode_chat
from bslm.models.files import atomic_file
from bslm.models.tokenizer import TOOL
from bslm.train.config import ConfigError, bfloat16, native_bfloat16

FINAL = "final"
DONE = "done.json"


@dataclass(frozen=True)
class SFTConfig:
    model: str = field(
        default="gemma-3-270m@48k",
        metadata={"help": "bslm model dir, base name, checkpoint dir, or 'tiny'"},
    )
    data: str = field(
        default="data/train.jsonl",
        metadata={"help": "JSONL of records (train/data/synthesis.py format)"},
    )
    out: str = field(
        default="runs/sft", metadata={"help": "output directory (checkpoints, logs, final adapter)"}
    )
    stages: tuple[int, ...] = field(
        default=(1, 2, 3), metadata={"help": "curriculum stages to run, in order"}
    )
    epochs: tuple[float, ...] = field(
        default=(1.0, 1.0, 1.0), metadata={"help": "epochs per stage"}
    )
    max_steps: tuple[int, ...] = field(
        default=(-1, -1, -1), metadata={"help": "optimizer steps per stage (-1: by epochs)"}
    )
    tool_weight: tuple[float, ...] = field(
        default=(2.0, 1.5, 1.0), metadata={"help": "loss weight of tool-modality tokens per stage"}
    )
    text_weight: tuple[float, ...] = field(
        default=(0.5, 1.0, 1.0), metadata={"help": "loss weight of text-modality tokens per stage"}
    )
    max_examples: int = field(default=-1, metadata={"help": "examples per stage at most (-1: all)"})
    lora: bool = field(
        default=True, metadata={"help": "LoRA + tool-token rows (False: full fine-tuning)"}
    )
    init_adapter: str | None = field(
        default=None,
        metadata={
            "help": "LoRA directory of an earlier run on the same base, or a packed artifact "
            "(models/default), to continue from"
        },
    )
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout"})
    lr: float = field(default=2e-4, metadata={"help": "peak learning rate"})
    batch_size: int = field(default=4, metadata={"help": "examples per device step"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps"})
    max_len: int = field(default=512, metadata={"help": "longer examples are skipped (never cut)"})
    warmup_ratio: float = field(default=0.03, metadata={"help": "warm-up share of each stage"})
    seed: int = field(default=0, metadata={"help": "random seed"})
    logging_steps: int = field(default=10, metadata={"help": "log every N steps"})
    save_steps: int = field(default=200, metadata={"help": "checkpoint every N steps"})
    bf16: bool | str = field(
        default=False,
        metadata={
            "help": "bfloat16 mixed precision (a GPU, or a CPU with bfloat16 matmul); under "
            "LoRA the frozen linear weights are stored in bfloat16. `auto`: where the machine "
            "multiplies in bfloat16 natively, else fp32"
        },
    )
    use_cpu: bool = field(
        default=False, metadata={"help": "force the CPU even when a GPU is there"}
    )
    keep: str | None = field(
        default=None,
        metadata={
            "help": "directory in the repository for the run's kept state (train/keep.py): "
            "written every keep_steps updates, restored on a machine without the run"
        },
    )
    keep_steps: int = field(
        default=50, metadata={"help": "optimizer updates between two kept states"}
    )
    processes: int = field(
        default=1,
        metadata={
            "help": "CPU processes training side by side, each on its share of the examples "
            "and the cores (data parallel); an update stays batch_size x grad_accum examples, "
            "so grad_accum must be a multiple of it"
        },
    )
    balance: bool = field(
        default=True,
        metadata={
            "help": "with several processes, share each update's examples among them by length "
            "(the same updates; no process waits long for the others)"
        },
    )


def stage_value(values: tuple, cfg: SFTConfig, stage: int):
    """The per-stage setting for ``stage`` (the last one repeats)."""
    i = cfg.stages.index(stage)
    return values[min(i, len(values) - 1)]


def encode_records(tok, records: list[dict], max_len: int) -> tuple[list[dict], int]:
    """Token features of each record (ids, learn mask, modality); returns them and how many
    records were skipped for being longer than ``max_len``."""
    feats, skipped = [], 0
    for rec in records:
        enc = encode_chat(tok, rec["messages"], rec.get("tools"))
        if len(enc) > max_len or not any(enc.learn):
            skipped += 1
            continue
        feats.append({"input_ids": enc.ids, "learn": enc.learn, "modality": enc.modality})
    return feats, skipped


class WeightedCollator:
    """Pads a batch; labels are -100 outside the model's turns; ``weights`` give each learned
    token its modality's loss weight."""

    def __init__(self, pad_id: int, tool_weight: float, text_weight: float):
        self.pad_id, self.tool_weight, self.text_weight = pad_id, tool_weight, text_weight

    def __call__(self, batch: list[dict]) -> dict:
        n = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), n), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), n), dtype=torch.long)
        labels = torch.full((len(batch), n), -100, dtype=torch.long)
        weights = torch.zeros((len(batch), n), dtype=torch.float)
        for i, b in enumerate(batch):
            k = len(b["input_ids"])
            row = torch.tensor(b["input_ids"], dtype=torch.long)
            learn = torch.tensor(b["learn"], dtype=torch.bool)
            tool = torch.tensor(b["modality"]) == TOOL
            ids[i, :k], mask[i, :k] = row, 1
            labels[i, :k] = torch.where(learn, row, torch.tensor(-100))
            w = torch.where(tool, self.tool_weight, self.text_weight) * learn
            weights[i, :k] = w
        return {"input_ids": ids, "attention_mask": mask, "labels": labels, "weights": weights}


def weighted_loss(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Next-token cross-entropy, each target weighted, normalised by the total weight.
    ``logits[:, i]`` predicts ``labels[:, i]`` (already shifted)."""
    ce = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]),
        labels.reshape(-1),
        ignore_index=-100,
        reduction="none",
    )
    w = weights.reshape(-1)
    return (ce * w).sum() / w.sum().clamp_min(1e-8)


def learned_positions(weights: torch.Tensor) -> torch.Tensor:
    """Positions whose next token is learned in any row: the only logits the loss needs (the
    vocabulary projection is most of a small model's compute)."""
    return (weights[:, 1:] > 0).any(0).nonzero().squeeze(1)


def batch_loss(model, batch: dict) -> torch.Tensor:
    keep = learned_positions(batch["weights"])
    out = model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=keep
    )
    return weighted_loss(
        out.logits, batch["labels"][:, 1:][:, keep], batch["weights"][:, 1:][:, keep]
    )


def prepare_model(cfg: SFTConfig):
    """(model, dual tokenizer) to train, before any adapter."""
    from bslm.models.build import fresh_model

    return fresh_model(cfg.model, cfg.seed)


def new_adapter(
    model, tok, r: int = 16, alpha: int = 32, dropout: float = 0.05, tool_rows: bool = True
):
    """``model`` with a new LoRA adapter on every linear layer (and the tool-token rows
    trainable, with ``tool_rows``)."""
    from peft import LoraConfig, get_peft_model

    rows = {"trainable_token_indices": list(range(tok.offset, len(tok)))} if tool_rows else {}
    lora = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules="all-linear",
        ensure_weight_tying=True,
        task_type="CAUSAL_LM",
        **rows,
    )
    return get_peft_model(model, lora)


def adapter_from_artifact(model, tok, artifact: Path, dropout: float = 0.05):
    """``model`` with a trainable LoRA adapter holding a packed artifact's weights (its LoRA,
    its tool rows moved to ``tok``'s offset): training continues a shipped model. Raises
    ValueError when the artifact does not fit the model."""
    from peft import get_peft_model_state_dict, set_peft_model_state_dict
    from safetensors.torch import load_file

    from bslm.models.artifact import tool_row_changes
    from bslm.models.files import LORA, META

    meta = json.loads((artifact / META).read_text())
    lora = meta["lora"]
    if sorted(lora["target_modules"]) != sorted(_linear_names(model)):
        raise ConfigError(f"{artifact}: its LoRA targets other layers than this model's")
    peft = new_adapter(model, tok, lora["r"], lora["lora_alpha"], dropout)
    state = get_peft_model_state_dict(peft)
    packed = {k.replace(".default.", "."): v for k, v in load_file(artifact / LORA).items()}
    if sorted(k for k in state if "lora_" in k) != sorted(packed):
        raise ConfigError(f"{artifact}: LoRA weights do not fit the model")
    state.update({k: v.float() for k, v in packed.items()})
    if (changes := tool_row_changes(artifact)) is not None:
        local, change, _ = changes
        for k in state:
            if k.endswith("trainable_tokens_delta"):
                state[k] = state[k].clone()
                state[k][local] += change.to(state[k].dtype)
    set_peft_model_state_dict(peft, state)
    return peft


def _linear_names(model) -> set[str]:
    import torch

    return {
        name.rsplit(".", 1)[-1]
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and "lm_head" not in name
    }


def _adapt(model, tok, cfg: SFTConfig, resume_from: Path | None):
    if not cfg.lora:
        return model
    from peft import PeftModel

    if resume_from is not None and (resume_from / "artifact.json").is_file():
        return adapter_from_artifact(model, tok, resume_from, cfg.lora_dropout)
    if resume_from is not None:
        return PeftModel.from_pretrained(model, resume_from, is_trainable=True)
    return new_adapter(model, tok, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)


def frozen_in_bfloat16(model) -> int:
    """Store the frozen weights of ``model``'s linear layers in bfloat16 and return how many
    were cast. Under autocast every matmul runs in bfloat16 anyway; stored so, the frozen
    matrices are not cast again at every step. What trains (LoRA, the tool rows), the norms
    and the embedding (whose rows feed the residual stream) stay in float32."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    n = 0
    for module in model.modules():
        w = getattr(module, "weight", None)
        if (
            isinstance(module, torch.nn.Linear)
            and isinstance(w, torch.nn.Parameter)
            and not w.requires_grad
            and w.dtype == torch.float32
            and id(w) not in embeddings
        ):
            w.data = w.data.to(torch.bfloat16)
            n += 1
    return n


def tool_rows_apart(model) -> int:
    """Make the trained tool rows cheap: PEFT's ``TrainableTokensLayer`` writes them into a
    copy of the whole (vocabulary x width) weight at every forward pass, once for the input
    embedding and again for the tied output layer, and its backward pass fills a gradient for
    every row of that copy; on the 48k vocabulary that is a third of a CPU step. Where the
    trained rows are the weight's last ones (the tool tokens), the embedding looks the two
    parts up apart and the output layer multiplies them apart, concatenating the logits: the
    same values and the same gradients, with no copy of the weight. Returns how many layers
    changed."""
    import types

    from peft.tuners.trainable_tokens.layer import TrainableTokensLayer

    n = 0
    for m in model.modules():
        if not isinstance(m, TrainableTokensLayer):
            continue
        rows = {a: list(i) for a, i in m.token_indices.items()}
        total = m.base_layer.weight.shape[0]
        if all(r == list(range(total - len(r), total)) for r in rows.values()):
            m.forward = types.MethodType(_tail_rows_forward, m)
            n += 1
    return n


def _tail_rows_forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    active = self.active_adapters
    if self.disable_adapters or self.merged or len(active) != 1:
        return type(self).forward(self, x, *args, **kwargs)
    base = self.base_layer
    delta = self.trainable_tokens_delta[active[0]]
    weight = base.weight
    start = weight.shape[0] - delta.shape[0]
    if isinstance(base, torch.nn.Embedding):
        out = F.embedding(x, weight, padding_idx=base.padding_idx)
        tool = (x >= start).unsqueeze(-1)
        rows = F.embedding((x - start).clamp(min=0), delta)
        out = torch.where(tool, rows.to(out.dtype), out)
        scale = self._get_embed_scale()
        return out if scale is None else out * scale.to(out.dtype)
    if not isinstance(base, torch.nn.Linear):
        return type(self).forward(self, x, *args, **kwargs)
    known = weight[:start]
    if torch.is_autocast_enabled(x.device.type):  # the frozen rows cast once, not every step
        dtype = torch.get_autocast_dtype(x.device.type)
        key = (weight.data_ptr(), weight._version, start, dtype)
        cached = getattr(self, "_known_rows", None)
        if cached is None or cached[0] != key:
            with torch.no_grad():
                cached = self._known_rows = (key, known.detach().to(dtype))
        known = cached[1]
    return torch.cat([F.linear(x, known), F.linear(x, delta)], dim=-1)


def balanced_sampler(lengths: list[int], processes: int, accum: int, rank: int, seed: int):
    """This process's examples, one per step, for processes side by side: each update takes
    the next ``processes x accum`` examples of the epoch's shuffled order (as the plain sampler
    does), then shares them out so that every process gets ``accum`` of them and as even a
    share of the work as can be found; all compute the same plan, nothing is exchanged.
    transformers' ``BatchRebalanceSampler`` (the dataloader plumbing, epochs, the tail) with
    its assignment replaced: with one example per step it deals the longest to the same
    process every time."""
    from transformers.trainer_pt_utils import BatchRebalanceSampler

    class BalancedSampler(BatchRebalanceSampler):
        def _assign(self, indices, lengths):
            shares = balanced_shares(
                [self._cost(1, n) for n in lengths], self.dp_size, self.grad_accum
            )
            return [[[indices[i]] for i in share] for share in shares]

    return BalancedSampler(
        lengths, processes * accum, processes, accum, seed=seed, rank=rank, drop_last=False
    )


@functools.cache
def _combinations(n: int, size: int) -> np.ndarray:
    import itertools

    return np.array(list(itertools.combinations(range(n), size)), dtype=np.intp)


def balanced_shares(costs: list[float], parts: int, size: int) -> list[list[int]]:
    """``parts`` lists of ``size`` positions of ``costs`` (their length is parts x size), their
    largest sum as small as possible: the exact split for two small shares, else a greedy deal
    (the largest first, to the lightest share with room) improved by pairwise swaps."""
    import math

    n = len(costs)
    if parts == 2 and math.comb(n, size) <= 20_000:
        # every first share at once, its sum added left to right (as ``sum`` would): the
        # first of the best in ``itertools.combinations`` order, as ``min`` would pick it
        combos = _combinations(n, size)
        c = np.asarray(costs, dtype=np.float64)[combos]
        s = c[:, 0].copy()
        for j in range(1, size):
            s += c[:, j]
        first = combos[int(np.argmin(np.maximum(s, sum(costs) - s)))].tolist()
        return [first, [i for i in range(n) if i not in first]]
    shares: list[list[int]] = [[] for _ in range(parts)]
    sums = [0.0] * parts
    for i in sorted(range(n), key=lambda i: (-costs[i], i)):
        p = min((q for q in range(parts) if len(shares[q]) < size), key=lambda q: (sums[q], q))
        shares[p].append(i)
        sums[p] += costs[i]
    improved = True
    while improved:  # each swap lowers the heaviest share without raising another above it
        improved = False
        hi = max(range(parts), key=lambda q: (sums[q], -q))
        swaps = (
            (max(sums[hi] - d, sums[lo] + d), lo, a, b, d)
            for lo in range(parts)
            for a in shares[hi]
            for b in shares[lo]
            if (d := costs[a] - costs[b]) > 0 and max(sums[hi] - d, sums[lo] + d) < sums[hi]
        )
        best = min(swaps, default=None)
        if best is not None:
            _, lo, a, b, d = best
            shares[hi][shares[hi].index(a)], shares[lo][shares[lo].index(b)] = b, a
            sums[hi], sums[lo] = sums[hi] - d, sums[lo] + d
            improved = True
    return shares


def _trainer_class(balance: bool = False):
    from trl import SFTTrainer

    class WeightedSFTTrainer(SFTTrainer):
        # batch_loss is a mean over one batch's learned tokens: the trainer divides it by the
        # accumulation steps, so an update's gradient (and logged loss) is the mean over its
        # examples, however many processes share them
        loss_is_scaled_for_ga = False

        def _get_train_sampler(self, train_dataset=None):
            args = self.args
            if not (balance and args.world_size > 1 and args.train_batch_size == 1):
                return super()._get_train_sampler(train_dataset)
            dataset = self.train_dataset if train_dataset is None else train_dataset
            return balanced_sampler(
                [len(ids) for ids in dataset["input_ids"]],
                args.world_size,
                args.gradient_accumulation_steps,
                args.process_index,
                args.seed if args.data_seed is None else args.data_seed,  # as the plain one
            )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = batch_loss(model, inputs)
            return (loss, None) if return_outputs else loss

        def _save(self, output_dir=None, state_dict=None):
            # PEFT saves the whole embedding of a model whose vocabulary differs from its
            # base's config (the tool rows); the trained rows are in the adapter already
            from peft import PeftModel

            if not isinstance(self.model, PeftModel):
                return super()._save(output_dir, state_dict)
            save = self.model.save_pretrained
            self.model.save_pretrained = functools.partial(save, save_embedding_layers=False)
            try:
                return super()._save(output_dir, state_dict)
            finally:
                del self.model.save_pretrained

    return WeightedSFTTrainer


def _packable_checkpoints(tok, cfg: SFTConfig, stage: int, keep=None):
    """A callback that makes every checkpoint a bslm adapter (spec and dual tokenizer beside
    the LoRA weights), so that one can be evaluated or packed while training goes on; with
    ``keep(checkpoint, stage, step)``, every ``keep_steps`` updates it keeps the run's state."""
    from transformers import TrainerCallback

    from bslm.models.files import write_adapter_spec

    class PackableCheckpoints(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if state.is_world_process_zero and ckpt.is_dir():
                tok.save(ckpt)
                write_adapter_spec(ckpt, cfg.model, cfg.seed)
                if keep is not None and state.global_step % cfg.keep_steps == 0:
                    keep(ckpt, stage, state.global_step)

    return PackableCheckpoints()


def _adapter_writer(cfg: SFTConfig):
    """``write(artifact, directory)``: a trainable adapter of this run holding a packed
    artifact's weights, saved as a checkpoint would be (restoring a kept state)."""
    from bslm.models.files import write_adapter_spec

    def write(artifact: Path, directory: Path) -> None:
        model, tok = prepare_model(cfg)
        peft = adapter_from_artifact(model, tok, artifact, cfg.lora_dropout)
        peft.save_pretrained(directory)
        tok.save(directory)
        write_adapter_spec(directory, cfg.model, cfg.seed)

    return write


def latest_checkpoint(sdir: Path) -> Path | None:
    """The stage directory's checkpoint of the highest update, or None."""
    ckpts = [p for p in sdir.glob("checkpoint-*") if p.is_dir()]
    return max(ckpts, key=checkpoint_step, default=None)


def checkpoint_step(ckpt: Path) -> int:
    return int(ckpt.name.split("-")[1])


def done_stages(cfg: SFTConfig, out: Path) -> list[int]:
    """The stages of ``cfg`` the run in ``out`` has finished, in order."""
    return [s for s in cfg.stages if (out / f"stage{s}" / DONE).is_file()]


def _stage_args(cfg: SFTConfig, stage: int, out: Path):
    from trl import SFTConfig as TRLConfig

    from bslm.train.config import trainer_args

    args = trainer_args(cfg, out)
    # an update is batch_size x grad_accum examples however many processes share it
    args["gradient_accumulation_steps"] = cfg.grad_accum // cfg.processes
    return TRLConfig(
        **args,
        num_train_epochs=stage_value(cfg.epochs, cfg, stage),
        max_steps=stage_value(cfg.max_steps, cfg, stage),
        per_device_train_batch_size=cfg.batch_size,
        lr_scheduler_type="cosine",
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a share of the steps
        dataset_kwargs={"skip_prepare_dataset": True},
        max_length=None,
        # recomputing activations saves memory a CPU has plenty of, at a fifth of each step
        gradient_checkpointing=not cfg.use_cpu,
        # every trainable weight (LoRA on each linear layer, the tool rows of the tied output
        # layer) takes part in every forward: no search for unused ones after each backward
        ddp_find_unused_parameters=False,
    )


RUN_DATA = "train.jsonl"


def _run_data(cfg: SFTConfig, out: Path) -> Path:
    """The run's own copy of its data, taken at its start: a resumed run trains on the same
    examples even when ``cfg.data`` has been generated again since. Raises ValueError when
    there is neither."""
    import shutil

    copy = out / RUN_DATA
    if copy.is_file():
        return copy
    src = Path(cfg.data).expanduser()
    if not src.is_file():
        raise ConfigError(f"data: {src} does not exist (run `bslm data generate`)")
    with atomic_file(copy) as tmp:
        shutil.copyfile(src, tmp)
    return copy


RUN_INIT = "init"


def _run_init(cfg: SFTConfig, out: Path) -> Path:
    """The run's own copy of ``cfg.init_adapter``, taken at its start: a resumed run builds
    the adapter its checkpoints were saved from even when the artifact it started from has
    been replaced since (shipping a later model, of another LoRA rank, replaces
    ``models/default``). Raises ValueError when there is no copy yet and ``init_adapter`` is
    neither a LoRA directory nor an artifact."""
    import shutil

    from bslm.models.files import atomic_dir

    copy = out / RUN_INIT
    if copy.is_dir():
        return copy
    src = Path(cfg.init_adapter).expanduser()
    if not any((src / f).is_file() for f in ("adapter_config.json", "artifact.json")):
        raise ConfigError(f"init_adapter: {src} is neither a LoRA directory nor an artifact")
    with atomic_dir(copy) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
    return copy


def train(cfg: SFTConfig) -> Path:
    """Run the stages; returns the directory of the final model (adapter or full weights,
    with the dual tokenizer). Raises ValueError for unusable data."""
    from datasets import Dataset

    from bslm.train.data.jsonl import read_jsonl
    from bslm.train.plots import plot_training

    out = Path(cfg.out).expanduser()
    check_processes(cfg)
    bf16 = bfloat16(cfg.bf16, cfg.use_cpu)
    team = Team(cfg)
    if team.main:
        if cfg.bf16 == "auto":
            print(
                "bf16: auto: "
                + ("bfloat16" if bf16 else "fp32, as this machine has no native bfloat16 matmul")
            )
        elif bf16 and not native_bfloat16(cfg.use_cpu):
            print(
                "warning: bf16: this machine has no native bfloat16 matmul, so bfloat16 "
                "runs tens of times slower than fp32 here (bf16: auto chooses)",
                file=sys.stderr,
            )
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    team.start(out / "config.json")
    data = team.first(lambda: _run_data(cfg, out))
    keep = None
    if cfg.keep is not None and cfg.lora:
        from bslm.train.keep import check_keep, keep_state, restore_state, sha256

        check_keep(cfg)
        data_sha = sha256(data)
        said = team.first(lambda: restore_state(cfg, out, data, data_sha, _adapter_writer(cfg)))
        if said and team.main:
            print(said)

        def keep(adapter: Path, stage: int | None, step: int) -> None:
            keep_state(cfg, out, adapter, stage, step, data_sha)

    records = read_jsonl(data)
    model, tok = prepare_model(cfg)
    done = done_stages(cfg, out)
    last_final = out / f"stage{done[-1]}" / FINAL if done else None
    if last_final is not None and not cfg.lora:
        from bslm.models.build import load_model

        model, tok = load_model(last_final)
    # where the adapter starts: the trainer then loads a checkpoint's weights over it
    current = out / f"stage{cfg.stages[len(done)]}" if len(done) < len(cfg.stages) else None
    start = (latest_checkpoint(current) if current else None) or last_final
    if start is not None and not start.is_dir():
        start = None
    if start is None and cfg.init_adapter:
        start = team.first(lambda: _run_init(cfg, out))
    model = _adapt(model, tok, cfg, start if cfg.lora else None)
    if cfg.lora:
        tool_rows_apart(model)
        if bf16:
            frozen_in_bfloat16(model)
    Trainer = _trainer_class(cfg.balance)
    log_rows: list[dict] = []
    for stage in cfg.stages:
        sdir = out / f"stage{stage}"
        if stage in done:
            log_rows += json.loads((sdir / DONE).read_text())["log"]
            continue
        stage_records = [r for r in records if r.get("stage", 3) == stage]
        if cfg.max_examples > 0:
            random.Random(cfg.seed).shuffle(stage_records)
            stage_records = stage_records[: cfg.max_examples]
        feats, skipped = encode_records(tok, stage_records, cfg.max_len)
        if not feats:
            raise ConfigError(
                f"stage {stage}: no usable examples in {cfg.data} ({skipped} longer than max_len)"
            )
        if team.main:
            print(
                f"stage {stage}: {len(feats)} examples ({skipped} skipped as longer than "
                f"{cfg.max_len} tokens)"
            )
        collator = WeightedCollator(
            tok.base.pad_token_id or 0,
            stage_value(cfg.tool_weight, cfg, stage),
            stage_value(cfg.text_weight, cfg, stage),
        )
        trainer = Trainer(
            model=model,
            args=_stage_args(cfg, stage, sdir),
            train_dataset=Dataset.from_list(feats),
            data_collator=collator,
            processing_class=tok.base,
            callbacks=[_packable_checkpoints(tok, cfg, stage, keep)] if cfg.lora else None,
        )
        threads = team.threads_each()
        if team.main and threads:
            print(f"stage {stage}: {len(threads)} processes of {threads} threads")
        resume = any(sdir.glob("checkpoint-*"))
        trainer.train(resume_from_checkpoint=True if resume else None)
        rows = [dict(r, stage=stage) for r in trainer.state.log_history if "loss" in r]
        log_rows += rows

        def finish_stage(sdir=sdir, feats=feats, skipped=skipped, rows=rows) -> None:
            _save(model, tok, sdir / FINAL, cfg)
            (sdir / DONE).write_text(
                json.dumps({"examples": len(feats), "skipped": skipped, "log": rows})
            )
            if keep is not None:
                keep(sdir / FINAL, None, 0)

        team.alone(finish_stage)
    final = out / FINAL
    if team.main:
        _save(model, tok, final, cfg)
        with (out / "log.jsonl").open("w") as f:
            for r in log_rows:
                f.write(json.dumps(r) + "\n")
        plot_training(log_rows, out / "loss.png")
    team.finish()
    if team.main:
        print(f"final model: {final}\ntraining curve: {out / 'loss.png'}")
    return final


def check_processes(cfg: SFTConfig) -> None:
    """Raises ConfigError for a ``processes`` setting that cannot train."""
    if cfg.processes < 1:
        raise ConfigError(f"processes: {cfg.processes} (at least 1)")
    if cfg.processes > 1:
        if not cfg.use_cpu:
            raise ConfigError(
                "processes: side-by-side processes are for CPU training (use_cpu: true); "
                "launch several GPUs with `accelerate launch`"
            )
        if cfg.grad_accum % cfg.processes:
            raise ConfigError(
                f"processes: grad_accum {cfg.grad_accum} is not a multiple of {cfg.processes}"
            )


class Team:
    """The processes of one run (``processes`` > 1): this one is the main one (rank 0), which
    writes every file and starts the others as helpers (``bslm train sft`` on the run's
    ``config.json``, with the rank in the environment); torch.distributed (gloo) joins them,
    and the trainer shares the examples out and averages the gradients. A helper dies with
    the main process. With one process every method is a plain call."""

    def __init__(self, cfg: SFTConfig):
        self.size, self.helpers = cfg.processes, []
        self.threads = max(1, (os.cpu_count() or 1) // self.size)  # each process's share
        self.before: dict[str, str | None] = {}  # the environment _spawn changed
        helper = self.size > 1 and "RANK" in os.environ
        self.rank = int(os.environ["RANK"]) if helper else 0
        self.main = self.rank == 0

    def start(self, config: Path) -> None:
        """The main process starts the helpers on ``config``; then every process joins."""
        if self.size == 1:
            return
        import torch
        import torch.distributed as dist

        if self.main:
            self._spawn(config)
        torch.set_num_threads(self.threads)
        dist.init_process_group("gloo")

    def _spawn(self, config: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        group = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        group.update(WORLD_SIZE=str(self.size), RANK="0", LOCAL_RANK="0")
        # every process's thread count said where accelerate reads it: without them it gives
        # the main process all the cores (its local world size unknown), two threads beside
        # the helper's one on two cores
        group.update(LOCAL_WORLD_SIZE=str(self.size), OMP_NUM_THREADS=str(self.threads))
        self.before = {k: os.environ.get(k) for k in group}  # put back by finish()
        os.environ.update(group)
        command = [str(Path(sys.executable).with_name("bslm")), "train", "sft"]
        for rank in range(1, self.size):
            env = {**os.environ, "RANK": str(rank), "LOCAL_RANK": str(rank)}
            self.helpers.append(
                subprocess.Popen(
                    [*command, "--config", str(config)], env=env, preexec_fn=_die_with_parent
                )
            )

    def _wait(self) -> None:
        if self.size > 1:
            import torch.distributed as dist

            dist.barrier()

    def threads_each(self) -> list[int]:
        """Each process's torch thread count, in rank order (none for a single process)."""
        if self.size == 1:
            return []
        import torch
        import torch.distributed as dist

        counts: list = [None] * self.size
        dist.all_gather_object(counts, torch.get_num_threads())
        return counts

    def first(self, fn):
        """``fn()`` in the main process first, then in the others: it finds the main one's
        files there, and only reads them. Returns its result."""
        result = fn() if self.main else None
        self._wait()
        return result if self.main else fn()

    def alone(self, fn) -> None:
        """``fn()`` in the main process only; the others wait for it."""
        if self.main:
            fn()
        self._wait()

    def finish(self) -> None:
        """Leave the group; the main process waits for the helpers. Raises RuntimeError
        when one failed."""
        if self.size == 1:
            return
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
        for k, v in self.before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        failed = [p.args for p in self.helpers if p.wait() != 0]
        if failed:
            raise RuntimeError(f"a helper process failed: {' '.join(failed[0])}")


def _die_with_parent() -> None:
    """In a helper, before it runs: the kernel kills it when the main process ends."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _save(model, tok, path: Path, cfg: SFTConfig) -> None:
    from bslm.models.files import write_adapter_spec

    path.mkdir(parents=True, exist_ok=True)
    if cfg.lora:  # the embedding is the base's; the trained tool rows are in the adapter
        model.save_pretrained(path, save_embedding_layers=False)
    else:
        model.save_pretrained(path)
    tok.save(path)
    if cfg.lora:
        write_adapter_spec(path, cfg.model, cfg.seed)


def main(argv: list[str] | None = None) -> int:
    from bslm.train.config import config_main

    return config_main(SFTConfig, train, "Three-stage SFT of a bslm model.", argv)


if __name__ == "__main__":
    sys.exit(main())
