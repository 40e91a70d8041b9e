"""sada-dali: SADA (sample-aware dynamic augmentation) as a GPU-native NVIDIA DALI pipeline.

Importing the package needs no GPU and loads neither DALI, torch nor CuPy: each public
name is imported on first use.
"""

from __future__ import annotations

from ._utils.lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "SADAEstimator": "sada_dali.estimator",
    "EntAugmentEstimator": "sada_dali.estimator",
    "DistributedEstimator": "sada_dali.distributed",
    "StrengthTable": "sada_dali.strength",
    "OPS": "sada_dali.ops",
    "OpSpec": "sada_dali.ops",
    "create_op_space": "sada_dali.ops",
    "SADALoader": "sada_dali.loader",
    "SADAClassificationIterator": "sada_dali.loader",
    "augment": "sada_dali.augment",
}

__all__ = sorted(_LAZY) + ["__version__"]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
