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
import os
import sys
import warnings

from bslm.export import cli as export_cli
from bslm.models import cli as models_cli
from bslm.models.errors import BslmError
from bslm.runtime import cli as runtime_cli
from bslm.train import cli as train_cli
from bslm.tui import cli as tui_cli

EXIT_USAGE = 2


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="bslm",
        description="bslm: a small bi-modal language model that calls tools, on your machine.",
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", required=True)
    models_cli.add_parsers(sub)
    train_cli.add_parsers(sub)
    runtime_cli.add_parsers(sub)
    export_cli.add_parser(sub)
    tui_cli.add_parsers(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*ensure_weight_tying.*")
    args = parser().parse_args(argv)
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
