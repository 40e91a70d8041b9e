"""Rows 6 and 8 of ``sada-dali bench``: native DALI on the CPU backend, with no sada-dali reader.

``fn.readers.file`` + ``fn.decoders.image_random_crop`` + ``fn.resize`` + one TrivialAugment
step + ``fn.crop_mirror_normalize`` (random mirror, ImageNet mean and std, CHW float32), at the
same threads and batch size as SADA's CPU row. Row 6 draws the step from
``auto_aug.trivial_augment_wide``'s own suite, no sada-dali code at all; row 8 draws it from
sada-dali's op space (the paper's 14 ops at their maxima, as ``auto_aug`` augmentations), through
``auto_aug.trivial_augment.apply_trivial_augment``. Row 8 does the same image work as SADA's CPU row,
so row 3 against row 8 is the price of SADA's reading and per-sample choices alone; row 6 adds the
difference of the two op spaces (the paper's smaller rotations, shears and translations leave more
of each image to sample).
"""

from __future__ import annotations

__all__ = ["prepare_native_dali"]

from ..op_space import DEFAULT_NUM_MAGNITUDE_BINS
from ._bench_timing import count_images

_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]


def prepare_native_dali(
    files,
    labels,
    *,
    batch_size: int,
    image_size: int,
    threads: int,
    seed: int = 0,
    augment: bool = True,
    op_space: str = "trivial_augment_wide",
):
    """The epoch function of row 6 (or 8) over ``files`` (paths) and ``labels``; returns images read.
    It takes the epoch and, optionally, ``pace_s``: seconds to sleep after each batch.

    ``augment=False`` reads, decodes (whole image) and resizes only: the floor of
    ``benchmarks/host_cost.py``. ``op_space="sada"`` draws the TrivialAugment step from sada-dali's
    op space (row 8) instead of ``trivial_augment_wide``'s suite (row 6).

    The iterator is reset at the start of each epoch, so no work of the next epoch runs
    while other rows are timed.
    """
    from nvidia.dali import fn, pipeline_def, types
    from nvidia.dali.auto_aug import trivial_augment
    from nvidia.dali.plugin.base_iterator import LastBatchPolicy
    from nvidia.dali.plugin.pytorch import DALIGenericIterator

    if op_space not in ("trivial_augment_wide", "sada"):
        raise ValueError(f"The `op_space` must be 'trivial_augment_wide' or 'sada', got {op_space!r}.")
    from ..pipelines.dali_ops import create_augmentations

    augmentations = create_augmentations() if op_space == "sada" else None

    @pipeline_def(enable_conditionals=True)
    def pipeline():
        jpegs, label = fn.readers.file(
            files=list(files), labels=[int(y) for y in labels], random_shuffle=True, name="Reader"
        )
        if not augment:
            images = fn.decoders.image(jpegs, device="cpu", output_type=types.RGB)
            return fn.resize(images, size=[image_size, image_size]), label
        images = fn.decoders.image_random_crop(
            jpegs,
            device="cpu",
            output_type=types.RGB,
            random_area=[0.08, 1.0],
            random_aspect_ratio=[3 / 4, 4 / 3],
        )
        images = fn.resize(images, size=[image_size, image_size])
        if augmentations is None:
            images = trivial_augment.trivial_augment_wide(images, fill_value=128)
        else:
            images = trivial_augment.apply_trivial_augment(
                augmentations, images, num_magnitude_bins=DEFAULT_NUM_MAGNITUDE_BINS, fill_value=128
            )
        images = fn.crop_mirror_normalize(
            images, dtype=types.FLOAT, output_layout="CHW", mean=_MEAN, std=_STD, mirror=fn.random.coin_flip()
        )
        return images, label

    pipe = pipeline(batch_size=batch_size, num_threads=threads, device_id=None, seed=seed)
    iterator = DALIGenericIterator(
        pipe,
        ["images", "labels"],
        reader_name="Reader",
        last_batch_policy=LastBatchPolicy.DROP,
        auto_reset=False,
    )
    state = {"fresh": True}

    def run_epoch(epoch: int, pace_s: float = 0.0) -> int:
        if not state["fresh"]:
            iterator.reset()
        state["fresh"] = False
        return count_images((batch[0]["images"] for batch in iterator), pace_s)

    return run_epoch
