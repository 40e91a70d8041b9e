"""sada-dali: SADA (sample-aware dynamic augmentation) as a GPU-native NVIDIA DALI pipeline.

Importing the package needs no GPU and loads neither DALI, torch nor CuPy: each public
name is imported on first use.

The layers, top to bottom; each imports only the layers below it (``tests/test_layering.py``)::

    cli/                        the ``sada-dali`` command (demo, train, bench, check, shards)
    loader/, baseline/, augment.py
                                the consumers: the DALI loader, its torchvision twin, one-op augment
    pipelines/, data/, estimator/, distributed.py
                                DALI graphs, listings and the batch reader, the statistics,
                                the estimator replicated over ranks (the one sideways import)
    op_space/, sampler.py, strength.py, checkpoint.py, kernels/
                                backend-free root modules: op registry and space, epoch order per
                                rank, strength table, atomic checkpoints, CUDA sources
    _utils/                     shared helpers; imports nothing else of sada-dali

This file imports only ``_utils.lazy``.
"""

from __future__ import annotations

from ._utils.lazy import lazy_attributes

# eager (NumPy only): a lazy `augment` would be shadowed by the module once `sada_dali.augment` is imported
from .augment import augment as augment

__version__ = "0.1.0"

_LAZY = {
    "SADAEstimator": "sada_dali.estimator",
    "EntAugmentEstimator": "sada_dali.estimator",
    "DistributedEstimator": "sada_dali.distributed",
    "StrengthTable": "sada_dali.strength",
    "OPS": "sada_dali.op_space",
    "Op": "sada_dali.op_space",
    "OpSpec": "sada_dali.op_space",
    "augmentation_op": "sada_dali.op_space",
    "create_op_space": "sada_dali.op_space",
    "SADALoader": "sada_dali.loader",
    "SADAClassificationIterator": "sada_dali.loader",
}

__all__ = sorted([*_LAZY, "augment"]) + ["__version__"]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
