"""Argument types and shared options of the ``sada-dali`` subcommands.

Each type raises ``argparse.ArgumentTypeError`` with the argument's name, the value and the
expected form, so argparse exits with status 2 and a message such as
``argument --epochs: The `--epochs` must be an integer >= 1, got '0'.``
"""

from __future__ import annotations

import argparse
import os

__all__ = [
    "int_at_least",
    "positive_float",
    "unit_float",
    "existing_dir",
    "add_device_option",
    "add_loader_options",
    "resolve_device",
]


def int_at_least(minimum: int, name: str):
    """An argparse type accepting integers >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"The `{name}` must be an integer >= {minimum}, got {text!r}.")
        return value

    return parse


def positive_float(name: str):
    """An argparse type accepting finite floats > 0."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (0.0 < value < float("inf")):
            raise argparse.ArgumentTypeError(f"The `{name}` must be a positive number, got {text!r}.")
        return value

    return parse


def unit_float(name: str):
    """An argparse type accepting numbers in [0, 1]."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(f"The `{name}` must be a number in [0, 1], got {text!r}.")
        return value

    return parse


def existing_dir(name: str):
    """An argparse type accepting the path of an existing directory."""

    def parse(text: str) -> str:
        path = os.path.abspath(os.path.expanduser(text))
        if not os.path.isdir(path):
            state = "is not a directory" if os.path.exists(path) else "does not exist"
            raise argparse.ArgumentTypeError(f"The `{name}` {text!r} {state}; pass an existing directory.")
        return path

    return parse


def add_device_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--device {auto,gpu,cpu}`` (auto: the GPU when torch sees one)."""
    parser.add_argument(
        "--device",
        choices=("auto", "gpu", "cpu"),
        default="auto",
        help="where the DALI pipeline and the model run (default: auto, the GPU if present)",
    )


def add_loader_options(
    parser: argparse.ArgumentParser, *, workers: int | None, workers_help: str, threads_help: str
) -> None:
    """Add ``--workers`` (file-reading processes, >= 0) and ``--threads`` (DALI CPU threads, >= 1)."""
    parser.add_argument("--workers", type=int_at_least(0, "--workers"), default=workers, help=workers_help)
    parser.add_argument("--threads", type=int_at_least(1, "--threads"), default=None, help=threads_help)


def resolve_device(choice: str) -> str:
    """Turn ``auto`` into ``gpu`` or ``cpu``; reject ``gpu`` without CUDA."""
    import torch

    has_cuda = torch.cuda.is_available()
    if choice == "auto":
        return "gpu" if has_cuda else "cpu"
    if choice == "gpu" and not has_cuda:
        raise SystemExit(
            "sada-dali: error: The `--device gpu` needs a CUDA GPU, but torch sees none; use --device cpu."
        )
    return choice
