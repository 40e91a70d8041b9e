"""The ``sada-dali`` command and its subcommands: ``demo``, ``train``, ``bench``, ``check``, ``shards``.

Each subcommand lives in its own module (:data:`SUBCOMMANDS`) with ``add_parser(subparsers)`` and
``run(args)``; heavy imports (DALI, torch, torchvision) happen inside ``run`` so ``--help`` is
instant.
"""

from __future__ import annotations

import argparse

from .. import __version__
from . import bench, check, demo, shards, train

__all__ = ["SUBCOMMANDS", "create_parser", "main"]

SUBCOMMANDS = (demo, train, bench, check, shards)
"""The module of each subcommand, in the order ``--help`` lists them."""


def create_parser() -> argparse.ArgumentParser:
    """The ``sada-dali`` argument parser, one subcommand per module of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="sada-dali",
        description=(
            "SADA (sample-aware dynamic augmentation) on NVIDIA DALI: demo, training, benchmark, "
            "dataset check and shard packing."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        sub = module.add_parser(subparsers)
        sub.set_defaults(func=module.run, parser=sub)
    subparsers.metavar = "{" + ",".join(subparsers.choices) + "}"
    return parser


def main(argv=None) -> int:
    """Run ``sada-dali`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    args = create_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
