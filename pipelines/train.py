"""The SADA training pipeline: decode the crop window, resize, one SADA op per sample, normalise.

One definition serves both devices; ``device="gpu"`` decodes with nvJPEG (``mixed``, the
hardware decoder included) and runs every image op on the GPU, ``device="cpu"`` runs them all
on the CPU. The ``RandomResizedCrop`` window is not drawn by DALI: the reader computes it from
(seed, epoch, index) and the image size in the file header (:mod:`sada_dali.data.crop`), and
``fn.decoders.image_slice`` decodes just that region.
"""

from __future__ import annotations

from nvidia.dali import fn, pipeline_def, types

from sada_dali._utils.checks import check_device
from sada_dali.op_space import DEFAULT_NUM_MAGNITUDE_BINS

from ._compat import keep_autograph_sources_in_memory
from ._stages import decoder_args, read_samples, to_device
from ._stages import normalize as normalize_images
from .dali_ops import apply_sada_op, create_augmentations

__all__ = ["create_train_pipeline"]

keep_autograph_sources_in_memory()  # enable_conditionals=True below: no AutoGraph file outlives its load


@pipeline_def(enable_conditionals=True)
def create_train_pipeline(
    reader,
    *,
    device: str = "gpu",
    image_size: int = 224,
    op_space=None,
    num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS,
    fp16: bool = False,
    normalize: bool = True,
    hw_decoder_load: float = 0.65,
    fill_value: int = 128,
):
    """Build the SADA training pipeline.

    Besides the arguments below it takes DALI's pipeline arguments (``batch_size``,
    ``num_threads``, ``device_id``, ``seed``, ``py_num_workers``, ``py_start_method``,
    ``prefetch_queue_depth``...), as any ``@pipeline_def`` function does.

    Parameters
    ----------
    reader : sada_dali.data._reader.SampleReader
        Per-sample source with SADA choices and crop windows (``augments=True``); its
        ``random_area`` and ``random_aspect_ratio`` set the crop.
    device : {"gpu", "cpu"}
        Where decoding and augmentation run.
    image_size : int
        Side of the square output.
    op_space : sequence of OpSpec, optional
        Defaults to every registered op (:func:`sada_dali.op_space.create_op_space`).
    num_magnitude_bins : int
        Must equal the reader's, which quantised the strengths.
    fp16 : bool
        Emit float16 images instead of float32.
    normalize : bool
        False emits the uint8 images, without mean/std and float conversion.
    hw_decoder_load : float
        Share of the JPEGs given to the A100/H100 hardware decoder (``device="gpu"`` only).
    fill_value : int
        Fill of the geometric ops.

    Returns
    -------
    nvidia.dali.Pipeline
        Outputs ``images`` (B, 3, S, S) float, ``labels`` and ``indices`` (B,) int64 on the
        pipeline's device, and ``valid`` (B,) uint8 on the CPU (0 marks a skipped file).

    Notes
    -----
    Each image is decoded only inside its crop window (``image_slice`` with the reader's
    absolute ``start``/``shape``; a region-of-interest decode where the codec supports it),
    then resized to ``image_size``: given the file, a sample's pixels depend only on (seed,
    epoch, index, strength) on the CPU, and on the GPU they repeat from run to run.

    The horizontal flip is folded into ``crop_mirror_normalize`` (``mirror=flip``), so it
    comes after the SADA op instead of before it. Mirroring conjugates every op of the space
    to itself with the opposite sign, and the sign is a fair coin independent of the flip,
    so the distribution of augmented images is unchanged and no extra pass is needed.
    """
    check_device(device)
    data = read_samples(reader)
    images = fn.decoders.image_slice(
        data["encoded"],
        start=data["crop_start"],
        shape=data["crop_shape"],
        **decoder_args(device, hw_decoder_load),
    )
    images = fn.resize(images, size=[image_size, image_size])
    images = apply_sada_op(
        images,
        data["op"],
        data["magnitude_bin"],
        data["negate"],
        augmentations=create_augmentations(op_space),
        num_magnitude_bins=num_magnitude_bins,
        fill_value=fill_value,
        # every image is image_size square here: relative translations read no shape from the GPU
        shape=types.Constant([image_size, image_size, 3], dtype=types.FLOAT),
    )
    images = normalize_images(images, fp16=fp16, normalize=normalize, mirror=data["flip"])
    return images, to_device(data["label"], device), to_device(data["index"], device), data["valid"]
