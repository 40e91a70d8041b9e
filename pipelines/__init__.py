"""DALI pipelines of sada-dali: ``create_train_pipeline`` (SADA) and ``create_val_pipeline``.

Names are imported on first use, so ``import sada_dali.pipelines.ops`` does not build the rest.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "create_train_pipeline": "sada_dali.pipelines.train",
    "create_val_pipeline": "sada_dali.pipelines.val",
    "create_augmentations": "sada_dali.pipelines.ops",
    "apply_sada_op": "sada_dali.pipelines.ops",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sada_dali.pipelines' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
