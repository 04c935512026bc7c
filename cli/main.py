"""The ``bslm`` command line. Each room contributes its own subcommands; this module only puts
them together and runs one.

    bslm build | tokenize | pack        models/cli.py
    bslm data | train | eval            train/cli.py
    bslm run | tools                    runtime/cli.py
    bslm export                         export/cli.py
    bslm chat                           tui/cli.py

Errors a user can cause (``BslmError``, ``models/errors.py``) print one line on stderr and exit
with status 2; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from bslm.models.errors import BslmError

EXIT_USAGE = 2

# Each room's CLI module and its commands, in the order ``bslm --help`` lists them. A command
# imports only its own room's module: ``bslm run`` and ``bslm chat`` never load the export
# room's (numpy, gguf) or the training room's.
ROOMS = {
    "bslm.models.cli": ("build", "tokenize", "pack"),
    "bslm.train.cli": ("data", "train", "eval"),
    "bslm.runtime.cli": ("run", "tools"),
    "bslm.export.cli": ("export",),
    "bslm.tui.cli": ("chat",),
}


def parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``bslm`` parser: every room's commands, or only ``command``'s room when it names
    one."""
    ap = argparse.ArgumentParser(
        prog="bslm",
        description="bslm: a small bi-modal language model that calls tools, on your machine.",
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    mine = [m for m, commands in ROOMS.items() if command in commands]
    for module in mine or ROOMS:
        importlib.import_module(module).add_parsers(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*ensure_weight_tying.*")
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    if command == "train":
        # Training shares the cores: with OpenMP's spinning default, a busy core (or, in GRPO,
        # llama.cpp's threads beside torch's in one process) stalls every step several times
        # over; threads that sleep at once cost a quiet machine nothing (bench/rollouts.py).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = parser(command).parse_args(argv)
    if not getattr(args, "lean", False):  # the agent on a GGUF never needs transformers
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    try:
        return args.run(args)
    except BslmError as e:
        print(f"bslm: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
