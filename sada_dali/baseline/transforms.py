"""The torchvision twin of the DALI SADA op, for users without DALI.

:func:`apply_op` applies an op of :func:`sada_dali.ops.create_op_space` with
``torchvision.transforms.v2.functional`` at the parameter :func:`sada_dali.ops.op_parameter`
gives, with DALI's conventions where torchvision's defaults differ: bilinear interpolation,
shears about the top-left corner (``fn.transforms.shear`` has no centre), and a solarize
threshold of 256 (strength 0) as the identity. :class:`SADATransform` draws the op and sign of
each (seed, epoch, index) from :func:`sada_dali.ops.sample_choices`, as the DALI loader
does. ``tests/test_ops_fidelity.py`` lists the remaining pixel-level differences.
"""

from __future__ import annotations

import math

import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from .._utils.checks import check_int
from ..ops import DEFAULT_NUM_MAGNITUDE_BINS, OPS, OpSpec, create_op_space, op_parameter, sample_choices

__all__ = ["apply_op", "SADATransform"]

_ENHANCE = {
    "color": F.adjust_saturation,
    "contrast": F.adjust_contrast,
    "brightness": F.adjust_brightness,
    "sharpness": F.adjust_sharpness,
}
_LINEAR = InterpolationMode.BILINEAR


def _check_fill(fill) -> int:
    hint = "torchvision cannot repeat the border as DALI's `fill_value=None` does."
    return check_int(fill, "fill", 0, maximum=255, hint=hint)


_GEOMETRIC = ("rotate", "translate_x", "translate_y", "shear_x", "shear_y")


def _geometric(image, spec: OpSpec, p: float, fill: list):
    """Rotate, translate or shear ``image`` by the op parameter ``p``, filling with ``fill``."""
    name = spec.name
    if name == "rotate":
        return F.rotate(image, p, interpolation=_LINEAR, fill=fill)
    if name in ("translate_x", "translate_y"):
        height, width = F.get_size(image)
        if spec.relative:
            p *= width if name == "translate_x" else height
        offset = [p, 0.0] if name == "translate_x" else [0.0, p]
        return F.affine(
            image, angle=0.0, translate=offset, scale=1.0, shear=[0.0, 0.0], interpolation=_LINEAR, fill=fill
        )
    # shear: torchvision's angle s maps x -> x - tan(s) * y; DALI's factor f maps x -> x + f * y
    angle = math.degrees(math.atan(-p))
    shear = [angle, 0.0] if name == "shear_x" else [0.0, angle]
    return F.affine(
        image,
        angle=0.0,
        translate=[0.0, 0.0],
        scale=1.0,
        shear=shear,
        interpolation=_LINEAR,
        fill=fill,
        center=[0.0, 0.0],
    )


def apply_op(
    image,
    spec: OpSpec,
    magnitude_bin: int,
    negate: bool,
    *,
    num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS,
    fill=128,
):
    """Apply one op at a magnitude bin and sign with torchvision.

    Parameters
    ----------
    image : torch.Tensor or PIL.Image.Image
        A uint8 CHW RGB tensor (the form :func:`sada_dali.augment` is checked against) or a
        PIL image.
    spec : OpSpec
        The op (see :func:`sada_dali.ops.create_op_space`).
    magnitude_bin : int
        Bin in ``[0, num_magnitude_bins - 1]``.
    negate : bool
        Negate a signed op's magnitude.
    num_magnitude_bins : int
        Number of magnitude bins.
    fill : int
        Fill of the geometric ops, 0-255 (DALI's ``fill_value``). DALI's ``fill_value=None``
        (repeat the border) has no torchvision counterpart, so it is refused here.

    Returns
    -------
    torch.Tensor or PIL.Image.Image
        Same type and size as ``image``.
    """
    name = spec.name
    if name not in OPS:
        raise ValueError(f"The `spec.name` must be one of {', '.join(OPS)}, got {name!r}.")
    if not 0 <= int(magnitude_bin) < num_magnitude_bins:
        raise ValueError(
            f"The `magnitude_bin` must lie in [0, {num_magnitude_bins - 1}], got {magnitude_bin}."
        )
    _check_fill(fill)
    p = op_parameter(spec, int(magnitude_bin), bool(negate), num_magnitude_bins)
    if name == "identity":
        return image
    if name == "auto_contrast":
        return F.autocontrast(image)
    if name == "equalize":
        return F.equalize(image)
    if name in _ENHANCE:
        return _ENHANCE[name](image, p)
    if name in _GEOMETRIC:
        return _geometric(image, spec, p, [float(fill)] * 3)
    if name == "solarize":
        return image if p > 255 else F.solarize(image, p)
    return F.posterize(image, int(p))


class SADATransform:
    """SADA's per-sample op as a torch transform: ``transform(image, index)``.

    Parameters
    ----------
    table : StrengthTable
        Per-sample strengths and the shared epoch slot (pickles by name, so DataLoader workers
        see the trainer's updates and :meth:`set_epoch` without being re-created).
    op_space : sequence of OpSpec, optional
        Default: the paper's Table 8 (:func:`sada_dali.ops.create_op_space`).
    num_magnitude_bins : int
        Strength quantisation, as in the DALI loader.
    seed : int
        Run seed of :func:`sada_dali.ops.sample_choices`.
    fill : int
        Fill of the geometric ops, 0-255.

    Notes
    -----
    Only the op is applied; the horizontal flip drawn for the same sample is available from
    :meth:`choices` for the dataset wrapper to apply.
    """

    def __init__(
        self,
        table,
        *,
        op_space=None,
        num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS,
        seed: int = 0,
        fill=128,
    ):
        self.table = table
        self.op_space = create_op_space() if op_space is None else tuple(op_space)
        if not self.op_space:
            raise ValueError("The `op_space` must hold at least one OpSpec, got an empty sequence.")
        self.num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", 2)
        self.seed = check_int(seed, "seed", 0)
        self.fill = _check_fill(fill)

    def set_epoch(self, epoch: int) -> None:
        """Announce the epoch through the table's shared slot (seen by every worker)."""
        self.table.set_epoch(epoch)

    def choices(self, index: int) -> tuple[int, int, int, int]:
        """``(op_idx, negate, flip, magnitude_bin)`` of sample ``index`` at the current epoch."""
        if not 0 <= int(index) < self.table.num_samples:
            raise IndexError(f"The `index` must lie in [0, {self.table.num_samples - 1}], got {index}.")
        op, magnitude_bin, sign, flip = sample_choices(
            self.seed,
            self.table.epoch,
            [int(index)],
            self.table.gather([int(index)]),
            num_ops=len(self.op_space),
            num_magnitude_bins=self.num_magnitude_bins,
        )
        return int(op[0]), int(sign[0]), int(flip[0]), int(magnitude_bin[0])

    def __call__(self, image, index: int) -> torch.Tensor:
        """Apply sample ``index``'s op to a uint8 CHW tensor or PIL image; returns a uint8 tensor."""
        if not isinstance(image, torch.Tensor):
            image = F.pil_to_tensor(image)
        if image.dtype != torch.uint8 or image.ndim != 3:
            raise ValueError(
                f"The `image` must be a uint8 CHW tensor or a PIL image, got "
                f"{image.dtype} of shape {tuple(image.shape)}."
            )
        op, negate, _, magnitude_bin = self.choices(index)
        return apply_op(
            image,
            self.op_space[op],
            magnitude_bin,
            bool(negate),
            num_magnitude_bins=self.num_magnitude_bins,
            fill=self.fill,
        )

    def __repr__(self) -> str:
        return (
            f"SADATransform(num_ops={len(self.op_space)}, num_magnitude_bins={self.num_magnitude_bins}, "
            f"seed={self.seed}, table={self.table!r})"
        )
