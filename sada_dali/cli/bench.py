"""``sada-dali bench``: loader throughput of SADA on DALI against native DALI and torchvision.

All loader rows read the same JPEGs and produce the same batches (``--image-size`` squared,
ImageNet-normalised float32 NCHW). Each runs one warm-up epoch, then ``--repeats`` rounds in
which every row runs one timed epoch in turn, and reports the median images/s. Rows: (1) SADA
DALI on the GPU; (2) DALI's own ``trivial_augment_wide`` on the GPU, same
decode/crop/resize/normalise (the cost of SADA's per-sample plumbing); (3) SADA DALI on the CPU
backend; (4) a torchvision ``Dataset`` + ``DataLoader`` with the same SADA ops at the same
strengths; (5) the estimator's ``update`` as a fraction of a ResNet-50 AMP training step; (6)
native DALI on the CPU backend (readers.file, image_random_crop, resize, trivial_augment_wide,
crop_mirror_normalize: no sada-dali code); (7) row 3 reading the same images from WebDataset tar
shards; (8) row 6 with its TrivialAugment step drawn from SADA's op space (the same image work as
row 3, so row 3 / row 8 is the price of SADA's reader alone). Without a GPU, rows 1, 2 and 5 are
skipped. Without ``--data`` a photo-like JPEG corpus (500x375, about 110 KB each) is generated
once; row 7 reads it packed into shards (once).
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from ..checkpoint import save_json
from ..loader._defaults import usable_cpus
from ._args import int_at_least
from ._bench_data import corpus, shards_of
from ._bench_report import RATIOS, compute_cpu_ratios, compute_ratios, compute_round_ratios, format_table

__all__ = [
    "add_parser",
    "run",
    "RATIOS",
    "compute_ratios",
    "compute_round_ratios",
    "compute_cpu_ratios",
    "format_table",
]

ALL_ROWS = (1, 2, 3, 4, 5, 6, 7, 8)


def _data_source(text: str) -> str:
    """``--data``: an ImageFolder, a folder of shards, a ``.tar`` shard or a brace pattern."""
    path = os.path.abspath(os.path.expanduser(text))
    if os.path.isdir(path) or "{" in path or (path.endswith(".tar") and os.path.isfile(path)):
        return path
    raise argparse.ArgumentTypeError(
        f"The `--data` {text!r} does not exist; pass an ImageFolder, a folder of .tar shards or a "
        "brace pattern such as /data/train-{0000..0127}.tar."
    )


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``bench`` and its options."""
    parser = subparsers.add_parser(
        "bench",
        help="measure loader throughput: SADA DALI (GPU, CPU) vs DALI TrivialAugment vs torchvision",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data",
        type=_data_source,
        default=None,
        help="an ImageFolder, a folder of tar shards or a brace pattern (default: a generated corpus)",
    )
    parser.add_argument(
        "--images",
        type=int_at_least(1, "--images"),
        default=512,
        help="images of the generated corpus (one epoch)",
    )
    parser.add_argument(
        "--classes", type=int_at_least(1, "--classes"), default=8, help="classes of the generated corpus"
    )
    parser.add_argument(
        "--batch-size", type=int_at_least(1, "--batch-size"), default=64, help="images per batch"
    )
    parser.add_argument("--image-size", type=int_at_least(8, "--image-size"), default=224, help="output side")
    parser.add_argument(
        "--repeats", type=int_at_least(1, "--repeats"), default=3, help="timed epochs per row"
    )
    parser.add_argument(
        "--workers",
        type=int_at_least(1, "--workers"),
        default=None,
        help="DALI threads and DataLoader workers (default: the usable cores)",
    )
    parser.add_argument("--rows", default="1,2,3,4,5,6,7,8", help="comma-separated rows to run")
    parser.add_argument(
        "--tiny", action="store_true", help="CI mode: 16 images at 64x48, batch 4, output 32 px, 1 repeat"
    )
    parser.add_argument(
        "--seed", type=int_at_least(0, "--seed"), default=0, help="seed of strengths and order"
    )
    parser.add_argument(
        "--cache", type=Path, default=None, help="folder of generated corpora (default: ~/.cache/sada-dali)"
    )
    parser.add_argument("--json", type=Path, default=Path("runs/bench/throughput.json"), help="JSON output")
    parser.add_argument("--plot", type=Path, default=None, help="bar chart PNG (default: next to --json)")
    return parser


def _parse_rows(args) -> list[int]:
    try:
        rows = sorted({int(part) for part in args.rows.split(",") if part.strip()})
    except ValueError:
        rows = []
    if not rows or any(row not in ALL_ROWS for row in rows):
        args.parser.error(f"The `--rows` must be a comma-separated subset of 1,...,8, got {args.rows!r}.")
    return rows


def _dali_version() -> str:
    import nvidia.dali

    return nvidia.dali.__version__  # whichever build is installed (cuda120, cuda130)


def _prepare(row: int, *, source, shard_source, listing, strengths, table, workers, common):
    from . import _bench_rows as rows_
    from ._bench_native import prepare_native_dali

    if row in (1, 3, 7):
        return rows_.prepare_sada_dali(
            shard_source if row == 7 else source,
            strengths,
            device="gpu" if row == 1 else "cpu",
            threads=workers,
            **common,
        )
    if row == 2:
        return rows_.prepare_trivial_augment(source, threads=workers, **common)
    if row == 4:
        return rows_.prepare_torchvision(source, table, workers=workers, **common)
    op_space = "sada" if row == 8 else "trivial_augment_wide"
    return prepare_native_dali(listing.files, listing.labels, threads=workers, op_space=op_space, **common)


def run(args) -> int:
    """Measure the selected rows, print the table, write the JSON and the bar chart."""
    import numpy as np
    import torch

    from ..data.source import create_listing
    from ..strength import StrengthTable
    from . import _bench_rows as rows_
    from ._bench_timing import time_rows
    from .plots import plot_throughput

    selected = _parse_rows(args)
    if args.tiny:
        args.images, args.batch_size, args.image_size, args.repeats = 16, 4, 32, 1
        size = (64, 48)
    else:
        size = (500, 375)
    workers = args.workers or usable_cpus()
    if args.data is not None:
        train = os.path.join(args.data, "train")
        source = train if os.path.isdir(train) else args.data
    else:
        source = corpus(args, size)
    listing = create_listing(source)
    num_samples = len(listing)
    if num_samples < args.batch_size:
        args.parser.error(
            f"The `--batch-size` ({args.batch_size}) must not exceed the images read "
            f"({num_samples}); lower it or add images."
        )
    strengths = np.random.default_rng(args.seed).random(num_samples, dtype=np.float32)
    gpu = torch.cuda.is_available()
    shard_source = None
    if 7 in selected and not listing.shards:
        shard_source = shards_of(args, source)
    common = dict(batch_size=args.batch_size, image_size=args.image_size, seed=args.seed)
    skipped, prepared = {}, {}
    table = StrengthTable(num_samples, initial=strengths)
    try:
        for row in selected:
            if row in (1, 2, 5) and not gpu:
                skipped[row] = "no GPU"
            elif row in (6, 7, 8) and listing.shards:
                skipped[row] = "--data is tar shards (row 3 reads them)" if row == 7 else "reads files"
            elif row != 5:
                prepared[row] = _prepare(
                    row,
                    source=source,
                    shard_source=shard_source,
                    listing=listing,
                    strengths=strengths,
                    table=table,
                    workers=workers,
                    common=common,
                )
        print(f"timing rows {sorted(prepared)} in {args.repeats} interleaved rounds", flush=True)
        timings = time_rows(prepared, args.repeats)
    finally:
        table.close()
    results = []
    for row in selected:
        if row in skipped:
            results.append(rows_.skipped_row(row, skipped[row]))
        elif row == 5:
            results.append(rows_.measure_estimator_overhead(batch_size=args.batch_size))
        else:
            device = "gpu" if row in (1, 2) else "cpu"
            results.append(rows_.loader_row(row, timings[row], device=device, threads=workers))
    ratios, round_ratios = compute_ratios(results), compute_round_ratios(results)
    cpu_ratios = compute_cpu_ratios(results)
    print(format_table(results, ratios))
    for name in ratios:
        if round_ratios[name] is not None:
            print(
                f"ratio {name}: median of per-round ratios {round_ratios[name]:.2f}x; "
                f"from CPU time per image {cpu_ratios[name]:.2f}x"
            )
    report = {
        "config": {
            "data": source,
            "shards": shard_source,
            "num_samples": num_samples,
            "batch_size": args.batch_size,
            "image_size": args.image_size,
            "repeats": args.repeats,
            "workers": workers,
            "tiny": args.tiny,
            "seed": args.seed,
        },
        "machine": {
            "cpus": usable_cpus(),
            "gpu": torch.cuda.get_device_name(0) if gpu else None,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "dali": _dali_version(),
        },
        "rows": results,
        "ratios": ratios,
        "round_ratios": round_ratios,
        "cpu_ratios": cpu_ratios,
    }
    save_json(report, args.json)
    plot = plot_throughput([r for r in results if r["row"] != 5], args.plot or args.json.with_suffix(".png"))
    print(f"wrote {args.json} and {plot}")
    return 0
