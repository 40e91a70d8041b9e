"""Zero-copy conversion of any trainer's arrays to NumPy (host) or CuPy (device).

Accepted inputs: torch tensors (CPU or CUDA, any dtype including bfloat16), CuPy and
NumPy arrays, and anything exposing ``__dlpack__`` or ``__cuda_array_interface__``
(JAX, TensorFlow, DALI tensors, ...). CuPy is imported only when a device array is
requested, so importing this module never needs a GPU.
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_device_array", "cuda_device_index", "as_host_array", "as_device_array"]


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "is_cuda")


def _dlpack_device(x) -> tuple[int, int] | None:
    dev = getattr(x, "__dlpack_device__", None)
    try:
        return None if dev is None else tuple(int(v) for v in dev())
    except Exception:
        return None


def is_device_array(x) -> bool:
    """Return True when ``x`` lives in CUDA device memory.

    Parameters
    ----------
    x : array-like
        Any array object.
    """
    if _is_torch(x):
        return bool(x.is_cuda)
    if hasattr(x, "__cuda_array_interface__"):
        return True
    found = _dlpack_device(x)
    return found is not None and found[0] in (2, 3, 13)  # kDLCUDA, kDLCUDAHost, kDLCUDAManaged


def cuda_device_index(x) -> int | None:
    """The CUDA ordinal ``x`` lives on, read from its metadata; None for host arrays or when unknown.

    Parameters
    ----------
    x : array-like
        A torch tensor, CuPy array, or any DLPack producer.
    """
    if _is_torch(x):
        return x.device.index if x.is_cuda else None
    device = getattr(x, "device", None)
    if type(x).__module__.startswith("cupy") and hasattr(device, "id"):
        return int(device.id)
    found = _dlpack_device(x)
    return found[1] if found is not None and found[0] in (2, 13) else None  # kDLCUDA, kDLCUDAManaged


def as_host_array(x, *, name: str) -> np.ndarray:
    """View (or, for device memory and bfloat16, copy) ``x`` as a NumPy array.

    Parameters
    ----------
    x : array-like
        A torch tensor, CuPy/NumPy array, or any DLPack producer.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    numpy.ndarray
        bfloat16 inputs are widened to float32, since NumPy has no bfloat16.

    Raises
    ------
    TypeError
        If ``x`` is not an array that NumPy, DLPack or torch can read.
    """
    if isinstance(x, np.ndarray):
        return x
    if _is_torch(x):
        return _widened(x).cpu().numpy()
    if hasattr(x, "__cuda_array_interface__") or is_device_array(x):
        cp = _cupy()
        return cp.asnumpy(as_device_array(x, name=name))
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (TypeError, BufferError, RuntimeError):
            pass
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(
            f"The `{name}` must be an array (NumPy, torch, CuPy or DLPack), got {type(x).__name__}."
        ) from exc
    if arr.dtype == object:
        raise TypeError(
            f"The `{name}` must be a numeric array (NumPy, torch, CuPy or DLPack), got {type(x).__name__}."
        )
    if arr.dtype.kind == "V" or str(arr.dtype) == "bfloat16":
        arr = arr.astype(np.float32)
    return arr


def as_device_array(x, *, name: str):
    """View ``x`` as a CuPy array on the current device, without copying device memory.

    Host inputs are copied to the device once. torch bfloat16 tensors are widened to
    float32 on the device (CuPy has no bfloat16); the copy stays on the GPU.

    Parameters
    ----------
    x : array-like
        A torch tensor, CuPy/NumPy array, or any DLPack or CUDA-array-interface producer.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    cupy.ndarray
    """
    cp = _cupy()
    if isinstance(x, cp.ndarray):
        return x
    if _is_torch(x):
        t = _widened(x)
        if not t.is_cuda:
            return cp.asarray(t.numpy())
        return cp.from_dlpack(t.contiguous())
    if hasattr(x, "__cuda_array_interface__") or is_device_array(x):
        if not hasattr(x, "__dlpack__"):
            return cp.asarray(x)
        try:
            return cp.from_dlpack(x)
        except (NotImplementedError, TypeError, BufferError) as exc:  # e.g. bfloat16 without ml_dtypes
            raise TypeError(
                f"The `{name}` ({type(x).__name__}) cannot be imported by CuPy through DLPack ({exc}). Pass "
                "float16, float32 or float64 data (bfloat16 from non-torch producers needs `pip install "
                "ml_dtypes`), or a torch tensor."
            ) from exc
    return cp.asarray(as_host_array(x, name=name))


def _widened(t):
    """A detached torch tensor, bfloat16 widened to float32 (NumPy and CuPy have no bfloat16)."""
    import torch

    t = t.detach()
    return t.float() if t.dtype == torch.bfloat16 else t


def _cupy():
    try:
        import cupy
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "The CUDA backend needs CuPy: `pip install cupy-cuda12x` (or cupy-cuda13x on CUDA 13)."
        ) from exc
    return cupy
