"""The ``actseg`` command line.

Subcommands arrive with the chapters that need them (``train``, ``evaluate``,
``synth``); today it reports versions and the environment.
"""

from __future__ import annotations

import argparse
import platform
import sys

from . import __version__


def environment_report() -> dict[str, str]:
    """Versions and the compute device, for bug reports and results' provenance."""
    import numpy
    import torch

    if torch.cuda.is_available():
        device = f"cuda ({torch.cuda.get_device_name(0)}, {torch.cuda.device_count()} visible)"
    else:
        device = f"cpu ({torch.get_num_threads()} threads)"
    return {
        "actseg_lib": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "device": device,
        "platform": platform.platform(),
    }


def _info(args: argparse.Namespace) -> int:
    for key, value in environment_report().items():
        print(f"{key:>10}: {value}")
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
