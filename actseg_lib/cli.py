"""The ``actseg`` command line.

``info`` reports versions and the device; ``synth`` writes SynthAct in a real
dataset's format. ``train`` and ``evaluate`` arrive with the training engine.
"""

from __future__ import annotations

import argparse
import sys

from . import __version__


def _info(args: argparse.Namespace) -> int:
    from .engine.provenance import environment_report

    for key, value in environment_report().items():
        print(f"{key:>10}: {value}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from .data.sources import FORMAT_SOURCE, write_synthact

    out = write_synthact(args.format, args.out, preset=args.preset, seed=args.seed)
    print(f"wrote SynthAct {FORMAT_SOURCE[args.format]} ({args.preset}, seed {args.seed}) "
          f"in the {args.format} format to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="actseg",
        description=(
            "Train and evaluate the book's action recognition and segmentation models "
            "(STAR-Transformer, 3D deformable transformer, SigFormer, InterAct)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"actseg {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = commands.add_parser("info", help="print library, PyTorch and device versions")
    info.set_defaults(run=_info)

    from .data.formats import FORMATS  # a dict of names: cheap to import

    synth = commands.add_parser(
        "synth", help="write SynthAct in a real dataset's format",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
