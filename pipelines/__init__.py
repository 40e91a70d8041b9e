"""DALI pipelines of sada-dali: ``create_train_pipeline`` (SADA) and ``create_val_pipeline``.

Names are imported on first use, so ``import sada_dali.pipelines.dali_ops`` does not build the
rest.

What lives here: ``train.py`` and ``val.py`` (the two graphs), ``dali_ops.py`` (the registered
ops as DALI ``auto_aug`` augmentations), ``_tables.py`` (the ops' per-bin parameter tables,
computed outside AutoGraph), ``_stages.py`` (reading, decoding, normalising) and ``_compat.py``
(every use of DALI's private API, so a DALI upgrade touches one file; it also keeps AutoGraph's
generated files off the disk).

Installed as ``sada_dali.pipelines``, it may import the backend-free root modules (``op_space``)
and ``_utils``; the loader and ``sada_dali.augment`` import it.
"""

from __future__ import annotations

from sada_dali._utils.lazy import lazy_attributes

_LAZY = {
    "create_train_pipeline": "sada_dali.pipelines.train",
    "create_val_pipeline": "sada_dali.pipelines.val",
    "create_augmentations": "sada_dali.pipelines.dali_ops",
    "apply_sada_op": "sada_dali.pipelines.dali_ops",
}

__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
