"""Per-bin parameter tables of the SADA ops, computed once, outside DALI's AutoGraph.

An ``auto_aug`` ``Augmentation`` maps every magnitude of its grid to the op's parameter each
time it is called. Inside a pipeline with ``enable_conditionals=True`` that mapping runs under
DALI's AutoGraph, which converts and traces every call: with 101 bins and a sign, the 14-op
space makes 2,020 traced calls, most of a training pipeline's construction time.
:func:`tabulate` computes the same tables eagerly (plain NumPy, :func:`do_not_convert`), and a
:class:`TabledAugmentation` looks a sample's parameter up in its table exactly as DALI does
(``types.Constant(table)[index]``), then calls the augmentation's own op: the graph, and so
every pixel, is the one the ``Augmentation`` would build.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from nvidia.dali import types
from nvidia.dali.pipeline import do_not_convert

from sada_dali._utils.callables import accepted_keywords

__all__ = ["SignedBin", "signed_bins", "parameter_table", "TabledAugmentation", "tabulate"]


class SignedBin(NamedTuple):
    """A batch of magnitude bins with their signs, as ``auto_aug.core.signed_bin`` makes it.

    Attributes
    ----------
    bin : DataNode
        The magnitude bins.
    signed_magnitude_idx : DataNode
        ``2 * bin + negate``: the row of a randomly negated op's :func:`parameter_table`.
    """

    bin: object
    signed_magnitude_idx: object


@do_not_convert
def signed_bins(magnitude_bin, negate) -> SignedBin:
    """Combine bins and signs before the conditional split, as ``auto_aug``'s ``signed_bin`` does."""
    return SignedBin(magnitude_bin, 2 * magnitude_bin + negate)


def _magnitudes(augmentation, num_magnitude_bins: int):
    mag_range = augmentation.mag_range
    if mag_range is None:
        return None
    if isinstance(mag_range, np.ndarray):
        if len(mag_range) != num_magnitude_bins:
            raise ValueError(
                f"The augmentation `{augmentation.name}` has {len(mag_range)} explicit magnitudes, "
                f"but `num_magnitude_bins` is {num_magnitude_bins}; make them equal."
            )
        return mag_range
    lo, hi = mag_range
    return np.linspace(lo, hi, num_magnitude_bins, dtype=np.float32)


def parameter_table(augmentation, num_magnitude_bins: int):
    """Every parameter an ``auto_aug`` augmentation can take, in DALI's own order.

    Parameters
    ----------
    augmentation : nvidia.dali.auto_aug.core._Augmentation
        With ``mag_range``, ``randomly_negate`` and ``mag_to_param`` as DALI reads them.
    num_magnitude_bins : int
        Size of the magnitude grid ``linspace(*mag_range, num_magnitude_bins)`` (float32).

    Returns
    -------
    numpy.ndarray or None
        None for a magnitude-free op. Else row ``i`` is ``mag_to_param`` of magnitude ``i`` of
        the grid, or, for a randomly negated op, of magnitude ``i // 2`` negated when ``i`` is
        odd (row ``2 * bin + negate``, DALI's signed magnitude index).

    Raises
    ------
    ValueError
        If explicit magnitudes do not number ``num_magnitude_bins``, or ``mag_to_param`` gives
        parameters of different shapes or dtypes.
    """
    magnitudes = _magnitudes(augmentation, num_magnitude_bins)
    if magnitudes is None:
        return None
    if augmentation.randomly_negate:
        signed = np.empty(2 * len(magnitudes), dtype=magnitudes.dtype)
        signed[0::2], signed[1::2] = magnitudes, -magnitudes
        magnitudes = signed
    params = [np.array(augmentation.mag_to_param(magnitude)) for magnitude in magnitudes]
    if len({(param.shape, param.dtype) for param in params}) > 1:
        raise ValueError(
            f"The `mag_to_param` of augmentation `{augmentation.name}` must give parameters of one "
            f"shape and dtype for every magnitude, got {sorted({str(p.shape) for p in params})}."
        )
    return np.array(params)


@do_not_convert  # its instances are called untraced: the ops branch on no DataNode
class TabledAugmentation:
    """An ``auto_aug`` augmentation whose parameters are looked up in a precomputed table.

    Called like the augmentation (``data``, ``magnitude_bin`` from :func:`signed_bins` or
    ``auto_aug``'s ``signed_bin``, extra keywords its op may take); build it with :func:`tabulate`.

    Parameters
    ----------
    augmentation : nvidia.dali.auto_aug.core._Augmentation
        The augmentation; its op, name, sign and parameter device are kept.
    num_magnitude_bins : int
        Size of its magnitude grid.

    Attributes
    ----------
    table : numpy.ndarray or None
        :func:`parameter_table` of the augmentation.
    """

    def __init__(self, augmentation, num_magnitude_bins: int):
        self.augmentation, self.op, self.name = augmentation, augmentation.op, augmentation.name
        self.randomly_negate, self.param_device = augmentation.randomly_negate, augmentation.param_device
        self.table = parameter_table(augmentation, num_magnitude_bins)
        self._keywords = accepted_keywords(self.op)  # as auto_aug: only those past (data, parameter)

    def __call__(self, data, *, magnitude_bin=None, num_magnitude_bins=None, **kwargs):
        param = None
        if self.table is not None:
            device = (data.device or "cpu") if self.param_device == "auto" else self.param_device
            if self.randomly_negate:
                index = magnitude_bin.signed_magnitude_idx
            else:
                index = getattr(magnitude_bin, "bin", magnitude_bin)
            param = types.Constant(self.table, device=device)[index]
        return self.op(data, param, **{k: v for k, v in kwargs.items() if k in self._keywords})

    def __repr__(self) -> str:
        return f"TabledAugmentation({self.name})"


@do_not_convert
def tabulate(augmentations, num_magnitude_bins: int) -> list:
    """:class:`TabledAugmentation` of each augmentation, its tables computed here, untraced.

    Parameters
    ----------
    augmentations : sequence
        ``auto_aug`` augmentations (:func:`sada_dali.pipelines.dali_ops.create_augmentations`).
    num_magnitude_bins : int
        Size of their magnitude grid.

    Returns
    -------
    list of TabledAugmentation
    """
    return [TabledAugmentation(augmentation, num_magnitude_bins) for augmentation in augmentations]
