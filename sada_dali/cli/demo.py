"""``sada-dali demo``: SADA against a TrivialAugment-style baseline on real handwritten digits.

The demo needs no download: it writes scikit-learn's bundled digits as a JPEG ImageFolder
(:func:`sada_dali.data.synthetic.create_digits_dataset`), then trains the same small CNN twice
through :class:`sada_dali.SADALoader` with the same ops: once with SADA (the estimator sees
every batch's logits and sets each sample's strength for the next epoch) and once with
uniform random strengths drawn per sample and epoch, which is TrivialAugment's magnitude
rule. It prints one line per epoch and writes ``summary.json`` and
``strength_evolution.png`` (per-epoch strength histograms, as the paper's Figure 1).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._args import add_device_option, int_at_least, positive_float

__all__ = ["add_parser", "run", "write_limited_list"]

RUNS = ("sada", "trivial_augment")
TRANSLATE_RELATIVE = 0.1
"""Translations move by up to 10% of the side: the paper's pixel maxima are meant for 224 px."""
RANDOM_AREA = (0.25, 1.0)
"""Crops keep at least a quarter of a digit; ImageNet's 8% leaves only a stroke."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``demo`` and its options."""
    parser = subparsers.add_parser(
        "demo",
        help="train a small CNN on handwritten digits with SADA and with a TrivialAugment baseline",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--epochs", type=int_at_least(1, "--epochs"), default=10, help="epochs per run")
    parser.add_argument(
        "--limit",
        type=int_at_least(1, "--limit"),
        default=None,
        help="use at most this many training images (and a quarter as many for validation)",
    )
    parser.add_argument(
        "--batch-size", type=int_at_least(1, "--batch-size"), default=64, help="images per step"
    )
    parser.add_argument("--lr", type=positive_float("--lr"), default=0.1, help="peak SGD learning rate")
    parser.add_argument(
        "--image-size", type=int_at_least(8, "--image-size"), default=32, help="training side"
    )
    parser.add_argument(
        "--window",
        type=int_at_least(2, "--window"),
        default=5,
        help="estimator window L in epochs (the paper's example is 5; its ImageNet default is 10)",
    )
    parser.add_argument("--seed", type=int_at_least(0, "--seed"), default=0, help="run seed")
    parser.add_argument(
        "--workers",
        type=int_at_least(0, "--workers"),
        default=0,
        help="file-reading processes of the loader (0: inline; the digit files are tiny)",
    )
    parser.add_argument(
        "--threads",
        type=int_at_least(1, "--threads"),
        default=None,
        help="DALI CPU threads (default: the usable cores, at most 4)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="dataset folder (default: ~/.cache/sada-dali/digits); built once",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    add_device_option(parser)
    return parser


def write_limited_list(listing, limit: int, path: Path, *, seed: int) -> Path:
    """Write a DALI file list of ``limit`` samples of ``listing`` (a seeded choice, listing order)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(len(listing))[:limit])
    root = Path(listing.root)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        f"{Path(listing.files[i]).relative_to(root).as_posix()} {int(listing.labels[i])}\n" for i in keep
    ]
    path.write_text("".join(lines))
    return path


def _sources(args, root: Path) -> dict:
    """``{"train": (source, file_root), "val": ...}``, limited by ``--limit`` through file lists."""
    from ..data.source import create_listing

    out = {}
    for split, limit in (
        ("train", args.limit),
        ("val", None if args.limit is None else max(1, args.limit // 4)),
    ):
        folder = root / split
        listing = create_listing(folder)
        if limit is None or limit >= len(listing):
            out[split] = (str(folder), None)
        else:
            lst = write_limited_list(listing, limit, args.out / "lists" / f"{split}.txt", seed=args.seed)
            out[split] = (str(lst), str(folder))
    return out


def _train_run(name: str, args, sources: dict, device: str) -> dict:
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    from ..estimator import SADAEstimator, warmup_strengths
    from ..loader import SADALoader
    from ..ops import create_op_space
    from ._loop import evaluate, format_epoch, summarize_strengths, train_one_epoch
    from .models import SmallCNN

    torch.manual_seed(args.seed)
    common = dict(
        device=device,
        image_size=args.image_size,
        seed=args.seed,
        num_threads=args.threads,
        workers=args.workers,
    )
    train = SADALoader(
        sources["train"][0],
        args.batch_size,
        file_root=sources["train"][1],
        random_area=RANDOM_AREA,
        op_space=create_op_space(translate_relative=TRANSLATE_RELATIVE),
        **common,
    )
    val = SADALoader(
        sources["val"][0],
        args.batch_size,
        file_root=sources["val"][1],
        train=False,
        drop_last=False,
        **common,
    )
    torch_device = torch.device("cuda" if device == "gpu" else "cpu")
    model = SmallCNN(len(train.classes)).to(torch_device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4, nesterov=True
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=args.epochs * len(train))
    estimator = None
    if name == "sada":
        estimator = SADAEstimator(
            train.num_samples,
            len(train.classes),
            window=args.window,
            device="cuda" if device == "gpu" else "cpu",
            seed=args.seed,
        )
        train.set_strengths(estimator)
    epochs, history = [], []
    try:
        for epoch in range(args.epochs):
            if estimator is None:
                train.set_strengths(warmup_strengths(args.seed, epoch, np.arange(train.num_samples)))
            train.set_epoch(epoch)
            stats = train_one_epoch(
                model,
                train,
                optimizer,
                device=torch_device,
                estimator=estimator,
                scheduler=scheduler,
                desc=f"{name} {epoch + 1}/{args.epochs}",
            )
            used = np.array(train.strengths)  # the strengths this epoch was augmented with
            if estimator is not None:
                estimator.end_epoch()
            scores = evaluate(model, val, device=torch_device)
            strength = summarize_strengths(used)
            history.append(used)
            epochs.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": stats["loss"],
                    "train_accuracy": stats["accuracy"],
                    "val_loss": scores["loss"],
                    "val_accuracy": scores["accuracy"],
                    "images_per_s": stats["images_per_s"],
                    "seconds": stats["seconds"],
                    "strength": strength,
                }
            )
            tqdm.write(format_epoch(name, epoch + 1, args.epochs, stats, scores, strength))
    finally:
        train.close()
        val.close()
    return {
        "epochs": epochs,
        "final_val_accuracy": epochs[-1]["val_accuracy"],
        "strength_history": history,
        "train_samples": train.num_samples,
        "val_samples": val.num_samples,
    }


def run(args) -> int:
    """Build the digits (once), train both runs, write ``summary.json`` and the figure."""
    from ..checkpoint import save_json
    from ..data.synthetic import create_digits_dataset, default_cache_dir
    from ..loader._defaults import usable_cpus
    from ._args import resolve_device
    from .plots import plot_strength_evolution

    start = time.perf_counter()
    if args.limit is not None and args.limit < args.batch_size:
        args.parser.error(
            f"The `--limit` ({args.limit}) must be at least the `--batch-size` "
            f"({args.batch_size}); lower --batch-size or raise --limit."
        )
    device = resolve_device(args.device)
    args.threads = args.threads or max(1, min(4, usable_cpus()))
    args.out.mkdir(parents=True, exist_ok=True)
    root = create_digits_dataset(args.cache or default_cache_dir() / "digits")
    sources = _sources(args, root)
    print(f"sada-dali demo: digits at {root}, device {device}, {args.epochs} epochs per run")
    results = {name: _train_run(name, args, sources, device) for name in RUNS}
    history = results["sada"].pop("strength_history")
    results["trivial_augment"].pop("strength_history")
    figure = plot_strength_evolution(
        history, args.out / "strength_evolution.png", title="SADA: per-sample strength by epoch (digits demo)"
    )
    config = {
        key: (str(value) if isinstance(value, Path) else value)
        for key, value in vars(args).items()
        if key not in ("func", "parser")
    }
    summary = {
        "config": {**config, "device": device, "dataset": str(root)},
        "runs": results,
        "final_accuracy": {name: results[name]["final_val_accuracy"] for name in RUNS},
        "elapsed_s": time.perf_counter() - start,
    }
    save_json(summary, args.out / "summary.json")
    acc = summary["final_accuracy"]
    print(
        f"final val accuracy: SADA {100 * acc['sada']:.1f}%  "
        f"TrivialAugment {100 * acc['trivial_augment']:.1f}%  "
        f"({summary['elapsed_s']:.0f} s)\nwrote {args.out / 'summary.json'} and {figure}"
    )
    return 0
