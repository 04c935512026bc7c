"""Configs for training and evaluation: frozen dataclasses; YAML overrides the defaults, and
``key=value`` arguments override the YAML.

    cfg = load_config(SFTConfig, "configs/sft_tiny.yaml", ["lr=1e-3", "stages=[3]"])
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from bslm.models.errors import BslmError

T = TypeVar("T")


class ConfigError(BslmError, ValueError):
    """A config file or override that does not fit the config class."""


def _coerce(cls, name: str, value: Any) -> Any:
    """Fit a YAML value to the field's type: lists become tuples, ints become floats; a value
    of another type is refused."""
    hint = typing.get_type_hints(cls)[name]
    if typing.get_origin(hint) is tuple:
        return tuple(value) if isinstance(value, list | tuple) else (value,)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float, str, bool) and type(value) is not hint:
        raise ConfigError(f"{name}: expected {hint.__name__}, got {value!r}")
    return value


def apply_overrides(cfg: T, values: dict) -> T:
    """A copy of ``cfg`` with ``values`` set. Raises ConfigError for unknown keys or values of
    the wrong type."""
    fields = {f.name for f in dataclasses.fields(cfg)}
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(unknown)} for {type(cfg).__name__} "
            f"(known: {', '.join(sorted(fields))})"
        )
    coerced = {k: _coerce(type(cfg), k, v) for k, v in values.items()}
    return dataclasses.replace(cfg, **coerced)


def parse_overrides(args: list[str]) -> dict:
    """``["lr=1e-3", "stages=[1,2]"]`` -> ``{"lr": 0.001, "stages": [1, 2]}`` (values read as
    YAML). Raises ConfigError for an argument without ``=``."""
    out = {}
    for arg in args:
        key, sep, raw = arg.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {arg!r} is not key=value")
        out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
    return out


def load_config(
    cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None
) -> T:
    """Defaults, then the YAML file, then the overrides. Raises ConfigError with the reason."""
    cfg = cls()
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as e:
            raise ConfigError(f"cannot read config {path}: {e.strerror}") from e
        except yaml.YAMLError as e:
            raise ConfigError(f"{path} is not valid YAML: {e}") from e
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of config keys")
        cfg = apply_overrides(cfg, data)
    return apply_overrides(cfg, parse_overrides(overrides or []))


def trainer_args(cfg, out: Path) -> dict:
    """The ``transformers.TrainingArguments`` the SFT, GRPO and DPO configs set alike (each
    trainer adds its own): output, optimiser steps, checkpoints, precision, device, logging."""
    return {
        "output_dir": str(out),
        "gradient_accumulation_steps": cfg.grad_accum,
        "learning_rate": cfg.lr,
        "logging_steps": cfg.logging_steps,
        "save_steps": cfg.save_steps,
        "save_total_limit": 2,
        "seed": cfg.seed,
        "bf16": bfloat16(cfg.bf16, cfg.use_cpu),
        "use_cpu": cfg.use_cpu,
        "report_to": "none",
        "remove_unused_columns": False,
        "disable_tqdm": False,
    }


def config_main(cls, train, description: str, argv: list[str] | None = None) -> int:
    """``python -m bslm.train.X --config YAML key=value ...``: load the config, run ``train``."""
    import argparse

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--config", default=None)
    ap.add_argument("overrides", nargs="*", help="key=value")
    args = ap.parse_args(argv)
    train(load_config(cls, args.config, args.overrides))
    return 0


def describe(cls) -> str:
    """One line per field: name, default, help."""
    lines = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        lines.append(f"  {f.name} = {default!r}  {f.metadata.get('help', '')}")
    return "\n".join(lines)


CPUINFO = Path("/proc/cpuinfo")  # the CPU's flags, where Linux lists them


def native_bfloat16(use_cpu: bool = False) -> bool:
    """Whether this machine multiplies in bfloat16 natively: a CUDA GPU that does (unless
    ``use_cpu``), or a CPU with AVX512-BF16 or AMX (x86) or the BF16 extension (Arm). Elsewhere
    bfloat16 matmuls are emulated, tens of times slower than fp32."""
    import torch

    if not use_cpu and torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        info = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    flags = set()
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})


def bfloat16(setting: bool | str, use_cpu: bool = False) -> bool:
    """The ``bf16`` setting resolved: ``"auto"`` is bfloat16 mixed precision where this machine
    multiplies in bfloat16 natively (``native_bfloat16``), fp32 elsewhere. Raises ConfigError
    for another value."""
    if isinstance(setting, bool):
        return setting
    if setting == "auto":
        return native_bfloat16(use_cpu)
    raise ConfigError(f"bf16: expected true, false or auto, got {setting!r}")
