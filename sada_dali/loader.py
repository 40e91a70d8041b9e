"""``SADALoader``: a drop-in PyTorch-style iterator over a DALI SADA pipeline.

Strengths are copied once per epoch: when an epoch's iteration starts, the loader copies
the estimator's (or the last :meth:`SADALoader.set_strengths`) N float32 values into its
shared-memory table, announces the epoch, and only then resets DALI. The pipeline is driven
with ``auto_reset=False`` and ``prepare_first_batch=False``, so no sample of an epoch is
read before that copy, and every sample of the epoch sees the same strengths.
"""
from __future__ import annotations

import os

import numpy as np

from .data._reader import SampleReader
from .data.source import create_listing
from .ops import DEFAULT_NUM_MAGNITUDE_BINS, create_op_space
from .sampler import ShardSampler
from .strength import StrengthTable, validate_strengths

__all__ = ["SADALoader"]

_OUTPUTS = ["images", "labels", "indices", "valid"]


def _innermost(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


class SADALoader:
    """Iterate ``(images, labels, indices)`` batches decoded and augmented by DALI.

    Parameters
    ----------
    source : str or os.PathLike
        An ImageFolder directory, or a DALI file list (``relative/path label`` lines) with
        ``file_root``.
    batch_size : int
        Samples per batch of this shard.
    device : {"gpu", "cpu"}
        Where decoding and augmentation run; on "gpu" all outputs are CUDA tensors.
    train : bool
        True: random crop, SADA op, flip, shuffled order. False: the validation pipeline
        (resize, centre crop) in listing order.
    image_size : int
        Output side S.
    strengths : array-like or object with ``.strengths``, optional
        Initial strengths (N,), or an estimator whose ``.strengths`` is read at every epoch
        start. Default: all 1.0.
    num_shards, shard_id : int
        Data-parallel sharding (see :class:`sada_dali.sampler.ShardSampler`).
    seed : int
        Seeds the epoch order, the per-sample op/sign/flip and DALI's random crops.
    drop_last : bool
        Drop the partial last batch (and equalise shards by dropping); False pads shards by
        wrapping around and yields a partial last batch.
    num_threads : int, optional
        DALI CPU threads; default ``min(os.cpu_count(), 16)``.
    workers : int, optional
        Python worker processes of the parallel external source (start method "spawn");
        default ``min(os.cpu_count(), 8)``. 0 reads files inline in the main process.
    on_error : {"raise", "skip"}
        A corrupt or truncated file raises an error naming it, or is skipped: its row is
        dropped from the batch and counted in :attr:`num_skipped`.
    op_space : sequence of OpSpec, optional
        Default: the paper's Table 8.
    num_magnitude_bins : int
        Strength quantisation.
    fp16 : bool
        float16 images.
    file_root : str, optional
        Root of the paths of a file list.
    device_id : int, optional
        CUDA device for "gpu" (default: the current one).
    hw_decoder_load : float
        Share of JPEGs for the hardware decoder ("gpu").
    prefetch_queue_depth : int
        DALI's pipeline queue depth.

    Notes
    -----
    The epoch advances by one after each complete pass; :meth:`set_epoch` overrides it (as
    with ``DistributedSampler``). Breaking out of an epoch is allowed: the next pass first
    drains the rest of it (DALI cannot reset mid-epoch) and, without ``set_epoch``, reads
    the same epoch again.

    DALI's iterator runs with ``size=-1``: the epoch ends when the reader raises
    ``StopIteration``, and DALI's ``LastBatchPolicy`` does not apply to such pipelines. The
    sampler applies ``drop_last`` instead: DALI always receives whole batches (the last one
    padded by wrapping around) and the loader trims the padding rows. With ``on_error="skip"`` a batch may hold fewer than
    ``batch_size`` rows. DALI's random crops are seeded per pipeline, not per sample, so a
    resumed run reproduces the order and the SADA choices but not the crops.
    """

    def __init__(self, source, batch_size: int, *, device: str = "gpu", train: bool = True,
                 image_size: int = 224, strengths=None, num_shards: int = 1, shard_id: int = 0, seed: int = 0,
                 drop_last: bool = True, num_threads: int | None = None, workers: int | None = None,
                 on_error: str = "raise", op_space=None, num_magnitude_bins: int = DEFAULT_NUM_MAGNITUDE_BINS,
                 fp16: bool = False, file_root=None, device_id: int | None = None,
                 hw_decoder_load: float = 0.65, prefetch_queue_depth: int = 2):
        from nvidia.dali.plugin.pytorch import DALIGenericIterator

        from .pipelines._stages import check_device

        self.device = check_device(device)
        self.train = bool(train)
        self.listing = create_listing(source, file_root=file_root)
        self.sampler = ShardSampler(len(self.listing), batch_size, num_shards=num_shards, shard_id=shard_id,
                                    seed=seed, shuffle=self.train, drop_last=drop_last)
        op_space = create_op_space() if op_space is None else tuple(op_space)
        self._table = StrengthTable(self.num_samples) if self.train else None
        self._pending = None
        if strengths is not None:
            self.set_strengths(strengths)
        self.num_skipped = 0
        self.skipped_files: list[str] = []
        reader = SampleReader(self.listing, self.sampler, table=self._table, num_magnitude_bins=num_magnitude_bins,
                              num_ops=len(op_space), on_error=on_error, choices=self.train)
        cpus = os.cpu_count() or 1
        pipeline_args = dict(
            batch_size=self.sampler.batch_size, num_threads=num_threads or min(cpus, 16),
            device_id=self._device_id(device_id), seed=(self.sampler.seed * 1_000_003 + shard_id) % (1 << 31),
            py_num_workers=min(cpus, 8) if workers is None else workers, py_start_method="spawn",
            prefetch_queue_depth=prefetch_queue_depth)
        if self.train:
            from .pipelines.train import create_train_pipeline

            pipe = create_train_pipeline(reader, device=device, image_size=image_size, op_space=op_space,
                                         num_magnitude_bins=num_magnitude_bins, fp16=fp16,
                                         hw_decoder_load=hw_decoder_load, **pipeline_args)
        else:
            from .pipelines.val import create_val_pipeline

            pipe = create_val_pipeline(reader, device=device, image_size=image_size, fp16=fp16,
                                       hw_decoder_load=hw_decoder_load, **pipeline_args)
        self._iterator = DALIGenericIterator([pipe], _OUTPUTS, auto_reset=False, prepare_first_batch=False)
        self._started = self._in_epoch = False
        self._running = 0

    def _device_id(self, device_id):
        if self.device == "cpu":
            return None
        if device_id is None:
            import torch

            device_id = torch.cuda.current_device()
        return int(device_id)

    @property
    def num_samples(self) -> int:
        """Dataset size N (all shards): the length of the strength table and of ``indices``' range."""
        return len(self.listing)

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names; label ``k`` is ``classes[k]``."""
        return self.listing.classes

    @property
    def epoch(self) -> int:
        """The epoch the next pass will read."""
        return self.sampler.epoch

    @property
    def strengths(self) -> np.ndarray | None:
        """Read-only (N,) float32 strengths in use this epoch (None for validation)."""
        return None if self._table is None else self._table.array

    def set_epoch(self, epoch: int) -> None:
        """Read ``epoch`` next (order, SADA choices); call before iterating, like ``DistributedSampler``."""
        self.sampler.set_epoch(epoch)

    def set_strengths(self, strengths) -> None:
        """Use ``strengths`` from the next epoch on.

        Parameters
        ----------
        strengths : array-like or object with ``.strengths``
            An (N,) array with finite values in [0, 1] (torch, CuPy, NumPy or DLPack), checked
            now; or an estimator, whose ``.strengths`` is copied at every epoch start.

        Raises
        ------
        ValueError
            On a validation loader, a wrong length, a non-finite value or one outside [0, 1].
        TypeError
            If ``strengths`` is not a numeric array.
        """
        if self._table is None:
            raise ValueError("The `strengths` apply only to a training loader (train=True); "
                             "this one was built with train=False.")
        if hasattr(strengths, "strengths"):
            self._pending = strengths
        else:
            self._pending = validate_strengths(strengths, self.num_samples).copy()

    def _start_epoch(self) -> None:
        while self._in_epoch:  # DALI cannot reset mid-epoch: read the rest first
            try:
                next(self._iterator)
            except StopIteration:
                self._in_epoch = False
        self._running = self.sampler.epoch
        if self._table is not None:
            self._table.set_epoch(self._running)
            pending = self._pending
            if pending is not None:
                self._table.set(pending.strengths if hasattr(pending, "strengths") else pending)
                if not hasattr(pending, "strengths"):
                    self._pending = None
        if self._started:
            self._iterator.reset()
        self._started = self._in_epoch = True

    def _fail(self, batch: int, exc: Exception):
        files = self.sampler.indices(self._running)[batch * self.sampler.batch_size:][:self.sampler.batch_size]
        names = "\n  ".join(self.listing.files[i] for i in files)
        cause = str(_innermost(exc)).strip()
        return RuntimeError(f"Reading batch {batch} of epoch {self._running} failed: {cause}\n"
                            f"The batch holds these files:\n  {names}")

    def __iter__(self):
        self._start_epoch()
        batch = 0
        while True:
            try:
                out = next(self._iterator)[0]
            except StopIteration:
                break
            except Exception as exc:
                raise self._fail(batch, exc) from exc
            rows = self.sampler.rows_in_batch(batch)  # the rest pads the last batch
            batch += 1
            valid = out["valid"][:rows].bool()
            images, labels, indices = (out[name][:rows] for name in _OUTPUTS[:3])
            if not bool(valid.all()):
                self._count_skipped(indices, ~valid)
                keep = valid.nonzero().squeeze(1).to(images.device)
                if keep.numel() == 0:
                    continue
                images, labels, indices = (t.index_select(0, keep) for t in (images, labels, indices))
            yield images, labels, indices
        self._in_epoch = False
        if self.sampler.epoch == self._running:  # unless set_epoch() chose another one meanwhile
            self.sampler.set_epoch(self._running + 1)

    def _count_skipped(self, indices, skipped) -> None:
        rows = skipped.nonzero().squeeze(1).to(indices.device)
        for index in indices.index_select(0, rows).cpu().tolist():
            self.skipped_files.append(self.listing.files[index])
        self.num_skipped += int(rows.numel())

    def __len__(self) -> int:
        """Batches per epoch of this shard."""
        return len(self.sampler)

    def close(self) -> None:
        """Stop DALI's workers and free the strength table."""
        self._iterator = None
        if self._table is not None:
            self._table.close()

    def __repr__(self) -> str:
        return (f"SADALoader(num_samples={self.num_samples}, batch_size={self.sampler.batch_size}, "
                f"device={self.device!r}, train={self.train}, epoch={self.epoch})")
