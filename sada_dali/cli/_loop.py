"""The training and evaluation loops ``demo`` and ``train`` share."""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch
from tqdm.auto import tqdm

__all__ = ["train_one_epoch", "evaluate", "summarize_strengths", "format_epoch"]


def _autocast(device: torch.device, enabled: bool):
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _step(model, criterion, images, labels, optimizer, scaler, scheduler, device):
    """One optimiser step (scaled under AMP) and one scheduler step; returns (logits, loss)."""
    with _autocast(device, scaler is not None):
        logits = model(images)
        # a batch emptied by on_error="skip" still steps, with a zero loss, so DDP ranks stay in step
        loss = criterion(logits, labels) if labels.shape[0] else logits.sum() * 0.0
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    if scheduler is not None:
        scheduler.step()
    return logits, loss


def train_one_epoch(
    model,
    loader,
    optimizer,
    *,
    device,
    estimator=None,
    scaler=None,
    scheduler=None,
    max_steps: int | None = None,
    desc: str = "train",
) -> dict:
    """One pass over ``loader``; feeds each batch's logits to ``estimator`` when given.

    Parameters
    ----------
    model : torch.nn.Module
        Already on ``device``.
    loader : iterable
        Yields ``(images, labels, indices)`` (a :class:`sada_dali.SADALoader`).
    optimizer : torch.optim.Optimizer
    device : torch.device
    estimator : SADAEstimator, optional
        Gets ``update(indices, logits)`` after every step.
    scaler : torch.amp.GradScaler, optional
        Enables mixed precision (CUDA only).
    scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        Stepped after every optimiser step.
    max_steps : int, optional
        Stop after this many steps.
    desc : str
        Progress-bar label.

    Returns
    -------
    dict
        ``loss`` and ``accuracy`` (means over the seen samples), ``images``, ``steps``,
        ``seconds`` and ``images_per_s`` (wall time, data loading included).
    """
    model.train()
    criterion = torch.nn.CrossEntropyLoss()
    # running sums stay on the device: reading them back every step would synchronise it
    total_loss, correct = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.int64)
    seen, steps = 0, 0
    limit = len(loader) if max_steps is None else min(len(loader), max_steps)
    start = time.perf_counter()
    with tqdm(total=limit, desc=desc, unit="batch", leave=False) as bar:
        for images, labels, indices in loader:
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            batch = labels.shape[0]
            logits, loss = _step(model, criterion, images, labels, optimizer, scaler, scheduler, device)
            if estimator is not None:
                estimator.update(indices, logits.detach())  # fp16/bf16 under AMP: half the traffic
            total_loss += loss.detach().float() * batch
            correct += (logits.detach().argmax(1) == labels).sum()
            seen, steps = seen + batch, steps + 1
            bar.update(1)
            if steps >= limit:
                break
    seconds = time.perf_counter() - start
    total_loss, correct = float(total_loss), int(correct)
    return {
        "loss": total_loss / max(seen, 1),
        "accuracy": correct / max(seen, 1),
        "images": seen,
        "steps": steps,
        "seconds": seconds,
        "images_per_s": seen / max(seconds, 1e-9),
    }


@torch.no_grad()
def evaluate(
    model, loader, *, device, amp: bool = False, max_steps: int | None = None, desc: str = "val"
) -> dict:
    """Mean cross-entropy and top-1 accuracy of ``model`` over ``loader``.

    Returns
    -------
    dict
        ``loss``, ``accuracy`` and ``images``.
    """
    model.eval()
    criterion = torch.nn.CrossEntropyLoss(reduction="sum")
    # running sums stay on the device: reading them back every step would synchronise it
    total_loss, correct = torch.zeros((), device=device), torch.zeros((), device=device, dtype=torch.int64)
    seen, steps = 0, 0
    limit = len(loader) if max_steps is None else min(len(loader), max_steps)
    for images, labels, _ in tqdm(loader, total=limit, desc=desc, unit="batch", leave=False):
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        with _autocast(device, amp):
            logits = model(images)
        total_loss += criterion(logits.float(), labels)
        correct += (logits.argmax(1) == labels).sum()
        seen, steps = seen + labels.shape[0], steps + 1
        if steps >= limit:
            break
    total_loss, correct = float(total_loss), int(correct)
    return {"loss": total_loss / max(seen, 1), "accuracy": correct / max(seen, 1), "images": seen}


def summarize_strengths(strengths) -> dict:
    """``mean``, ``q25``, ``median``, ``q75``, ``min`` and ``max`` of a strength array."""
    s = np.asarray(strengths, dtype=np.float64)
    q25, median, q75 = np.quantile(s, [0.25, 0.5, 0.75])
    return {
        "mean": float(s.mean()),
        "q25": float(q25),
        "median": float(median),
        "q75": float(q75),
        "min": float(s.min()),
        "max": float(s.max()),
    }


def format_epoch(name: str, epoch: int, epochs: int, train: dict, val: dict, strength: dict) -> str:
    """One line per epoch: val accuracy, losses, images/s and the strength quartiles."""
    return (
        f"[{name}] epoch {epoch}/{epochs}  val acc {100 * val['accuracy']:5.1f}%  "
        f"val loss {val['loss']:.3f}  train loss {train['loss']:.3f}  {train['images_per_s']:7.0f} img/s  "
        f"strength mean {strength['mean']:.2f} q25/50/75 {strength['q25']:.2f}/"
        f"{strength['median']:.2f}/{strength['q75']:.2f}"
    )
