"""The torchvision twin of the DALI SADA op, for users without DALI.

:func:`apply_op` applies an op of :func:`sada_dali.op_space.create_op_space` through its
registered torchvision implementation (:class:`sada_dali.op_space.Op`'s ``torch``, with
``torchvision.transforms.v2.functional`` and DALI's conventions for the built-in ops) at the
parameter :func:`sada_dali.op_space.op_parameter` gives. :class:`SADATransform` draws the op and
sign of each (seed, epoch, index) from :func:`sada_dali.op_space.sample_choices`, as the DALI
loader does. ``tests/test_ops_fidelity.py`` lists the remaining pixel-level differences.
"""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as F

from .._utils.callables import accepted_keywords, resolve
from .._utils.checks import check_int
from ..op_space import (
    DEFAULT_NUM_MAGNITUDE_BINS,
    OpSpec,
    create_op_space,
    get_op,
    op_parameter,
    sample_choices,
)

__all__ = ["apply_op", "SADATransform"]


def _check_fill(fill) -> int:
    hint = "torchvision cannot repeat the border as DALI's `fill_value=None` does."
    return check_int(fill, "fill", 0, maximum=255, hint=hint)


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
        The op (see :func:`sada_dali.op_space.create_op_space`).
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
    op = get_op(spec.name, "spec.name")
    if not 0 <= int(magnitude_bin) < num_magnitude_bins:
        raise ValueError(
            f"The `magnitude_bin` must lie in [0, {num_magnitude_bins - 1}], got {magnitude_bin}."
        )
    _check_fill(fill)
    p = op_parameter(spec, int(magnitude_bin), bool(negate), num_magnitude_bins)
    twin = resolve(op.torch)
    keywords = {"fill": [float(fill)] * 3, "relative": spec.relative}
    return twin(image, p, **{k: v for k, v in keywords.items() if k in accepted_keywords(twin)})


class SADATransform:
    """SADA's per-sample op as a torch transform: ``transform(image, index)``.

    Parameters
    ----------
    table : StrengthTable
        Per-sample strengths and the shared epoch slot (pickles by name, so DataLoader workers
        see the trainer's updates and :meth:`set_epoch` without being re-created).
    op_space : sequence of OpSpec, optional
        Default: every registered op (:func:`sada_dali.op_space.create_op_space`).
    num_magnitude_bins : int
        Strength quantisation, as in the DALI loader.
    seed : int
        Run seed of :func:`sada_dali.op_space.sample_choices`.
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
