"""The ``actseg`` command line.

``info`` reports versions and the device; ``synth`` writes SynthAct in a real
dataset's format; ``train`` and ``evaluate`` wrap :mod:`actseg_lib.engine.run`.

A user's mistake (an unknown model or option, a missing folder, a malformed file, a
checkpoint that does not fit) ends the command with one line, ``actseg: error: ...``,
and a non-zero status (2 for the command line itself, 1 otherwise); ``--debug`` shows
the traceback instead. Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__

# what a user's mistake raises: the library's ValueErrors (FormatError among them) and
# paths that are not there; a missing optional package; a loss that diverged
USER_ERRORS = (ValueError, OSError, ImportError, FloatingPointError)


class UsageError(ValueError):
    """A mistake in the command line itself (exit status 2, as argparse's own)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, with its errors on one line (no usage block above them)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def one_line(error: BaseException) -> str:
    """An exception's message on one line (a KeyError's without its quotes)."""
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split()) or type(error).__name__


def check_overrides(name: str, size: str, overrides: dict) -> None:
    """A UsageError for an unknown model, section or ``--set`` key, before any work: the
    keys a section takes are the model's constructor arguments (``model``), the fields of
    :class:`TrainConfig` (``train``), the loss's arguments (``loss``) and what data
    preparation reads (``data``)."""
    import inspect
    from dataclasses import fields

    from .engine.config import TrainConfig
    from .engine.run import DATA_KEYS, merge_overrides
    from .models.registry import list_models, model_config, model_entry

    if name not in list_models():
        raise UsageError(f"unknown model {name!r}; registered: {', '.join(list_models())} (see actseg models)")
    entry = model_entry(name)
    try:
        merge_overrides(model_config(name, size), overrides)
    except ValueError as error:
        raise UsageError(f"--set: {error}") from None

    def arguments(function, leave_out=()) -> set | None:  # None: takes any keyword
        parameters = inspect.signature(function).parameters.values()
        if any(p.kind == p.VAR_KEYWORD for p in parameters):
            return None
        return {p.name for p in parameters} - set(leave_out)

    if entry.task == "segmentation":
        from .losses import SegmentationLoss

        loss_keys = arguments(entry.loss or SegmentationLoss)
    else:
        from .engine.tasks import RecognitionTask

        loss_keys = arguments(RecognitionTask, leave_out=("augment",))
    known = {
        "model": arguments(entry.model_class),
        "train": {f.name for f in fields(TrainConfig)},
        "loss": loss_keys,
        "data": set(DATA_KEYS),
    }
    for section, values in overrides.items():
        unknown = sorted(set(values) - known[section]) if known[section] is not None else []
        if unknown:
            raise UsageError(
                f"--set {section}.{unknown[0]}: {name} has no {section} option {unknown[0]!r}; "
                f"its {section} options: {', '.join(sorted(known[section]))}"
            )


def _info(args: argparse.Namespace) -> int:
    from .engine.provenance import environment_report

    for key, value in environment_report().items():
        print(f"{key:>10}: {value}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from .data.sources import FORMAT_SOURCE, write_synthact

    out = write_synthact(args.format, args.out, preset=args.preset, seed=args.seed)
    print(
        f"wrote SynthAct {FORMAT_SOURCE[args.format]} ({args.preset}, seed {args.seed}) "
        f"in the {args.format} format to {out}"
    )
    return 0


def parse_override(text: str) -> tuple[str, str, object]:
    """``section.key=value`` -> (section, key, value); the value is read as a Python
    literal when it is one (``3``, ``0.1``, ``None``, ``(1, 2)``), else kept as text."""
    import ast

    name, sep, raw = text.partition("=")
    section, dot, key = name.partition(".")
    if not sep or not dot or not key:
        raise argparse.ArgumentTypeError(
            f"--set {text!r}: expected section.key=value, e.g. train.epochs=5 (sections: model, train, data, loss)"
        )
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return section, key, value


def _overrides(args: argparse.Namespace) -> dict:
    out: dict = {}
    for section, key, value in args.set or []:
        out.setdefault(section, {})[key] = value
    for flag, key in (("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"), ("seed", "seed")):
        if getattr(args, flag) is not None:
            out.setdefault("train", {})[key] = getattr(args, flag)
    return out


def default_out(model: str, size: str, data: str) -> str:
    from .engine.run import data_slug

    return str(Path("runs") / f"{model}-{size}-{data_slug(data)}")


def _train(args: argparse.Namespace) -> int:
    from .engine import distributed
    from .engine.run import summary_line, train_model

    overrides = _overrides(args)
    # logging is no part of the recipe: --set train.tensorboard=True is the flag's other spelling
    tensorboard = bool(overrides.get("train", {}).pop("tensorboard", False)) or args.tensorboard
    if overrides.get("train") == {}:
        del overrides["train"]
    check_overrides(args.model, args.size, overrides)
    out = args.out or default_out(args.model, args.size, args.data)
    try:
        results = train_model(
            args.model,
            args.data,
            size=args.size,
            out_dir=out,
            resume=args.resume,
            overrides=overrides,
            progress=not args.no_progress,
            device=args.device,
            tensorboard=tensorboard,
        )
        if distributed.current().is_main:
            print(summary_line(results))
            print(f"checkpoints and results.json in {out}")
    finally:
        distributed.cleanup()
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .engine.run import evaluate_checkpoint, format_metrics

    results = evaluate_checkpoint(
        args.checkpoint, args.data, split=args.split, progress=not args.no_progress, out=args.out, device=args.device
    )
    print(
        f"{results['model']} ({results['size']}) from {args.checkpoint} on {results['data']} "
        f"[{results['split']}, {results['samples']} samples]: {format_metrics(results['metrics'])}"
    )
    if args.out:
        print(f"results in {args.out}")
    return 0


def _records(args: argparse.Namespace) -> int:
    from .engine import records

    directory = Path(args.records) if args.records else records.records_dir()
    if directory is None:
        raise SystemExit(f"actseg records: no records folder; set ${records.RECORDS_ENV} or run from a clone")
    if args.records_command == "check":
        files = records.record_files(directory)
        stale = [(path, why) for path in files if (why := records.stale(path))]
        for path, why in stale:
            print(f"stale: {path.relative_to(directory)}: {why}")
        print(f"{len(files) - len(stale)} current, {len(stale)} stale records in {directory}")
        return 1 if stale else 0
    if args.records_command == "canary":
        path = records.record_canary(args.model, args.data, _overrides(args), every=args.every, directory=directory)
        print(f"canary recorded: {path}")
        return 0
    for path in args.paths:
        target = records.rerecord(path) if args.records_command == "rerecord" else records.rekey(path)
        print(
            f"{args.records_command}: {target}"
            + ("" if Path(path).name == target.name else f" (was {Path(path).name})")
        )
    return 0


def _models(args: argparse.Namespace) -> int:
    from .models import list_models, model_entry

    for name in list_models():
        entry = model_entry(name)
        print(f"{name:<18} {entry.task:<27} {entry.paper}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="actseg",
        description=(
            "Train and evaluate the book's action recognition and segmentation models "
            "(STAR-Transformer, 3D deformable transformer, SigFormer, InterAct). "
            "A mistake ends a command with one line, actseg: error: ...; --debug shows the traceback."
        ),
    )
    parser.add_argument("--version", action="version", version=f"actseg {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an error, show the full traceback")
    # also accepted after the command (SUPPRESS: absent there, the top level's value holds)
    debug = ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[debug], **kwargs)

    info = command("info", help="print library, PyTorch and device versions")
    info.set_defaults(run=_info)

    from .data.formats import FORMATS  # a dict of names: cheap to import

    synth = command(
        "synth",
        help="write SynthAct in a real dataset's format",
        description="Generate (or load from the cache) SynthAct and write it in the file "
        "layout of a real dataset, so the readers that load the real data can be tried on it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="formats:\n" + "\n".join(f"  {k:<9} {v}" for k, v in FORMATS.items()),
    )
    synth.add_argument("--format", required=True, choices=list(FORMATS), help="the on-disk format")
    synth.add_argument("--out", required=True, help="folder to write into (created if missing)")
    synth.add_argument("--preset", default="reduced", choices=["reduced", "full"], help="SynthAct preset")
    synth.add_argument("--seed", type=int, default=0, help="SynthAct seed (default 0)")
    synth.set_defaults(run=_synth)

    data_help = (
        "the data: synthact:<clips|packaging|daily>[:<reduced|full>][,<dial>=<value>...] (dials: "
        "actseg_lib.data.synthact.DIALS), real:<watch|basic_motions>, "
        "or <format>:<path>[,<option>=<value>...] with a format of `actseg synth --help` and options "
        "of its reader (keywords of actseg_lib.data.formats.<format>.read), e.g. "
        "openpack:/data/openpack,keypoints=False or mstcn:/data/50salads,allow_length_mismatch=True"
    )
    train = command(
        "train",
        help="train a model and evaluate it on the test split",
        description="Train a registered model (see `actseg models`) with its reduced or full (paper) "
        "configuration. Writes last.pt (every epoch), best.pt (best validation epoch) and "
        "results.json (metrics, history, command, versions, device, seed, timings) to --out.",
        epilog="examples:\n  actseg train ms_tcn --size reduced --data synthact:daily\n"
        "  actseg train asformer --size full --data mstcn:/data/50salads --set data.sample_rate=2\n"
        "  torchrun --nproc_per_node 4 -m actseg_lib train asformer --size full --data mstcn:/data/breakfast",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("model", help="a registered model name (`actseg models`)")
    train.add_argument("--data", required=True, help=data_help)
    train.add_argument(
        "--size",
        default="reduced",
        choices=["reduced", "full"],
        help="reduced: minutes on a CPU; full: the paper's configuration (GPU)",
    )
    train.add_argument("--out", help="run folder (default runs/<model>-<size>-<data>)")
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from --out/last.pt if it exists, to its own number of epochs or to --epochs; "
        "extending a run to more epochs makes the learning-rate schedule that of a run of the new "
        "length, continued from the step reached (a finished cosine decay rises again)",
    )
    train.add_argument("--epochs", type=int, help="override the number of epochs (with --resume: extend the run)")
    train.add_argument("--batch-size", type=int, help="override the batch size (per process)")
    train.add_argument("--lr", type=float, help="override the learning rate")
    train.add_argument("--seed", type=int, help="override the seed")
    train.add_argument(
        "--set",
        action="append",
        type=parse_override,
        metavar="SECTION.KEY=VALUE",
        help="override any configuration value, e.g. --set model.num_layers=6 (repeatable)",
    )
    train.add_argument("--device", help="cpu, cuda or cuda:N (default: the GPU if there is one)")
    train.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress (by default a bar per epoch in a terminal, a line per epoch in a log)",
    )
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="also log every epoch to --out/tensorboard (needs the tensorboard package); "
        "history.csv beside results.json is always written",
    )
    train.set_defaults(run=_train)

    evaluate = command(
        "evaluate",
        help="score a checkpoint on a data split",
        description="Evaluate a best.pt or last.pt written by `actseg train`, with "
        "the inputs and normalisation it was trained with.",
    )
    evaluate.add_argument("checkpoint", help="path to best.pt or last.pt")
    evaluate.add_argument("--data", help=data_help + " (default: the data it was trained on)")
    evaluate.add_argument("--split", default="test", choices=["train", "val", "test"], help="default test")
    evaluate.add_argument("--out", help="write the results JSON here")
    evaluate.add_argument("--device", help="cpu, cuda or cuda:N")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bars")
    evaluate.set_defaults(run=_evaluate)

    recs = command(
        "records",
        help="check, re-record and re-key the recorded runs",
        description="Recorded runs (records/, see records/README.md): results files of runs the book reports "
        "without retraining them, named by each run's key (model and its version, the shared versions, the "
        "configuration). A record whose call no longer gives its name is stale.",
    )
    recs.add_argument("--records", help="the records folder (default $ACTSEG_RECORDS or the clone's records/)")
    recs_commands = recs.add_subparsers(dest="records_command", metavar="ACTION", required=True)
    recs_commands.add_parser("check", help="list the stale records (exit status 1 if any)")
    rerecord = recs_commands.add_parser("rerecord", help="train records again, each written under its current key")
    rerecord.add_argument("paths", nargs="+", help="record files")
    rekey = recs_commands.add_parser(
        "rekey",
        help="rename records to their current key without training: only after a change shown not to move "
        "any number (never after a version bump)",
    )
    rekey.add_argument("paths", nargs="+", help="record files")
    canary = recs_commands.add_parser(
        "canary", help="record a canary: 2 epochs of a model at the reduced size on every n-th sample, one thread"
    )
    canary.add_argument("model", help="a registered model name")
    canary.add_argument("--data", required=True, help="a SynthAct spec the model trains on, e.g. synthact:daily")
    canary.add_argument("--every", type=int, default=3, help="train on every n-th sample (default 3)")
    canary.add_argument("--epochs", type=int, default=2, help="epochs (default 2)")
    canary.add_argument("--set", action="append", type=parse_override, metavar="SECTION.KEY=VALUE")
    for flag in ("batch_size", "lr", "seed"):
        canary.set_defaults(**{flag: None})
    recs.set_defaults(run=_records)

    models = command("models", help="list the registered models")
    models.set_defaults(run=_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except USER_ERRORS as error:
        if args.debug:
            raise
        prog = f"actseg {args.command}" if isinstance(error, UsageError) else "actseg"
        print(f"{prog}: error: {one_line(error)}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("actseg: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
