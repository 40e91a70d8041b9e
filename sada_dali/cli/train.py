"""``sada-dali train``: reference ImageNet training with :class:`sada_dali.SADALoader` as a drop-in.

A torchvision model (``--arch``, default resnet50) is trained with SGD + momentum, a per-step
cosine decay, mixed precision on the GPU, and the SADA loader with a per-sample strength
policy over the same ops (``--policy``: SADA by default; ``sada-rank``, ``entaugment``,
``trivial`` or ``constant``; ``--no-sada`` is ``--policy trivial``). Every
epoch ends with a validation pass and an atomic checkpoint (model, optimiser, scheduler, AMP
scaler, epoch, estimator state) that ``--resume`` continues from.

Distributed hook: under ``torchrun`` (``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` set) the process
group is initialised, the model is wrapped in ``DistributedDataParallel`` and each rank's
loader reads shard ``RANK`` of ``WORLD_SIZE``. An estimator is replicated on every rank and
wrapped in :class:`sada_dali.distributed.DistributedEstimator`, which all-gathers each step's
(indices, logits), so every rank computes the same strengths over the whole dataset.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._args import add_device_option, add_loader_options, existing_dir, int_at_least, positive_float
from ._policy import add_policy_options

__all__ = ["add_parser", "run", "init_distributed"]

CHECKPOINT = "checkpoint.pt"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``train`` and its options."""
    parser = subparsers.add_parser(
        "train",
        help="train a torchvision model on an ImageFolder (train/ and val/) with the SADA loader",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data",
        type=existing_dir("--data"),
        required=True,
        help="dataset folder holding train/<class>/... and val/<class>/...",
    )
    parser.add_argument("--arch", default="resnet50", help="torchvision model name, or small_cnn")
    parser.add_argument("--epochs", type=int_at_least(1, "--epochs"), default=90, help="total epochs")
    parser.add_argument(
        "--batch-size", type=int_at_least(1, "--batch-size"), default=256, help="per-process batch"
    )
    parser.add_argument(
        "--lr",
        type=positive_float("--lr"),
        default=None,
        help="peak learning rate (default: 0.1 x global batch / 256)",
    )
    parser.add_argument("--momentum", type=positive_float("--momentum"), default=0.9, help="SGD momentum")
    parser.add_argument("--weight-decay", type=float, default=1e-4, help="SGD weight decay")
    add_policy_options(parser, many=False, default="sada")
    parser.add_argument("--sada", dest="policy", action="store_const", const="sada", help="--policy sada")
    parser.add_argument(
        "--no-sada", dest="policy", action="store_const", const="trivial", help="--policy trivial"
    )
    parser.add_argument("--window", type=int_at_least(2, "--window"), default=10, help="estimator window L")
    parser.add_argument(
        "--decay", type=positive_float("--decay"), default=0.9, help="estimator EMA weight beta"
    )
    parser.add_argument(
        "--image-size", type=int_at_least(8, "--image-size"), default=224, help="training side"
    )
    parser.add_argument(
        "--max-steps",
        type=int_at_least(1, "--max-steps"),
        default=None,
        help="cap on training (and validation) batches per epoch, for smoke tests",
    )
    parser.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="float16 autocast + gradient scaling (GPU only)",
    )
    parser.add_argument("--seed", type=int_at_least(0, "--seed"), default=0, help="run seed")
    add_loader_options(
        parser,
        workers=None,
        workers_help="file-reading processes per loader (default: the loader's)",
        threads_help="DALI CPU threads per loader (default: the loader's)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/train"), help="checkpoint and metrics folder")
    parser.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from")
    add_device_option(parser)
    return parser


def init_distributed(device: str) -> tuple[int, int, int]:
    """Join the ``torchrun`` process group when ``WORLD_SIZE`` > 1; return (rank, world_size, local_rank)."""
    import torch

    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if world > 1 and not torch.distributed.is_initialized():
        if device == "gpu":
            torch.cuda.set_device(local_rank)
        torch.distributed.init_process_group(backend="nccl" if device == "gpu" else "gloo")
    return rank, world, local_rank


def _check_args(args) -> None:
    from .models import check_arch

    for split in ("train", "val"):
        if not os.path.isdir(os.path.join(args.data, split)):
            args.parser.error(
                f"The `--data` {args.data!r} must hold a `{split}/` folder of class folders "
                f"(ImageNet layout: {split}/<class>/<image>.JPEG)."
            )
    try:
        check_arch(args.arch)
    except ValueError as exc:
        args.parser.error(str(exc).replace("`arch`", "`--arch`"))
    if args.resume is not None and not args.resume.is_file():
        args.parser.error(
            f"The `--resume` {str(args.resume)!r} is not a file; pass a checkpoint.pt written "
            "by `sada-dali train`."
        )


@dataclass
class _Training:
    """What one run trains and saves: the model and everything stepped with it."""

    model: object
    optimizer: object
    scheduler: object
    scaler: object = None
    estimator: object = None
    policy: object = None
    start_epoch: int = 0
    history: list = field(default_factory=list)

    def state(self, args, epoch: int) -> dict:
        """The checkpoint after ``epoch`` (0-based) ends."""
        return {
            "epoch": epoch + 1,
            "arch": args.arch,
            "policy": args.policy,
            "sada": args.policy in ("sada", "sada-rank"),
            "model": getattr(self.model, "module", self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "estimator": self.estimator.state_dict() if self.estimator is not None else None,
            "history": self.history,
        }


def _create_loaders(args, device: str, rank: int, world: int, local_rank: int):
    """The train and val loaders of this rank's shard; refuses train/ and val/ with other classes."""
    from ..loader import SADALoader

    common = dict(
        device=device,
        image_size=args.image_size,
        seed=args.seed,
        num_shards=world,
        shard_id=rank,
        num_threads=args.threads,
        workers=args.workers,
        device_id=local_rank if device == "gpu" else None,
    )
    train = SADALoader(os.path.join(args.data, "train"), args.batch_size, **common)
    val = SADALoader(os.path.join(args.data, "val"), args.batch_size, train=False, drop_last=False, **common)
    if val.classes != train.classes:
        train.close()
        val.close()
        args.parser.error(
            f"The `--data` {args.data!r} has different class folders in train/ "
            f"({len(train.classes)}) and val/ ({len(val.classes)}); they must match."
        )
    return train, val


def _create_training(args, train, device: str, torch_device, world: int, local_rank: int) -> _Training:
    """The model (DDP on several ranks), SGD, the cosine schedule, the AMP scaler and the estimator."""
    import torch

    from ._policy import create_policy
    from .models import create_model

    model = create_model(args.arch, len(train.classes)).to(
        torch_device, memory_format=torch.channels_last if device == "gpu" else torch.contiguous_format
    )
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device == "gpu" else None
        )
    lr = args.lr or 0.1 * args.batch_size * world / 256
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=args.momentum, weight_decay=args.weight_decay
    )
    steps = len(train) if args.max_steps is None else min(len(train), args.max_steps)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * steps)
    scaler = torch.amp.GradScaler("cuda") if device == "gpu" and args.amp else None
    policy = create_policy(
        args.policy,
        num_samples=train.num_samples,
        num_classes=len(train.classes),
        device=f"cuda:{local_rank}" if device == "gpu" else "cpu",
        seed=args.seed,
        magnitude=args.magnitude,
        window=args.window,
        decay=args.decay,
    )
    estimator = policy.estimator
    if estimator is not None and world > 1:
        from ..distributed import DistributedEstimator

        estimator = DistributedEstimator(estimator, args.batch_size)
    return _Training(model, optimizer, scheduler, scaler, estimator, policy=policy)


def _resume(args, training: _Training, torch_device, rank: int) -> None:
    """Load ``--resume``: weights, optimiser, schedule, scaler, estimator, epoch and history."""
    from ..checkpoint import load_checkpoint

    try:
        ckpt = load_checkpoint(args.resume, map_location=torch_device)
    except ValueError as exc:
        args.parser.error(f"The `--resume` file cannot be read: {exc}")
    saved_policy = ckpt.get("policy", "sada" if ckpt.get("sada", True) else "trivial")
    if ckpt["arch"] != args.arch or saved_policy != args.policy:
        args.parser.error(
            f"The `--resume` checkpoint was trained with --arch {ckpt['arch']} and "
            f"--policy {saved_policy}; pass the same --arch and --policy."
        )
    getattr(training.model, "module", training.model).load_state_dict(ckpt["model"])
    training.optimizer.load_state_dict(ckpt["optimizer"])
    training.scheduler.load_state_dict(ckpt["scheduler"])
    if training.scaler is not None and ckpt.get("scaler"):
        training.scaler.load_state_dict(ckpt["scaler"])
    if training.estimator is not None:
        training.estimator.load_state_dict(ckpt["estimator"])
    training.start_epoch, training.history = int(ckpt["epoch"]), list(ckpt.get("history", []))
    if rank == 0:
        print(f"resumed from {args.resume} at epoch {training.start_epoch}")


def _run_epoch(args, epoch: int, training: _Training, train, val, torch_device) -> dict:
    """Train ``epoch`` (its strengths set first), close the estimator's epoch, validate; the history row."""
    from ._loop import evaluate, summarize_strengths, train_one_epoch

    if training.estimator is None:
        train.set_strengths(training.policy.table(epoch))
    train.set_epoch(epoch)
    tic = time.perf_counter()
    stats = train_one_epoch(
        training.model,
        train,
        training.optimizer,
        device=torch_device,
        estimator=training.estimator,
        scaler=training.scaler,
        scheduler=training.scheduler,
        max_steps=args.max_steps,
        desc=f"epoch {epoch + 1}/{args.epochs}",
    )
    strength = summarize_strengths(train.strengths)
    if training.estimator is not None:
        training.estimator.end_epoch()
    scores = evaluate(
        training.model, val, device=torch_device, amp=training.scaler is not None, max_steps=args.max_steps
    )
    return {
        "epoch": epoch + 1,
        "train_loss": stats["loss"],
        "train_accuracy": stats["accuracy"],
        "val_loss": scores["loss"],
        "val_accuracy": scores["accuracy"],
        "images_per_s": stats["images_per_s"],
        "strength": strength,
        "seconds": time.perf_counter() - tic,
    }


def _report_and_save(args, epoch: int, training: _Training) -> None:
    """Rank 0: print the epoch's line, then write the checkpoint and ``metrics.json`` atomically."""
    from ..checkpoint import save_checkpoint, save_json

    row = training.history[-1]
    print(
        f"epoch {epoch + 1}/{args.epochs}  val acc {100 * row['val_accuracy']:.2f}%  "
        f"val loss {row['val_loss']:.3f}  train loss {row['train_loss']:.3f}  "
        f"{row['images_per_s']:.0f} img/s  strength mean {row['strength']['mean']:.2f}",
        flush=True,
    )
    save_checkpoint(training.state(args, epoch), args.out / CHECKPOINT)
    save_json(training.history, args.out / "metrics.json")


def run(args) -> int:
    """Train, validate and checkpoint every epoch; returns 0."""
    import torch

    from ._args import resolve_device

    _check_args(args)
    device = resolve_device(args.device)
    rank, world, local_rank = init_distributed(device)
    torch.manual_seed(args.seed)
    torch_device = torch.device(f"cuda:{local_rank}" if device == "gpu" else "cpu")
    train, val = _create_loaders(args, device, rank, world, local_rank)
    try:
        training = _create_training(args, train, device, torch_device, world, local_rank)
        if args.resume is not None:
            _resume(args, training, torch_device, rank)
        if training.estimator is not None:
            train.set_strengths(training.estimator)
        args.out.mkdir(parents=True, exist_ok=True)
        for epoch in range(training.start_epoch, args.epochs):
            training.history.append(_run_epoch(args, epoch, training, train, val, torch_device))
            if rank == 0:
                _report_and_save(args, epoch, training)
    finally:
        train.close()
        val.close()
    return 0
