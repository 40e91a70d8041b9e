"""``sada_dali.augment``: one named op at one signed magnitude, through the loader's DALI code.

The images go through :func:`sada_dali.pipelines.dali_ops.apply_sada_op`, the function the SADA
loader calls, in a small cached pipeline. To hit the requested magnitude ``m`` exactly rather
than its nearest bin, the pipeline holds a one-op augmentation list built by
:func:`~sada_dali.pipelines.dali_ops.create_augmentation` from the op's spec with
``max_magnitude=|m|``; every sample gets bin 1 of ``num_magnitude_bins=2`` (magnitude
``linspace(0, |m|, 2)[1] = |m|``) and the sign of ``m``. With one op, ``auto_aug``'s
``select`` applies it without a conditional split: the parameter mapping and the op code are
the loader's, only the per-sample split is skipped.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import lru_cache

import numpy as np

from ._utils.checks import check_device, check_int, resolve_device_id
from .op_space import create_op_space, get_op

__all__ = ["augment"]

_LOCK = threading.Lock()


def _validate_images(images) -> list:
    if isinstance(images, np.ndarray) or not isinstance(images, (list, tuple)):
        raise TypeError(
            f"The `images` must be a list of HWC uint8 NumPy arrays, got {type(images).__name__}."
        )
    if not images:
        raise ValueError("The `images` must hold at least one image, got an empty list.")
    for i, image in enumerate(images):
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            kind = getattr(image, "dtype", type(image).__name__)
            raise TypeError(
                f"The `images[{i}]` must be a uint8 NumPy array, got {kind}; convert it "
                f"with `np.asarray(image, dtype=np.uint8)`."
            )
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 1:
            raise ValueError(
                f"The `images[{i}]` must be an HWC image with 3 channels, got shape {image.shape}."
            )
    return [np.ascontiguousarray(image) for image in images]


def _resolve_spec(op: str, magnitude, op_space):
    specs = {spec.name: spec for spec in (create_op_space() if op_space is None else op_space)}
    if op not in specs:
        raise ValueError(f"The `op` must be one of {', '.join(specs)}, got {op!r}.")
    spec = specs[op]
    try:
        m = float(magnitude)
    except (TypeError, ValueError):
        raise TypeError(f"The `magnitude` must be a number, got {magnitude!r}.") from None
    if not np.isfinite(m):
        raise ValueError(f"The `magnitude` must be finite, got {magnitude!r}.")
    if m < 0 and not spec.signed:
        raise ValueError(f"The `magnitude` of {op!r} must be non-negative (the op is unsigned), got {m}.")
    if abs(m) > spec.max_magnitude:
        raise ValueError(
            f"The `magnitude` of {op!r} must lie within ±{spec.max_magnitude} (the op's "
            f"max), got {m}; raise it with `op_space=create_op_space({{{op!r}: ...}})`."
        )
    return replace(spec, max_magnitude=abs(m)), m < 0


def augment(
    images,
    op: str,
    magnitude: float,
    *,
    device: str = "cpu",
    device_id: int | None = None,
    fill_value=128,
    interp_type=None,
    op_space=None,
) -> list:
    """Apply one op at one signed magnitude to a list of images with DALI.

    Parameters
    ----------
    images : list of numpy.ndarray
        HWC uint8 RGB images (sizes may differ).
    op : str
        A registered op (:data:`sada_dali.op_space.OPS` and those registered since), of
        ``op_space`` if given.
    magnitude : float
        Signed magnitude in the op's units: enhance factor offset (``brightness -0.5`` is
        factor 0.5), degrees, pixels (or a fraction of the side with a relative
        ``op_space``), shear factor, solarize threshold drop (``128`` is threshold 128),
        posterize bits removed (``2`` keeps 6 bits). 0 for the magnitude-free ops.
    device : {"cpu", "gpu"}
        Where DALI runs the op.
    device_id : int, optional
        CUDA device for "gpu"; default: torch's current device (each rank's own GPU after
        ``torch.cuda.set_device``).
    fill_value : int or None
        Fill of the geometric ops, 0-255; ``None`` repeats the border.
    interp_type : nvidia.dali.types.DALIInterpType, optional
        Interpolation of the geometric ops (DALI's default: linear).
    op_space : sequence of OpSpec, optional
        Gives each op's maximum |magnitude| (default: the paper's Table 8).

    Returns
    -------
    list of numpy.ndarray
        The augmented images, same shapes, uint8.

    Raises
    ------
    ValueError, TypeError
        On an unknown op, a magnitude beyond the op's max, a bad image list, device or fill.
    """
    batch = _validate_images(images)
    spec, negate = _resolve_spec(op, magnitude, op_space)
    check_device(device)
    if fill_value is not None:
        check_int(fill_value, "fill_value", 0, maximum=255, hint="None repeats the border.")
    if device == "gpu":
        _require_gpu()
    device_id = resolve_device_id(device, device_id)
    capacity = max(8, 1 << (len(batch) - 1).bit_length())
    fill = None if fill_value is None else int(fill_value)
    pipe, inputs = _build_pipeline(get_op(spec.name), spec, device, device_id, fill, interp_type, capacity)
    n = len(batch)
    scalars = {"magnitude_bin": 1, "negate": int(negate)}
    with _LOCK:
        pipe.feed_input("images", batch, layout="HWC")
        for name in inputs:  # DALI prunes the scalars an op does not read
            pipe.feed_input(name, [np.full((), scalars[name], np.int32)] * n)
        (out,) = pipe.run()
        if device == "gpu":
            out = out.as_cpu()
        return [np.array(out[i]) for i in range(n)]


def _require_gpu() -> None:
    from nvidia.dali.backend import GetCUDADeviceCount

    try:
        count = GetCUDADeviceCount()
    except Exception:
        count = 0
    if count < 1:
        raise RuntimeError("The `device='gpu'` needs a CUDA GPU, but none is visible; use device='cpu'.")


@lru_cache(maxsize=64)
def _build_pipeline(op, spec, device: str, device_id, fill_value, interp_type, capacity: int):
    """The built one-op pipeline; ``op`` (the registry entry) is part of the key, so an op
    registered again under the same name gets a pipeline of its own."""
    pipe, inputs = _define_pipeline(spec, device, device_id, fill_value, interp_type, capacity)
    pipe.build()
    return pipe, inputs


def _define_pipeline(spec, device: str, device_id, fill_value, interp_type, capacity: int):
    """The one-op pipeline, defined but not built (building needs CUDA on "gpu"), and the
    names of the scalar inputs its op reads."""
    from nvidia.dali import fn, pipeline_def, types

    from .pipelines.dali_ops import apply_sada_op, create_augmentation

    augmentations = [create_augmentation(spec)]

    @pipeline_def(
        enable_conditionals=True,
        batch_size=capacity,
        num_threads=1,
        device_id=device_id,
        prefetch_queue_depth=1,
    )
    def one_op():
        images = fn.external_source(name="images", dtype=types.UINT8, layout="HWC")
        magnitude_bin = fn.external_source(name="magnitude_bin", dtype=types.INT32)
        negate = fn.external_source(name="negate", dtype=types.INT32)
        # A one-op list needs no conditional split, so the op index is never read.
        op_idx = types.Constant(0, dtype=types.INT32, device="cpu")
        shape = images.shape(dtype=types.FLOAT)  # read on the host, before any copy to the GPU
        if device == "gpu":
            images = images.gpu()
        return apply_sada_op(
            images,
            op_idx,
            magnitude_bin,
            negate,
            augmentations=augmentations,
            num_magnitude_bins=2,
            fill_value=fill_value,
            interp_type=interp_type,
            shape=shape,
        )

    pipe = one_op()
    aug = augmentations[0]
    inputs = (("magnitude_bin",) if aug.mag_range is not None else ()) + (
        ("negate",) if aug.randomly_negate else ()
    )
    return pipe, inputs
