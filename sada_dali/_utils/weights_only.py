"""States that ``torch.load`` reads with its default ``weights_only=True`` (PyTorch >= 2.6).

Training scripts load their checkpoint with a plain ``torch.load(path)``, which refuses NumPy
arrays and scalars. A loader state put into such a checkpoint therefore holds CPU torch tensors
and plain Python values only; :func:`to_numpy_state` turns it back into NumPy on load.
"""

from __future__ import annotations

import numpy as np

__all__ = ["to_torch_state", "to_numpy_state"]


def to_torch_state(obj):
    """``obj`` with every NumPy array (nested in dicts, lists, tuples) as a CPU tensor and every
    NumPy scalar as a Python number."""
    if isinstance(obj, dict):
        return {key: to_torch_state(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_torch_state(value) for value in obj)
    if isinstance(obj, np.ndarray):
        import torch

        return torch.from_numpy(np.array(obj, copy=True, order="C"))
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def to_numpy_state(obj):
    """The inverse of :func:`to_torch_state`: CPU tensors back to NumPy arrays (anything else as is)."""
    if isinstance(obj, dict):
        return {key: to_numpy_state(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_numpy_state(value) for value in obj)
    if type(obj).__module__.startswith("torch") and hasattr(obj, "numpy"):
        return obj.detach().cpu().numpy()
    return obj
