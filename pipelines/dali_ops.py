"""The SADA op in DALI: each registered op as an ``nvidia.dali.auto_aug`` augmentation.

Each op of :func:`sada_dali.op_space.create_op_space` becomes an ``auto_aug`` ``Augmentation``
built from its registry entry (:class:`sada_dali.op_space.Op`: its DALI implementation, sign
rule and ``mag_range``), whose magnitudes are ``linspace(lo, hi, num_magnitude_bins)``, the very
grid of :func:`sada_dali.op_space.bin_to_magnitude`, so a sample's magnitude bin and sign give
the same parameter here as :func:`sada_dali.op_space.op_parameter` gives the torchvision twin.
The ops, their ranges and parameters are listed in ``docs/ops.md``.

:func:`apply_sada_op` looks each sample's parameter up in per-bin tables computed once, outside
DALI's AutoGraph (:mod:`sada_dali.pipelines._tables`), instead of letting every branch map the
magnitude grid while it is traced; the tables hold exactly what the augmentations would compute.

Every op has a CPU and a GPU implementation in DALI 2.4 (``equalize`` and ``filter``
included), so no CPU fallback is needed.
"""

from __future__ import annotations

from nvidia.dali import types
from nvidia.dali.auto_aug.core import augmentation, select
from nvidia.dali.pipeline import do_not_convert

from sada_dali._utils.callables import accepted_keywords, resolve
from sada_dali._utils.checks import check_int
from sada_dali.op_space import DEFAULT_NUM_MAGNITUDE_BINS, OpSpec, create_op_space, get_op

from ._compat import conditionals_enabled, is_augmentation
from ._tables import signed_bins, tabulate

__all__ = ["create_augmentation", "create_augmentations", "apply_sada_op"]


@do_not_convert
def create_augmentation(spec: OpSpec):
    """One op as a DALI ``auto_aug`` augmentation.

    Parameters
    ----------
    spec : OpSpec
        The op and its maximum magnitude (see :func:`sada_dali.op_space.create_op_space`).

    Returns
    -------
    nvidia.dali.auto_aug.core._Augmentation
        Called with ``magnitude_bin`` (a ``signed_bin``) and ``num_magnitude_bins``.

    Raises
    ------
    ValueError
        If ``spec.name`` is not a registered op.
    """
    op = get_op(spec.name, "spec.name")
    aug = resolve(op.dali_relative if spec.relative and op.dali_relative is not None else op.dali)
    if not is_augmentation(aug):
        aug = augmentation(aug, name=op.name)
    config = {"mag_to_param": resolve(op.dali_param), "param_device": op.param_device}
    config = {key: value for key, value in config.items() if value is not None}
    if op.has_magnitude:
        config.update(mag_range=op.dali_range(float(spec.max_magnitude)), randomly_negate=op.signed)
    return aug.augmentation(**config) if config else aug


@do_not_convert
def create_augmentations(op_space=None) -> list:
    """All ops of an op space as DALI augmentations, in the space's order.

    Parameters
    ----------
    op_space : sequence of OpSpec, optional
        Defaults to :func:`sada_dali.op_space.create_op_space` ``()`` (every registered op).

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
        ``[0, num_magnitude_bins - 1]`` (:func:`sada_dali.op_space.strength_to_bin`) and 0/1 (1
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
        (H, W, ...) of each image (e.g. ``fn.peek_image_shape`` of the encoded files), read only
        by the ops that take a ``shape`` (relative translations). If omitted it is taken from
        ``images``; for GPU images that is a GPU-to-CPU step, which needs DALI's dynamic
        executor (its default).

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
    if any("shape" in accepted_keywords(aug.op) for aug in augmentations):
        kwargs["shape"] = images.shape(dtype=types.FLOAT) if shape is None else shape
    # The sign is combined with the bin before the split, as auto_aug recommends; the parameter
    # tables are computed here, once, rather than traced in every branch (pipelines/_tables.py).
    mag_bin = signed_bins(magnitude_bin, negate)
    ops = tabulate(augmentations, num_magnitude_bins)
    return select(ops, op_idx, images, magnitude_bin=mag_bin, num_magnitude_bins=num_magnitude_bins, **kwargs)
