"""Two parts of a loader built from its options: its pipeline (built again after a decoder failure)
and its estimator. :func:`sada_dali.loader._factory.build_loader` puts them together."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PipelineOptions", "create_loader_pipeline", "create_loader_estimator", "ESTIMATORS"]


@dataclass(frozen=True)
class PipelineOptions:
    """Everything a loader's pipeline is built from, besides its reader (fixed at construction).

    Attributes
    ----------
    train : bool
        SADA training pipeline, or the validation one.
    device : {"gpu", "cpu"}
        Where DALI decodes and augments.
    device_id : int or None
        CUDA device (None on "cpu").
    seed : int
        DALI's pipeline seed.
    num_threads, workers : int
        DALI threads and reader worker processes.
    prefetch_queue_depth : int
        DALI's queue depth.
    image_size : int
        Output side.
    op_space : tuple of OpSpec
        The SADA ops (training only).
    num_magnitude_bins : int
        Strength quantisation (training only).
    fp16 : bool
        float16 images.
    normalize : bool
        Mean/std-normalised float images, or (False) the uint8 ones.
    hw_decoder_load : float
        Share of JPEGs for the hardware decoder ("gpu").
    """

    train: bool
    device: str
    device_id: int | None
    seed: int
    num_threads: int | None
    workers: int | None
    prefetch_queue_depth: int
    image_size: int
    op_space: tuple
    num_magnitude_bins: int
    fp16: bool
    hw_decoder_load: float
    normalize: bool = True


def create_loader_pipeline(reader, options: PipelineOptions):
    """Build the training or validation pipeline of a loader.

    Parameters
    ----------
    reader : sada_dali.data._reader.SampleReader
        The per-batch source (its ``batch_size`` is the pipeline's).
    options : PipelineOptions
        With ``num_threads`` and ``workers`` resolved.

    Returns
    -------
    nvidia.dali.Pipeline
    """
    o = options
    args = dict(
        batch_size=reader.batch_size,
        num_threads=o.num_threads,
        device_id=o.device_id,
        seed=o.seed,
        py_num_workers=o.workers,
        py_start_method="spawn",
        prefetch_queue_depth=o.prefetch_queue_depth,
        device=o.device,
        image_size=o.image_size,
        fp16=o.fp16,
        normalize=o.normalize,
        hw_decoder_load=o.hw_decoder_load,
    )
    if o.train:
        from ..pipelines.train import create_train_pipeline

        return create_train_pipeline(
            reader, op_space=o.op_space, num_magnitude_bins=o.num_magnitude_bins, **args
        )
    from ..pipelines.val import create_val_pipeline

    return create_val_pipeline(reader, **args)


ESTIMATORS = ("sada", "entaugment")
"""The policies ``SADALoader(estimator=...)`` creates by name (``True`` is ``"sada"``)."""


def create_loader_estimator(
    estimator, *, num_samples: int, num_classes: int, device: str, device_id, seed: int, batch_size: int
):
    """The estimator a loader feeds: ``estimator`` itself, or a new one for a name or ``True``.

    ``"sada"`` (or ``True``) creates a :class:`~sada_dali.estimator.SADAEstimator`,
    ``"entaugment"`` an :class:`~sada_dali.estimator.EntAugmentEstimator`, each with its
    defaults and ``num_classes``-wide logits. A new estimator lives on the loader's GPU (or
    the CPU for ``device="cpu"``) and, when a ``torch.distributed`` group with several ranks is
    initialised, is wrapped in a
    :class:`~sada_dali.distributed.DistributedEstimator` of the loader's batch size.

    Raises
    ------
    ValueError
        If ``estimator`` is a string other than those of :data:`ESTIMATORS`.
    TypeError
        If ``estimator`` is neither a bool, such a name, nor an object with ``update``,
        ``end_epoch`` and ``strengths``.
    """
    if estimator is None or estimator is False:
        return None
    if isinstance(estimator, str) and estimator not in ESTIMATORS:
        raise ValueError(
            f"The `estimator` must be 'sada', 'entaugment', True, False/None or an estimator object, "
            f"got {estimator!r}."
        )
    if estimator is True or isinstance(estimator, str):
        from .._utils.shards import shard_info
        from ..distributed import DistributedEstimator
        from ..estimator import EntAugmentEstimator, SADAEstimator

        where = "cpu" if device == "cpu" else f"cuda:{device_id}"
        kind = EntAugmentEstimator if estimator == "entaugment" else SADAEstimator
        created = kind(num_samples, num_classes, device=where, seed=seed)
        return DistributedEstimator(created, batch_size=batch_size) if shard_info()[0] > 1 else created
    if not all(hasattr(estimator, name) for name in ("update", "end_epoch", "strengths")):
        raise TypeError(
            f"The `estimator` must be True, 'sada', 'entaugment', False/None or an estimator with update(), "
            f"end_epoch() and .strengths (SADAEstimator, EntAugmentEstimator, DistributedEstimator), "
            f"got {type(estimator).__name__}."
        )
    return estimator
