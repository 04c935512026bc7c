"""``bslm data``, ``bslm train`` and ``bslm eval``: the training room's commands.

bslm data generate [--config YAML] [key=value ...]
bslm data import FILE --format openai|xlam|sharegpt -o OUT.jsonl [--force]
bslm train sft|grpo|dpo [--config YAML] [key=value ...]
bslm eval --suite S1,S2,... [--model PATH] [--backend torch|llama|onnx] [--limit N]
          [--mask hard|soft|off] [--call-threshold P] [--copy-bias B] [--out FILE.json]
          [--prompted] [--compare OTHER.json ...]
          [--plot FILE.png]
"""

from __future__ import annotations

from pathlib import Path

from bslm.models.errors import BslmError


def _config(cls, args):
    from bslm.train.config import load_config

    return load_config(cls, args.config, args.overrides)


def _data_generate(args) -> int:
    from bslm.train.data.synthesis import DataConfig, main

    return main(_config(DataConfig, args))


def _data_import(args) -> int:
    from bslm.train.data.importers import IMPORTERS, import_file
    from bslm.train.data.jsonl import write_jsonl

    if args.format not in IMPORTERS:
        raise BslmError(f"unknown format {args.format!r}: choose from {', '.join(IMPORTERS)}")
    try:
        records = list(import_file(args.file, args.format))
    except (OSError, ValueError) as e:  # the file: missing, or not what its format says
        raise BslmError(str(e)) from e
    out = Path(args.out)
    if out.exists() and not args.force:
        raise BslmError(f"{out} already exists (use --force to replace it)")
    write_jsonl(out, records)
    print(f"{len(records)} records -> {out}")
    return 0


def _train(args) -> int:
    from importlib import import_module

    module, config = {
        "sft": ("bslm.train.sft", "SFTConfig"),
        "grpo": ("bslm.train.rl.grpo", "GRPOConfig"),
        "dpo": ("bslm.train.rl.dpo", "DPOConfig"),
    }[args.train_command]
    module = import_module(module)
    module.train(_config(getattr(module, config), args))
    return 0


def _eval(args) -> int:
    import dataclasses
    import tempfile

    from bslm.models.cli import read_json
    from bslm.train.eval.journal import evaluate_together
    from bslm.train.eval.predictors import open_predictor, tool_selector
    from bslm.train.eval.suites import EvalConfig, evaluate, markdown
    from bslm.train.plots import plot_bars

    suites = tuple(s.strip() for s in args.suite.split(",") if s.strip())
    masks = [m.strip() for m in args.mask.split(",") if m.strip()]
    if not masks or len(set(masks)) < len(masks):
        raise BslmError(f"--mask {args.mask!r}: name each mask once")
    cfg = EvalConfig(
        suites=suites,
        model=str(args.model) if args.model else None,
        data=str(args.data),
        limit=args.limit,
        mask=masks[0],
        max_new_tokens=args.max_new_tokens,
        prompted=args.prompted,
        backend=args.backend,
        distractors=args.distractors,
        retrieval=args.retrieval,
        top_k=args.top_k,
        call_threshold=args.call_threshold,
        copy_bias=args.copy_bias,
    )
    # the help goes to the masked evaluations (a lone unmasked one is refused it)
    cfgs = [
        dataclasses.replace(cfg, mask=m)
        if m != "off" or len(masks) == 1
        else dataclasses.replace(cfg, mask=m, call_threshold=None, copy_bias=0.0)
        for m in masks
    ]
    others = [read_json(p) for p in args.compare]
    select = tool_selector(cfg.retrieval, cfg.top_k)
    if args.out:  # every decision journaled as it is made: a stopped run continues
        reports = evaluate_together(cfgs, mask_reports(Path(args.out), masks), args.name, select)
    elif len(cfgs) > 1:  # the journals that share each prompt's evaluation, thrown away after
        with tempfile.TemporaryDirectory() as tmp:
            paths = mask_reports(Path(tmp) / "report.json", masks)
            reports = evaluate_together(cfgs, paths, args.name, select)
    else:
        reports = [evaluate(cfg, open_predictor(cfg), args.name, select)]
    print(markdown([*reports, *others]))
    if args.plot:
        plot_bars([*reports, *others], Path(args.plot))
    return 0


def mask_reports(out: Path, masks: list[str]) -> list[Path]:
    """The report of each mask: ``out`` itself for one, ``NAME-<mask>.json`` for several."""
    if len(masks) == 1:
        return [out]
    return [out.with_name(f"{out.name.removesuffix('.json')}-{mask}.json") for mask in masks]


def add_parsers(sub) -> None:
    """The training room's subcommands, on the ``bslm`` parser's subparsers."""
    p = sub.add_parser("data", help="training data: generate the curriculum, import datasets")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    q = dsub.add_parser("generate", help="generate the curriculum (key=value overrides)")
    q.add_argument("--config", default=None, help="YAML config")
    q.add_argument("overrides", nargs="*", help="key=value")
    q.set_defaults(run=_data_generate)
    q = dsub.add_parser("import", help="convert OpenAI / xLAM / ShareGPT tool-use data")
    q.add_argument("file")
    q.add_argument("--format", required=True, help="openai, xlam or sharegpt")
    q.add_argument("-o", "--out", required=True, help="JSONL records to write")
    q.add_argument("--force", action="store_true")
    q.set_defaults(run=_data_import)

    p = sub.add_parser("train", help="train a model")
    tsub = p.add_subparsers(dest="train_command", metavar="METHOD", required=True)
    for name, what in (
        ("sft", "three-stage supervised fine-tuning (TRL)"),
        ("grpo", "GRPO on tool environments with verifiable rewards (TRL)"),
        ("dpo", "DPO from sampled correct/incorrect chains (TRL)"),
    ):
        q = tsub.add_parser(name, help=what)
        q.add_argument("--config", default=None, help=f"YAML config (configs/{name}_*.yaml)")
        q.add_argument("overrides", nargs="*", help="key=value")
        q.set_defaults(run=_train)

    p = sub.add_parser("eval", help="evaluate a model on our suites and BFCL")
    p.add_argument(
        "--suite",
        required=True,
        help="comma-separated: dev, seen, unseen, multistep, irrelevance, rules, bfcl:<category>, "
        "env:<calls|math|logic|store|code>",
    )
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="bslm model dir, GGUF file or ONNX dir (default: the default model)",
    )
    p.add_argument("--data", type=Path, default=Path("data"), help="generated data directory")
    p.add_argument("--limit", type=int, default=0, help="items per suite at most")
    p.add_argument(
        "--mask",
        default="hard",
        help="constrained decoding: hard (default, as the runtime decodes), soft, off; several, "
        "comma-separated (hard,off), evaluate each with one evaluation of each prompt, the help "
        "going to the masked ones (reports: --out R.json writes R-hard.json, R-off.json)",
    )
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument(
        "--backend",
        choices=("torch", "llama", "onnx"),
        default="torch",
        help="torch (model directory; default), llama (GGUF; without --model the "
        "default model's), onnx (exported directory)",
    )
    p.add_argument(
        "--distractors",
        type=int,
        default=0,
        help="catalog tools added to each request's own (our suites)",
    )
    p.add_argument(
        "--retrieval",
        choices=("none", "bm25", "embedding", "hybrid"),
        default="none",
        help="narrow each request's tools to the top-k",
    )
    p.add_argument("--top-k", type=int, default=10, help="tools kept by --retrieval")
    p.add_argument(
        "--call-threshold",
        type=float,
        default=None,
        help="help: open a call at a turn's first token when its masked probability is at "
        "least this (default: the model's own choice)",
    )
    p.add_argument(
        "--copy-bias",
        type=float,
        default=0.0,
        help="help: logit bonus, in string values, for the conversation's own tokens",
    )
    p.add_argument("--name", default=None, help="the model's name in the report")
    p.add_argument(
        "--prompted",
        action="store_true",
        help="baseline: a base model (--model NAME) prompted with JSON tools; --backend llama "
        "runs its own GGUF",
    )
    p.add_argument(
        "--out",
        default=None,
        help="report JSON (each decision is journaled beside it as it is made: the same "
        "command again continues a stopped evaluation)",
    )
    p.add_argument("--compare", nargs="*", default=[], help="other reports to put beside this one")
    p.add_argument("--plot", default=None, help="bar chart PNG")
    p.set_defaults(run=_eval)
