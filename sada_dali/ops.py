"""The SADA op space (the paper's Table 8) and its magnitude mapping, backend-free.

This module is the single definition both loaders share: the DALI pipeline builds its
``auto_aug`` augmentations from :func:`create_op_space`, and the torchvision baseline applies
the same parameters through :func:`op_parameter`. A sample with strength ``s`` gets magnitude
bin ``round(s * (num_bins - 1))`` and magnitude ``bin / (num_bins - 1) * max``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ._utils.checks import check_int
from ._utils.rng import per_sample_choices

__all__ = [
    "OPS",
    "DEFAULT_NUM_MAGNITUDE_BINS",
    "OpSpec",
    "create_op_space",
    "strength_to_bin",
    "bin_to_magnitude",
    "op_parameter",
    "sample_choices",
]

OPS: tuple[str, ...] = (
    "identity",
    "auto_contrast",
    "equalize",
    "color",
    "contrast",
    "brightness",
    "sharpness",
    "rotate",
    "translate_x",
    "translate_y",
    "shear_x",
    "shear_y",
    "solarize",
    "posterize",
)
"""Names of the 14 ops, in the order of the paper's Table 8 (the op index is the position)."""

DEFAULT_NUM_MAGNITUDE_BINS = 101
"""101 bins: a strength is quantised to within 0.5% of the op's magnitude range."""


@dataclass(frozen=True)
class OpSpec:
    """One op of the space.

    Attributes
    ----------
    name : str
        One of :data:`OPS`.
    max_magnitude : float
        Magnitude at strength 1 (0 for the magnitude-free ops). Units: enhance factor offset
        (color, contrast, brightness, sharpness: factor ``1 ± m``), degrees (rotate), pixels or a
        fraction of the side (translate), shear factor (shear), threshold drop from 256 (solarize:
        threshold ``256 - m``), bits removed from 8 (posterize: ``8 - m`` bits kept).
    signed : bool
        Whether the magnitude gets a random sign.
    relative : bool
        For translate only: ``max_magnitude`` is a fraction of the image side, not pixels.
    """

    name: str
    max_magnitude: float = 0.0
    signed: bool = False
    relative: bool = False


_DEFAULTS = {
    "identity": OpSpec("identity"),
    "auto_contrast": OpSpec("auto_contrast"),
    "equalize": OpSpec("equalize"),
    "color": OpSpec("color", 0.9, True),
    "contrast": OpSpec("contrast", 0.9, True),
    "brightness": OpSpec("brightness", 0.9, True),
    "sharpness": OpSpec("sharpness", 0.9, True),
    "rotate": OpSpec("rotate", 30.0, True),
    "translate_x": OpSpec("translate_x", 10.0, True),
    "translate_y": OpSpec("translate_y", 10.0, True),
    "shear_x": OpSpec("shear_x", 0.3, True),
    "shear_y": OpSpec("shear_y", 0.3, True),
    "solarize": OpSpec("solarize", 256.0, False),
    "posterize": OpSpec("posterize", 4.0, False),
}

_LIMITS = {
    "color": 1.0,
    "contrast": 1.0,
    "brightness": 1.0,
    "sharpness": 1.0,
    "solarize": 256.0,
    "posterize": 7.0,
}


def create_op_space(
    max_magnitudes: dict | None = None, *, translate_relative: float | None = None
) -> tuple[OpSpec, ...]:
    """Build the 14-op space, optionally with other maxima.

    Parameters
    ----------
    max_magnitudes : dict, optional
        ``{op_name: max}`` overrides, e.g. ``{"rotate": 15}``.
    translate_relative : float, optional
        If given, translations move by up to this fraction of the image side instead of
        ``max_magnitudes["translate_*"]`` pixels.

    Returns
    -------
    tuple of OpSpec
        In the order of :data:`OPS`.

    Raises
    ------
    ValueError
        For an unknown op name, a magnitude-free op, or a maximum outside its valid range.
    """
    specs = dict(_DEFAULTS)
    for name, value in (max_magnitudes or {}).items():
        if name not in specs:
            raise ValueError(f"The `max_magnitudes` has unknown op {name!r}; the ops are: {', '.join(OPS)}.")
        if specs[name].max_magnitude == 0.0:
            raise ValueError(f"The `max_magnitudes` cannot set {name!r}: that op has no magnitude.")
        value = float(value)
        limit = _LIMITS.get(name, np.inf)
        if not (0.0 <= value <= limit):
            raise ValueError(f"The `max_magnitudes[{name!r}]` must lie in [0, {limit}], got {value}.")
        specs[name] = replace(specs[name], max_magnitude=value)
    if translate_relative is not None:
        if not (0.0 < float(translate_relative) <= 1.0):
            raise ValueError(f"The `translate_relative` must lie in (0, 1], got {translate_relative}.")
        for name in ("translate_x", "translate_y"):
            specs[name] = replace(specs[name], max_magnitude=float(translate_relative), relative=True)
    return tuple(specs[name] for name in OPS)


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
    """The op's parameter as torchvision/PIL take it, for one sample.

    Returns the enhance factor (``1 ± m``), the angle in degrees, the translation in pixels
    (or as a fraction of the side when ``spec.relative``), the shear factor, the solarize
    threshold (``256 - m``) or the number of bits kept by posterize (``8 - round(m)``,
    at least 1). Magnitude-free ops return 0.
    """
    m = float(bin_to_magnitude(spec, magnitude_bin, num_bins))
    if spec.signed and negate:
        m = -m
    if spec.name in ("color", "contrast", "brightness", "sharpness"):
        return 1.0 + m
    if spec.name == "solarize":
        return 256.0 - m
    if spec.name == "posterize":
        return float(max(1, 8 - int(np.rint(m))))
    return m


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
