"""Building a loader from its options: the one way a loader's parts are made, and made again.

:func:`build_loader` lists the dataset (or takes a listing a saved state restored), then builds,
each in its own step, the sampler, the epoch state (strength table, shared listing, skip ledger;
the ``exclude`` flags and the first strengths), the reader over the state's view, the estimator,
the runner (pipeline and decoder probe) and the keeper of the saved state. What a step built is
closed again if a later one fails. ``SADALoader.__init__`` and ``SADALoader.load_state_dict``
both call it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..data._reader import SampleReader
from ..data._shared_listing import SharedListing
from ..data.doctor import excluded_indices
from ..data.source import create_listing
from ..sampler import ShardSampler
from ..strength import StrengthTable
from ._build import PipelineOptions, create_loader_estimator, create_loader_pipeline
from ._epoch import EpochRunner
from ._epoch_state import EpochState
from ._feed import FeedLedger
from ._main_guard import check_main_guard
from ._options import LoaderOptions
from ._recovery import DecodeProbe
from ._state import LoaderState

__all__ = ["LoaderParts", "build_loader"]


def _close_all(closers: list) -> None:
    """Run ``close`` callables, newest first (each once)."""
    while closers:
        closers.pop()()


@dataclass(frozen=True, eq=False)
class LoaderParts:
    """What a loader is made of, as :func:`build_loader` built it; :meth:`close` frees it.

    ``runner`` owns ``epoch`` (closing it frees ``table`` and the shared listing), ``ledger``
    pairs fed logits with the batches yielded (None without an estimator), ``state`` saves and
    loads the loader's state, and ``closers`` are what :meth:`close` runs, newest first.
    """

    listing: object
    sampler: ShardSampler
    table: StrengthTable
    epoch: EpochState
    reader: SampleReader
    runner: EpochRunner
    estimator: object
    ledger: FeedLedger | None
    state: LoaderState
    closers: list

    def close(self) -> None:
        """Stop the pipeline and its workers, free the shared blocks (calling it again does nothing)."""
        _close_all(self.closers)


def build_loader(options: LoaderOptions, listing=None, *, owner) -> LoaderParts:
    """Build the parts of a loader.

    Parameters
    ----------
    options : LoaderOptions
        The loader's checked arguments.
    listing : sada_dali.data.listing.Listing, optional
        The dataset; default ``options.source`` listed now (a loaded state passes the listing
        with its removed bad files put back).
    owner : object
        The loader, which errors name (held weakly).

    Returns
    -------
    LoaderParts
    """
    closers: list = []
    try:
        return _build(options, listing, owner, closers)
    except BaseException:
        _close_all(closers)
        raise


def _build(o: LoaderOptions, listing, owner, closers: list) -> LoaderParts:
    listing = create_listing(o.source, file_root=o.file_root) if listing is None else listing
    sampler = ShardSampler(
        len(listing),
        o.batch_size,
        num_shards=o.num_shards,
        shard_id=o.shard_id,
        seed=o.seed,
        shuffle=o.train,
        drop_last=o.drop_last,
        pad=o.train,
    )
    table = StrengthTable(len(listing))  # validation uses only its epoch/start/stop slots
    closers.append(table.close)
    shared = SharedListing(listing, sampler.shard_size)
    closers.append(shared.close)
    epoch = EpochState(listing, shared, table, on_error=o.on_error, train=o.train)
    if o.exclude is not None:
        epoch.mark_excluded(excluded_indices(o.exclude, listing))
    reader = SampleReader(
        epoch.view(),
        sampler,
        num_magnitude_bins=o.num_magnitude_bins,
        num_ops=len(o.op_space),
        augments=o.train,
        random_area=o.random_area,
        random_aspect_ratio=o.random_aspect_ratio,
        max_pixels=o.max_pixels,
        formats=o.formats,
    )
    estimator = _estimator(o, listing, sampler)
    if o.strengths is not None or estimator is not None:
        epoch.set_strengths(estimator if o.strengths is None else o.strengths)
    runner = _runner(o, reader, sampler, epoch, owner)
    closers.append(runner.close)
    ledger = None if estimator is None else FeedLedger(estimator)
    owned = ledger if estimator is not o.estimator else None  # created here: saved with the loader
    state = LoaderState(listing, sampler, epoch, runner, fingerprint=o.fingerprint(), ledger=owned)
    return LoaderParts(listing, sampler, table, epoch, reader, runner, estimator, ledger, state, closers)


def _estimator(o: LoaderOptions, listing, sampler: ShardSampler):
    return create_loader_estimator(
        o.estimator,
        num_samples=len(listing),
        num_classes=len(listing.classes) if o.num_classes is None else o.num_classes,
        device=o.device,
        device_id=o.device_id,
        seed=sampler.seed,
        batch_size=sampler.batch_size,
    )


def _runner(o: LoaderOptions, reader, sampler: ShardSampler, epoch: EpochState, owner) -> EpochRunner:
    """The runner: its pipeline, built now by :func:`create_loader_pipeline` (again after a decoder
    failure), and the probe that finds the files a failed pipeline's decoder rejected."""
    check_main_guard(o.workers)
    pipeline = PipelineOptions(
        train=o.train,
        device=o.device,
        device_id=o.device_id,
        seed=(o.seed * 1_000_003 + o.shard_id) % (1 << 31),
        num_threads=o.num_threads,
        workers=o.workers,
        prefetch_queue_depth=o.prefetch_queue_depth,
        image_size=o.image_size,
        op_space=o.op_space,
        num_magnitude_bins=o.num_magnitude_bins,
        fp16=o.fp16,
        normalize=o.normalize,
        hw_decoder_load=o.hw_decoder_load,
    )
    probe = DecodeProbe(
        device=o.device,
        device_id=o.device_id,
        hw_decoder_load=o.hw_decoder_load,
        num_threads=o.num_threads,
        max_batch=sampler.batch_size,
        crop=o.train,
    )
    return EpochRunner(
        functools.partial(create_loader_pipeline, reader, pipeline),
        reader,
        sampler,
        epoch,
        owner=owner,
        prefetch_queue_depth=o.prefetch_queue_depth,
        probe=probe,
        max_skipped_share=o.max_skipped_share,
    )
