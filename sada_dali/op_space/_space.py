"""The op space built from the registry, and its magnitude mapping.

A sample with strength ``s`` gets magnitude bin ``round(s * (num_bins - 1))`` and magnitude
``bin / (num_bins - 1) * max``; :func:`op_parameter` turns it into the parameter the torchvision
twin takes, and the DALI pipeline's ``auto_aug`` grid gives the same parameter for the same bin.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .._utils.checks import check_int
from .._utils.rng import per_sample_choices
from ._builtin import OPS
from ._registry import get_op, registered_ops

__all__ = [
    "DEFAULT_NUM_MAGNITUDE_BINS",
    "OpSpec",
    "check_op_space",
    "create_op_space",
    "strength_to_bin",
    "bin_to_magnitude",
    "op_parameter",
    "sample_choices",
]

DEFAULT_NUM_MAGNITUDE_BINS = 101
"""101 bins: a strength is quantised to within 0.5% of the op's magnitude range."""


@dataclass(frozen=True)
class OpSpec:
    """One op of a space: a registered op at a maximum magnitude.

    Attributes
    ----------
    name : str
        A registered op (:func:`~sada_dali.op_space.registered_ops`).
    max_magnitude : float
        Magnitude at strength 1 (0 for the magnitude-free ops), in the units of the op's
        ``summary`` (``docs/ops.md``).
    signed : bool
        Whether the magnitude gets a random sign.
    relative : bool
        ``max_magnitude`` is a fraction of the image side, not pixels (the translations).
    """

    name: str
    max_magnitude: float = 0.0
    signed: bool = False
    relative: bool = False


def check_op_space(op_space) -> tuple[OpSpec, ...]:
    """``op_space`` as a tuple, or an error naming ``op_space``: a non-empty sequence of
    :class:`OpSpec` of registered ops (a TypeError for anything else, a ValueError for an
    unknown op or an empty space)."""
    hint = "build it with create_op_space() (or OpSpec(name, max_magnitude, ...) of registered ops)."
    try:
        specs = tuple(op_space)
    except TypeError:
        raise TypeError(f"The `op_space` must be a sequence of OpSpec, got {op_space!r}; {hint}") from None
    wrong = next((spec for spec in specs if not isinstance(spec, OpSpec)), None)
    if wrong is not None:
        raise TypeError(f"The `op_space` holds {wrong!r}, which is not an OpSpec; {hint}")
    if not specs:
        raise ValueError(f"The `op_space` is empty; {hint}")
    for spec in specs:
        get_op(spec.name, "op_space")
    return specs


def create_op_space(
    max_magnitudes: dict | None = None, *, translate_relative: float | None = None
) -> tuple[OpSpec, ...]:
    """Build the space of every registered op (the paper's 14 first), optionally with other maxima.

    Parameters
    ----------
    max_magnitudes : dict, optional
        ``{op_name: max}`` overrides, e.g. ``{"rotate": 15}``.
    translate_relative : float, optional
        If given, the ops with a relative unit (the translations) move by up to this fraction of
        the image side instead of ``max_magnitudes["translate_*"]`` pixels.

    Returns
    -------
    tuple of OpSpec
        In registration order (:data:`OPS`, then the ops registered since).

    Raises
    ------
    ValueError
        For an unknown op name, a magnitude-free op, or a maximum outside its valid range.
    """
    ops = registered_ops()
    specs = {op.name: OpSpec(op.name, op.max_magnitude, op.signed) for op in ops}
    for name, value in (max_magnitudes or {}).items():
        if name not in specs:
            raise ValueError(
                f"The `max_magnitudes` has unknown op {name!r}; the ops are: {', '.join(specs)}."
            )
        op = get_op(name)
        if not op.has_magnitude:
            raise ValueError(f"The `max_magnitudes` cannot set {name!r}: that op has no magnitude.")
        value = float(value)
        if not (0.0 <= value <= op.limit):
            raise ValueError(f"The `max_magnitudes[{name!r}]` must lie in [0, {op.limit}], got {value}.")
        specs[name] = replace(specs[name], max_magnitude=value)
    if translate_relative is not None:
        if not (0.0 < float(translate_relative) <= 1.0):
            raise ValueError(f"The `translate_relative` must lie in (0, 1], got {translate_relative}.")
        for op in ops:
            if op.dali_relative is not None:
                specs[op.name] = replace(
                    specs[op.name], max_magnitude=float(translate_relative), relative=True
                )
    return tuple(specs.values())


def strength_to_bin(strengths, num_bins: int = DEFAULT_NUM_MAGNITUDE_BINS) -> np.ndarray:
    """Quantise strengths in [0, 1] to magnitude bins ``round(s * (num_bins - 1))`` (int32)."""
    num_bins = check_int(num_bins, "num_bins", 2)
    s = np.clip(np.asarray(strengths, dtype=np.float64), 0.0, 1.0)
    return np.rint(s * (num_bins - 1)).astype(np.int32)


def bin_to_magnitude(spec: OpSpec, magnitude_bin, num_bins: int = DEFAULT_NUM_MAGNITUDE_BINS):
    """Unsigned magnitude of ``magnitude_bin``: ``bin / (num_bins - 1) * spec.max_magnitude``."""
    return np.asarray(magnitude_bin, dtype=np.float64) / (num_bins - 1) * spec.max_magnitude


def op_parameter(
    spec: OpSpec, magnitude_bin: int, negate: bool = False, num_bins: int = DEFAULT_NUM_MAGNITUDE_BINS
) -> float:
    """The op's parameter as its torchvision twin takes it, for one sample.

    The signed magnitude through the op's ``parameter`` mapping: the enhance factor (``1 ± m``),
    the angle in degrees, the translation in pixels (or as a fraction of the side when
    ``spec.relative``), the shear factor, the solarize threshold (``256 - m``) or the number of
    bits kept by posterize (``8 - round(m)``, at least 1). Magnitude-free ops return 0.
    """
    m = float(bin_to_magnitude(spec, magnitude_bin, num_bins))
    if spec.signed and negate:
        m = -m
    return get_op(spec.name, "spec.name").parameter(m)


def sample_choices(
    seed: int,
    epoch: int,
    indices,
    strengths,
    *,
    num_ops: int = len(OPS),
    num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS,
):
    """Everything one visit decides for each sample: op, magnitude bin, sign and flip.

    A pure function of (seed, epoch, index, strength), shared by the DALI reader and the
    torchvision baseline so both apply the very same augmentation to a sample.

    Parameters
    ----------
    seed, epoch : int
        Run seed and epoch.
    indices : array-like of int
        Dataset indices.
    strengths : array-like of float
        The samples' strengths in [0, 1], aligned with ``indices``.
    num_ops : int
        Size of the op space.
    num_magnitude_bins : int
        Strength quantisation (see :func:`strength_to_bin`).

    Returns
    -------
    tuple of numpy.ndarray
        int32 ``op``, ``magnitude_bin``, ``negate`` and ``flip``, one value per index.
    """
    op, negate, flip = per_sample_choices(seed, epoch, indices, num_ops)
    return op, strength_to_bin(strengths, num_magnitude_bins), negate, flip
