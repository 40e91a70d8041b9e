"""DALI pipelines of sada-dali: ``create_train_pipeline`` (SADA) and ``create_val_pipeline``.

Names are imported on first use, so ``import sada_dali.pipelines.ops`` does not build the rest.
"""

from __future__ import annotations

from sada_dali._utils.lazy import lazy_attributes

_LAZY = {
    "create_train_pipeline": "sada_dali.pipelines.train",
    "create_val_pipeline": "sada_dali.pipelines.val",
    "create_augmentations": "sada_dali.pipelines.ops",
    "apply_sada_op": "sada_dali.pipelines.ops",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
