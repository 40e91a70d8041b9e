"""``sada-dali bench``: loader throughput of SADA on DALI against the torchvision CPU loader.

All loader rows read the same JPEGs and produce the same batches (``--image-size`` squared,
ImageNet-normalised float32 NCHW). Each runs one warm-up epoch and ``--repeats`` timed epochs
and reports the median images/s. Rows: (1) SADA DALI on the GPU; (2) DALI's own
``trivial_augment_wide`` on the GPU, same decode/crop/resize/normalise (the cost of SADA's
per-sample plumbing); (3) SADA DALI on the CPU backend; (4) a torchvision ``Dataset`` +
``DataLoader`` with the same SADA ops at the same strengths; (5) the estimator's ``update`` as a
fraction of a ResNet-50 AMP training step. Without a GPU, rows 1, 2 and 5 are skipped. Without
``--data`` a photo-like JPEG corpus (500x375, about 110 KB each) is generated once.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from ..checkpoint import save_json
from ..loader._defaults import usable_cpus
from ._args import existing_dir, int_at_least

__all__ = ["add_parser", "run", "compute_ratios", "format_table"]

RATIOS = (("row1/row2", 1, 2), ("row1/row4", 1, 4), ("row3/row4", 3, 4))


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
        type=existing_dir("--data"),
        default=None,
        help="an ImageFolder to read (default: a generated corpus in --cache)",
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
    parser.add_argument("--rows", default="1,2,3,4,5", help="comma-separated rows to run")
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
    if not rows or any(row not in (1, 2, 3, 4, 5) for row in rows):
        args.parser.error(f"The `--rows` must be a comma-separated subset of 1,2,3,4,5, got {args.rows!r}.")
    return rows


def compute_ratios(rows: list[dict]) -> dict:
    """Speed-up ratios ``rowA/rowB`` of images/s; None where either row was not measured."""
    rate = {row["row"]: row.get("images_per_s") for row in rows}
    return {name: (rate[a] / rate[b] if rate.get(a) and rate.get(b) else None) for name, a, b in RATIOS}


def format_table(rows: list[dict], ratios: dict) -> str:
    """The printed table: one line per row, then the ratios."""
    lines = [f"{'row':<4}{'loader':<48}{'images/s':>18}", "-" * 70]
    for row in rows:
        if row["row"] == 5 and row["status"] == "ok":
            value = f"{100 * row['fraction_of_step']:.2f}% of step"
        elif row["status"] == "ok":
            value = f"{row['images_per_s']:.1f}"
        else:
            value = row["status"]
        lines.append(f"{row['row']:<4}{row['name']:<48}{value:>18}")
    lines.append("-" * 70)
    for name, value in ratios.items():
        lines.append(f"ratio {name}: " + ("n/a (a row was skipped)" if value is None else f"{value:.2f}x"))
    return "\n".join(lines)


def _dali_version() -> str:
    import nvidia.dali

    return nvidia.dali.__version__  # whichever build is installed (cuda120, cuda130)


def _source(args) -> str:
    """The ImageFolder to read: ``--data`` (its ``train/`` if it has one) or the cached photo corpus."""
    from ..data.synthetic import create_photo_corpus, default_cache_dir

    if args.data is not None:
        train = os.path.join(args.data, "train")
        return train if os.path.isdir(train) else args.data
    size = (64, 48) if args.tiny else (500, 375)
    cache = args.cache or default_cache_dir()
    name = f"corpus_{args.images}x{args.classes}_{size[0]}x{size[1]}"
    corpus = create_photo_corpus(
        cache / name,
        num_images=args.images,
        num_classes=args.classes,
        width=size[0],
        height=size[1],
        seed=args.seed,
    )
    return str(corpus / "train")


def _measure(row: int, source: str, strengths, *, gpu: bool, workers: int, args) -> dict:
    """One row of the benchmark (or its skip record)."""
    from . import _bench_rows as rows_

    common = dict(
        batch_size=args.batch_size, image_size=args.image_size, repeats=args.repeats, seed=args.seed
    )
    if row in (1, 2, 5) and not gpu:
        return rows_.skipped_row(row, "no GPU")
    if row in (1, 3):
        device = "gpu" if row == 1 else "cpu"
        return rows_.measure_sada_dali(row, source, strengths, device=device, threads=workers, **common)
    if row == 2:
        return rows_.measure_trivial_augment(source, threads=workers, **common)
    if row == 4:
        return rows_.measure_torchvision(source, strengths, workers=workers, **common)
    return rows_.measure_estimator_overhead(batch_size=args.batch_size)


def _machine(gpu: bool) -> dict:
    import torch

    return {
        "cpus": usable_cpus(),
        "gpu": torch.cuda.get_device_name(0) if gpu else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "dali": _dali_version(),
    }


def run(args) -> int:
    """Measure the selected rows, print the table, write the JSON and the bar chart."""
    import numpy as np
    import torch

    from ..data.source import create_listing
    from .plots import plot_throughput

    selected = _parse_rows(args)
    if args.tiny:
        args.images, args.batch_size, args.image_size, args.repeats = 16, 4, 32, 1
    workers = args.workers or usable_cpus()
    source = _source(args)
    num_samples = len(create_listing(source))
    if num_samples < args.batch_size:
        args.parser.error(
            f"The `--batch-size` ({args.batch_size}) must not exceed the images read "
            f"({num_samples}); lower it or add images."
        )
    strengths = np.random.default_rng(args.seed).random(num_samples, dtype=np.float32)
    gpu = torch.cuda.is_available()
    results = []
    config = {"data": source, "num_samples": num_samples, "batch_size": args.batch_size}
    config |= {"image_size": args.image_size, "repeats": args.repeats, "workers": workers}
    config |= {"tiny": args.tiny, "seed": args.seed}
    report = {"config": config, "machine": _machine(gpu), "rows": results, "ratios": {}}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    for row in selected:
        results.append(_measure(row, source, strengths, gpu=gpu, workers=workers, args=args))
        print(f"row {row} done: {results[-1]['status']}", flush=True)
        report["ratios"] = compute_ratios(results)
        save_json(report, args.json)  # after every row: a run killed later keeps the rows measured
    print(format_table(results, report["ratios"]))
    plot = plot_throughput([r for r in results if r["row"] != 5], args.plot or args.json.with_suffix(".png"))
    print(f"wrote {args.json} and {plot}")
    return 0
