"""``sada-dali demo``: per-sample strength policies compared on real handwritten digits.

The demo needs no download: it writes scikit-learn's bundled digits as a JPEG ImageFolder
(:func:`sada_dali.data.synthetic.create_digits_dataset`), then trains the same small CNN
through :class:`sada_dali.SADALoader` with the same ops once per policy and seed: by default
SADA (the estimator sees every batch's logits and sets each sample's strength for the next
epoch) against uniform random strengths drawn per sample and epoch (TrivialAugment's rule),
one seed each; ``--policies`` adds sada-rank, entaugment and constant, ``--seeds N`` repeats
each policy over N seeds and reports the mean and standard deviation of the final accuracy.
It prints one line per epoch and writes ``summary.json`` and ``strength_evolution.png``
(per-epoch strength histograms per policy, side by side, as the paper's Figure 1).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._args import add_device_option, add_loader_options, int_at_least, positive_float
from ._policy import add_policy_options

__all__ = ["add_parser", "run", "write_limited_list", "accuracy_stats"]

DEFAULT_POLICIES = ("sada", "trivial")
TRANSLATE_RELATIVE = 0.1
"""Translations move by up to 10% of the side: the paper's pixel maxima are meant for 224 px."""
RANDOM_AREA = (0.25, 1.0)
"""Crops keep at least a quarter of a digit; ImageNet's 8% leaves only a stroke."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``demo`` and its options."""
    parser = subparsers.add_parser(
        "demo",
        help="train a small CNN on handwritten digits with SADA and other per-sample policies",
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
    parser.add_argument("--seed", type=int_at_least(0, "--seed"), default=0, help="first run seed")
    parser.add_argument(
        "--seeds",
        type=int_at_least(1, "--seeds"),
        default=1,
        help="runs per policy, with seeds --seed, --seed + 1, ...; the summary reports mean and std",
    )
    add_policy_options(parser, many=True, default=list(DEFAULT_POLICIES))
    add_loader_options(
        parser,
        workers=0,
        workers_help="file-reading processes of the loader (0: inline; the digit files are tiny)",
        threads_help="DALI CPU threads (default: the usable cores, at most 4)",
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


def _train_run(policy_name: str, seed: int, args, sources: dict, device: str) -> dict:
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    from ..loader import SADALoader
    from ..op_space import create_op_space
    from ._loop import evaluate, format_epoch, summarize_strengths, train_one_epoch
    from ._policy import create_policy
    from .models import SmallCNN

    torch.manual_seed(seed)
    common = dict(
        device=device,
        image_size=args.image_size,
        seed=seed,
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
    policy = create_policy(
        policy_name,
        num_samples=train.num_samples,
        num_classes=len(train.classes),
        device="cuda" if device == "gpu" else "cpu",
        seed=seed,
        magnitude=args.magnitude,
        window=args.window,
    )
    estimator = policy.estimator
    if estimator is not None:
        train.set_strengths(estimator)
    label = policy_name if args.seeds == 1 else f"{policy_name} seed {seed}"
    epochs, history = [], []
    try:
        for epoch in range(args.epochs):
            if estimator is None:
                train.set_strengths(policy.table(epoch))
            train.set_epoch(epoch)
            stats = train_one_epoch(
                model,
                train,
                optimizer,
                device=torch_device,
                estimator=estimator,
                scheduler=scheduler,
                desc=f"{label} {epoch + 1}/{args.epochs}",
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
            tqdm.write(format_epoch(label, epoch + 1, args.epochs, stats, scores, strength))
    finally:
        train.close()
        val.close()
    return {
        "seed": seed,
        "epochs": epochs,
        "final_val_accuracy": epochs[-1]["val_accuracy"],
        "strength_history": history,
        "train_samples": train.num_samples,
        "val_samples": val.num_samples,
    }


def accuracy_stats(values) -> dict:
    """``mean``, ``std`` (sample standard deviation, 0.0 for one value), ``n`` and the ``values``."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
        "n": int(v.size),
        "values": [float(x) for x in v],
    }


def run(args) -> int:
    """Build the digits (once), train every policy over every seed, write ``summary.json`` and the figure."""
    from ..checkpoint import save_json
    from ..data.synthetic import create_digits_dataset, default_cache_dir
    from ..loader._defaults import usable_cpus
    from ._args import resolve_device
    from .plots import plot_policy_strengths

    start = time.perf_counter()
    if args.limit is not None and args.limit < args.batch_size:
        args.parser.error(
            f"The `--limit` ({args.limit}) must be at least the `--batch-size` "
            f"({args.batch_size}); lower --batch-size or raise --limit."
        )
    policies = list(dict.fromkeys(args.policies))  # each once, in the order given
    device = resolve_device(args.device)
    args.threads = args.threads or max(1, min(4, usable_cpus()))
    args.out.mkdir(parents=True, exist_ok=True)
    root = create_digits_dataset(args.cache or default_cache_dir() / "digits")
    sources = _sources(args, root)
    seeds = [args.seed + k for k in range(args.seeds)]
    print(
        f"sada-dali demo: digits at {root}, device {device}, {args.epochs} epochs per run, "
        f"policies {', '.join(policies)}, seeds {seeds}"
    )
    results = {name: [_train_run(name, seed, args, sources, device) for seed in seeds] for name in policies}
    histories = {name: runs[0].pop("strength_history") for name, runs in results.items()}
    for runs in results.values():
        for r in runs:
            r.pop("strength_history", None)
    figure = plot_policy_strengths(
        histories,
        args.out / "strength_evolution.png",
        title=f"Per-sample strength by epoch, digits demo (seed {seeds[0]})",
    )
    config = {
        key: (str(value) if isinstance(value, Path) else value)
        for key, value in vars(args).items()
        if key not in ("func", "parser")
    }
    final = {name: accuracy_stats([r["final_val_accuracy"] for r in runs]) for name, runs in results.items()}
    summary = {
        "config": {**config, "policies": policies, "device": device, "dataset": str(root)},
        "runs": results,
        "final_accuracy": final,
        "elapsed_s": time.perf_counter() - start,
    }
    save_json(summary, args.out / "summary.json")
    width = max(len(name) for name in policies)
    val_images = results[policies[0]][0]["val_samples"]
    print(f"final val accuracy over {len(seeds)} seed(s), mean ± std ({val_images} validation images):")
    for name in policies:
        f = final[name]
        each = "  ".join(f"{100 * v:.1f}" for v in f["values"])
        print(f"  {name:<{width}}  {100 * f['mean']:5.1f} ± {100 * f['std']:4.1f} %   ({each})")
    print(f"({summary['elapsed_s']:.0f} s) wrote {args.out / 'summary.json'} and {figure}")
    return 0
