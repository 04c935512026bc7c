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
        "bf16": cfg.bf16,
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
