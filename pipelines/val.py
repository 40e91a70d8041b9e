"""The validation pipeline: decode, resize the shorter side, centre crop, normalise."""

from __future__ import annotations

from nvidia.dali import fn, pipeline_def

from sada_dali._utils.checks import check_device
from sada_dali._utils.imagenet import val_resize_size

from ._stages import decoder_args, read_samples, to_device
from ._stages import normalize as normalize_images

__all__ = ["create_val_pipeline"]


@pipeline_def
def create_val_pipeline(
    reader,
    *,
    device: str = "gpu",
    image_size: int = 224,
    resize_size: int | None = None,
    fp16: bool = False,
    normalize: bool = True,
    hw_decoder_load: float = 0.65,
):
    """Build the validation pipeline (no augmentation).

    Takes DALI's pipeline arguments as well (``batch_size``, ``num_threads``, ``device_id``,
    ``py_num_workers``...).

    Parameters
    ----------
    reader : sada_dali.data._reader.SampleReader
        Per-sample source without SADA choices (``augments=False``).
    device : {"gpu", "cpu"}
        Where decoding and resizing run.
    image_size : int
        Side of the centre crop.
    resize_size : int, optional
        Shorter side after resizing; default ``round(image_size * 256 / 224)`` (256 for 224).
    fp16 : bool
        Emit float16 images instead of float32.
    normalize : bool
        False emits the uint8 images, without mean/std and float conversion.
    hw_decoder_load : float
        Share of the JPEGs given to the hardware decoder (``device="gpu"`` only).

    Returns
    -------
    nvidia.dali.Pipeline
        Outputs as :func:`sada_dali.pipelines.train.create_train_pipeline`: ``images``,
        ``labels``, ``indices``, ``valid``.
    """
    check_device(device)
    data = read_samples(reader)
    images = fn.decoders.image(data["encoded"], **decoder_args(device, hw_decoder_load))
    shorter = resize_size if resize_size is not None else val_resize_size(image_size)
    images = fn.resize(images, resize_shorter=shorter)
    images = normalize_images(images, fp16=fp16, normalize=normalize, crop=(image_size, image_size))
    return images, to_device(data["label"], device), to_device(data["index"], device), data["valid"]
