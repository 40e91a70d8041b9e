"""The SADA op in DALI: the paper's 14 ops as ``nvidia.dali.auto_aug`` augmentations.

Each op of :func:`sada_dali.ops.create_op_space` becomes an ``auto_aug`` ``Augmentation``
whose magnitudes are ``linspace(lo, hi, num_magnitude_bins)``, the very grid of
:func:`sada_dali.ops.bin_to_magnitude`, so a sample's magnitude bin and sign give the same
parameter here as :func:`sada_dali.ops.op_parameter` gives the torchvision baseline:

==========================  ==============================  =================================
op                          ``mag_range``                   DALI parameter
==========================  ==============================  =================================
identity, auto_contrast,    none                            none
equalize
color, contrast,            ``(0, max)``, signed            factor ``1 ± m``
brightness                                                  (``shift_enhance_range``)
sharpness                   ``(0, max)``, signed            3x3 kernel (``sharpness_kernel``)
rotate                      ``(0, max)``, signed            degrees
translate_x / _y            ``(0, max)``, signed            pixels, or a fraction of the side
                                                            (``translate_x``/``_y`` + ``shape``)
shear_x / _y                ``(0, max)``, signed            shear factor
solarize                    ``(256, 256 - max)``            threshold
posterize                   ``(8, 8 - max)``                bits kept (``poster_mask_uint8``)
==========================  ==============================  =================================

:func:`apply_sada_op` looks each sample's parameter up in per-bin tables computed once, outside
DALI's AutoGraph (:mod:`sada_dali.pipelines._tables`), instead of letting every branch map the
magnitude grid while it is traced; the tables hold exactly what the augmentations would compute.

Every op has a CPU and a GPU implementation in DALI 2.4 (``equalize`` and ``filter``
included), so no CPU fallback is needed.
"""

from __future__ import annotations

from nvidia.dali import fn, types
from nvidia.dali.auto_aug import augmentations as _aa
from nvidia.dali.auto_aug.core import augmentation, select
from nvidia.dali.pipeline import do_not_convert

from sada_dali._utils.checks import check_int
from sada_dali.ops import DEFAULT_NUM_MAGNITUDE_BINS, OPS, OpSpec, create_op_space

from ._compat import conditionals_enabled
from ._tables import signed_bins, tabulate

__all__ = ["create_augmentation", "create_augmentations", "apply_sada_op"]

_ENHANCE = {"color": _aa.color, "contrast": _aa.contrast, "brightness": _aa.brightness}
_GEOMETRIC = {"rotate": _aa.rotate, "shear_x": _aa.shear_x, "shear_y": _aa.shear_y}
_TRANSLATE = {
    "translate_x": (_aa.translate_x_no_shape, _aa.translate_x),
    "translate_y": (_aa.translate_y_no_shape, _aa.translate_y),
}


# auto_aug's own equalize and sharpness still call the deprecated `fn.experimental.equalize` and
# `fn.experimental.filter`, which warn at every pipeline build; these are the same augmentations
# (same magnitude handling, same kernel) on the operators DALI now recommends.
@augmentation(name="equalize")
def _equalize(data, _):
    return fn.equalize(data)


@augmentation(
    mag_range=(0, 0.9),
    randomly_negate=True,
    mag_to_param=_aa.sharpness_kernel,
    param_device="auto",
    name="sharpness",
)
def _sharpness(data, kernel):
    return fn.filter(data, kernel)


_FREE = {"identity": _aa.identity, "auto_contrast": _aa.auto_contrast, "equalize": _equalize}


@do_not_convert
def create_augmentation(spec: OpSpec):
    """One op as a DALI ``auto_aug`` augmentation.

    Parameters
    ----------
    spec : OpSpec
        The op and its maximum magnitude (see :func:`sada_dali.ops.create_op_space`).

    Returns
    -------
    nvidia.dali.auto_aug.core._Augmentation
        Called with ``magnitude_bin`` (a ``signed_bin``) and ``num_magnitude_bins``.

    Raises
    ------
    ValueError
        If ``spec.name`` is not one of :data:`sada_dali.ops.OPS`.
    """
    name, top = spec.name, float(spec.max_magnitude)
    if name in _FREE:
        return _FREE[name]
    if name in _ENHANCE:
        return _ENHANCE[name].augmentation(
            mag_range=(0.0, top), randomly_negate=True, mag_to_param=_aa.shift_enhance_range
        )
    if name == "sharpness":
        return _sharpness.augmentation(
            mag_range=(0.0, top), randomly_negate=True, mag_to_param=_aa.sharpness_kernel
        )
    if name in _GEOMETRIC:
        return _GEOMETRIC[name].augmentation(mag_range=(0.0, top), randomly_negate=True)
    if name in _TRANSLATE:
        absolute, relative = _TRANSLATE[name]
        return (relative if spec.relative else absolute).augmentation(
            mag_range=(0.0, top), randomly_negate=True
        )
    if name == "solarize":
        return _aa.solarize.augmentation(mag_range=(256.0, 256.0 - top), randomly_negate=False)
    if name == "posterize":
        return _aa.posterize.augmentation(
            mag_range=(8.0, 8.0 - top), randomly_negate=False, mag_to_param=_aa.poster_mask_uint8
        )
    raise ValueError(f"The `spec.name` must be one of {', '.join(OPS)}, got {name!r}.")


@do_not_convert
def create_augmentations(op_space=None) -> list:
    """All ops of an op space as DALI augmentations, in :data:`sada_dali.ops.OPS` order.

    Parameters
    ----------
    op_space : sequence of OpSpec, optional
        Defaults to :func:`sada_dali.ops.create_op_space` ``()`` (the paper's Table 8).

    Returns
    -------
    list
        One augmentation per spec; the op index of a sample is its position here.

    Raises
    ------
    ValueError
        On an empty ``op_space`` or an unknown op name.
    """
    specs = create_op_space() if op_space is None else tuple(op_space)
    if not specs:
        raise ValueError("The `op_space` must hold at least one OpSpec, got an empty sequence.")
    return [create_augmentation(spec) for spec in specs]


@do_not_convert
def _check_conditionals(num_ops: int) -> None:
    if num_ops >= 2 and conditionals_enabled() is False:  # a single op needs no conditional split
        raise RuntimeError(
            "The `apply_sada_op` selects one op per sample with DALI conditionals; define the "
            "pipeline with `@pipeline_def(enable_conditionals=True)`."
        )


def apply_sada_op(
    images,
    op_idx,
    magnitude_bin,
    negate,
    *,
    augmentations,
    num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS,
    fill_value=128,
    interp_type=None,
    shape=None,
):
    """Apply each sample's op at its magnitude bin and sign (one SADA step).

    Parameters
    ----------
    images : DataNode
        Batch of HWC uint8 images, on ``cpu`` or ``gpu``.
    op_idx, magnitude_bin, negate : DataNode
        Per-sample int32 scalars on the CPU: the op's position in ``augmentations``, the bin in
        ``[0, num_magnitude_bins - 1]`` (:func:`sada_dali.ops.strength_to_bin`) and 0/1 (1
        negates a signed op; :func:`sada_dali._utils.rng.per_sample_choices`).
    augmentations : list
        ``auto_aug`` augmentations, from :func:`create_augmentations`; their ops are called
        without AutoGraph conversion, so they must not branch on a ``DataNode``.
    num_magnitude_bins : int
        Number of magnitude bins, as used by ``strength_to_bin``.
    fill_value : int or None
        Fill of the geometric ops; ``None`` repeats the border.
    interp_type : nvidia.dali.types.DALIInterpType, optional
        Interpolation of the geometric ops; DALI's default is linear.
    shape : DataNode, optional
        (H, W, ...) of each image (e.g. ``fn.peek_image_shape`` of the encoded files), read by
        relative translations only. If omitted it is taken from ``images``; for GPU images
        that is a GPU-to-CPU step, which needs DALI's dynamic executor (its default).

    Returns
    -------
    DataNode
        The augmented batch, same device, shape and dtype as ``images``.

    Raises
    ------
    ValueError
        On an empty ``augmentations`` list or a bad ``num_magnitude_bins``.
    RuntimeError
        If several ops are selected outside a pipeline with ``enable_conditionals=True``.
    """
    if not augmentations:
        raise ValueError(
            "The `augmentations` must hold at least one augmentation, got an empty list; "
            "build them with `create_augmentations()`."
        )
    num_magnitude_bins = check_int(num_magnitude_bins, "num_magnitude_bins", 2)
    _check_conditionals(len(augmentations))
    kwargs = {"fill_value": fill_value, "interp_type": interp_type}
    if any(aug.op is _aa.translate_x.op or aug.op is _aa.translate_y.op for aug in augmentations):
        kwargs["shape"] = images.shape(dtype=types.FLOAT) if shape is None else shape
    # The sign is combined with the bin before the split, as auto_aug recommends; the parameter
    # tables are computed here, once, rather than traced in every branch (pipelines/_tables.py).
    mag_bin = signed_bins(magnitude_bin, negate)
    ops = tabulate(augmentations, num_magnitude_bins)
    return select(ops, op_idx, images, magnitude_bin=mag_bin, num_magnitude_bins=num_magnitude_bins, **kwargs)
