"""The per-sample strength policies the ``demo`` and ``train`` commands offer, built one way.

``sada`` and ``sada-rank`` (the paper's min-max normalisation, or ours by rank) and
``entaugment`` learn from the logits through an estimator; ``trivial`` (TrivialAugment's rule:
a uniform draw per sample and epoch) and ``constant`` (every sample at ``--magnitude``, as
RandAugment's fixed magnitude) are fixed tables. All of them drive the same loader and ops.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from ._args import unit_float

__all__ = ["POLICIES", "Policy", "create_policy", "add_policy_options"]

POLICIES = ("sada", "sada-rank", "entaugment", "trivial", "constant")


def add_policy_options(parser: argparse.ArgumentParser, *, many: bool, default) -> None:
    """Add ``--policy`` (``--policies`` with ``many``: one or more) and ``--magnitude``."""
    names = ("--policies", "--policy") if many else ("--policy",)
    parser.add_argument(
        *names,
        dest="policies" if many else "policy",
        nargs="+" if many else None,
        choices=POLICIES,
        default=default,
        help="per-sample strength policy: sada (paper), sada-rank (rank-normalised, ours), entaugment, "
        "trivial (uniform per sample and epoch), constant (every sample at --magnitude)",
    )
    parser.add_argument(
        "--magnitude",
        type=unit_float("--magnitude"),
        default=0.5,
        help="the strength of every sample under --policy constant (1: the op space's maxima)",
    )


@dataclass(frozen=True)
class Policy:
    """One policy of a run: an estimator fed every step, or a fixed strength table per epoch.

    Attributes
    ----------
    name : str
        One of :data:`POLICIES`.
    estimator : SADAEstimator, EntAugmentEstimator or None
        Set for ``sada``, ``sada-rank`` and ``entaugment``.
    seed, num_samples : int
        Keys of the ``trivial`` draw.
    magnitude : float
        The ``constant`` strength.
    """

    name: str
    estimator: object
    seed: int
    num_samples: int
    magnitude: float

    def table(self, epoch: int) -> np.ndarray | None:
        """The fixed (N,) float32 strengths of ``epoch`` (None for an estimator's policy)."""
        if self.name == "trivial":
            from ..estimator import warmup_strengths

            return warmup_strengths(self.seed, epoch, np.arange(self.num_samples))
        if self.name == "constant":
            return np.full(self.num_samples, self.magnitude, np.float32)
        return None


def create_policy(
    name: str,
    *,
    num_samples: int,
    num_classes: int,
    device: str,
    seed: int,
    magnitude: float = 0.5,
    window: int = 10,
    decay: float = 0.9,
) -> Policy:
    """Build the policy ``name`` (its estimator on ``device``, ``"cpu"`` or ``"cuda:<i>"``).

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`POLICIES`.
    """
    if name not in POLICIES:
        raise ValueError(f"The `policy` must be one of {', '.join(POLICIES)}, got {name!r}.")
    estimator = None
    if name in ("sada", "sada-rank"):
        from ..estimator import SADAEstimator

        normalize = "rank" if name == "sada-rank" else "minmax"
        estimator = SADAEstimator(
            num_samples,
            num_classes,
            window=window,
            decay=decay,
            device=device,
            seed=seed,
            normalize=normalize,
        )
    elif name == "entaugment":
        from ..estimator import EntAugmentEstimator

        estimator = EntAugmentEstimator(num_samples, num_classes, device=device, seed=seed)
    return Policy(name, estimator, seed, num_samples, float(magnitude))
