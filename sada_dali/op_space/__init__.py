"""The SADA op space, backend-free: the op registry, the paper's 14 ops and the magnitude mapping.

Every consumer reads the registry: :func:`create_op_space` builds the space of the registered
ops, the DALI pipeline (:mod:`sada_dali.pipelines.dali_ops`) builds each op's ``auto_aug``
augmentation from its :class:`Op`, the torchvision twin (:mod:`sada_dali.baseline.transforms`)
applies its ``torch`` implementation, and ``docs/ops.md``'s table is checked against it.

What lives here: ``_registry.py`` (:class:`Op` and the registry), ``_builtin.py`` (the 14 ops of
the paper's Table 8; a new built-in op is one entry there) and ``_space.py`` (:class:`OpSpec`,
:func:`create_op_space`, bins and parameters, :func:`sample_choices`). A new op elsewhere::

    @augmentation_op(max_magnitude=255.0, limit=255.0, torch=twin)
    def invert_bits(data, mask): ...

It imports only ``_utils`` and NumPy; the implementations load DALI or torch when first used.
"""

from __future__ import annotations

from ._builtin import OPS
from ._registry import Op, augmentation_op, get_op, register_op, registered_ops, unregister_op
from ._space import (
    DEFAULT_NUM_MAGNITUDE_BINS,
    OpSpec,
    bin_to_magnitude,
    check_op_space,
    create_op_space,
    op_parameter,
    sample_choices,
    strength_to_bin,
)

__all__ = [
    "OPS",
    "DEFAULT_NUM_MAGNITUDE_BINS",
    "Op",
    "OpSpec",
    "augmentation_op",
    "register_op",
    "unregister_op",
    "registered_ops",
    "get_op",
    "check_op_space",
    "create_op_space",
    "strength_to_bin",
    "bin_to_magnitude",
    "op_parameter",
    "sample_choices",
]
