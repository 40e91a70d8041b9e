"""The epoch handshake between a loader and its DALI pipeline.

Strengths are copied once per epoch: when an epoch starts, the runner publishes the shard order,
announces the epoch (and a resumed epoch's start position) through its
:class:`~sada_dali.loader._epoch_state.EpochState`, has the strengths copied into the table, and
only then lets DALI read (:class:`~sada_dali.loader._pipe.LoaderPipe`): no sample of an epoch is
read before that copy, and every sample of the epoch sees the same strengths.

An epoch left early ends cheaply: the runner sets the ``stop`` slot, so every reader call raises
``StopIteration``, and drops what DALI had already prepared (at most ``prefetch_queue_depth``
batches plus the one being read) instead of reading to the end. A decoder failure ends a DALI
pipeline; :func:`sada_dali.loader._recovery.recover` may rebuild it and resume the epoch at the
failing batch. Skipped rows are dropped within the limits of :func:`~sada_dali.loader._errors.check_skipped`.
"""

from __future__ import annotations

import weakref

from ._errors import check_skipped, check_workers, dead_workers, nothing_yielded, read_failure
from ._pipe import LoaderPipe, split_rows
from ._recovery import find_culprits, recover

__all__ = ["EpochRunner"]


class EpochRunner:
    """Start, step and abandon the epochs of one DALI pipeline.

    Parameters
    ----------
    factory : callable
        Builds the pipeline (again after a failure), outputs :data:`~sada_dali.loader._pipe.OUTPUTS`.
    reader : sada_dali.data._reader.SampleReader
        The pipeline's source: it maps positions to samples; the probe reads files through it.
    sampler : sada_dali.sampler.ShardSampler
        The shard's epochs and batches.
    state : sada_dali.loader._epoch_state.EpochState
        Strengths, slots, listing flags, ``on_error`` and the skip ledger; closed with the runner.
    owner : object
        The loader, named in errors.
    prefetch_queue_depth : int
        DALI's queue depth (how far a failure may lie ahead of the batch yielded).
    probe : sada_dali.loader._recovery.DecodeProbe
        Finds the files a failed pipeline's decoder rejected.
    max_skipped_share : float
        The largest share of a batch's rows that may be skipped.

    Attributes
    ----------
    running : int
        The epoch being read (or, between epochs, the last one read).
    batch : int
        Batches of ``running`` already yielded.
    in_epoch : bool
        Whether DALI is inside an epoch.
    recoveries : dict
        ``{(epoch, batch): count}`` of the pipeline rebuilds at the batch last recovered.
    rows_read, rows_yielded : int
        Rows of the running epoch read and yielded (not skipped) in this process.
    """

    def __init__(
        self, factory, reader, sampler, state, *, owner, prefetch_queue_depth: int, probe, max_skipped_share
    ):
        self.reader, self.sampler, self.state, self.probe = reader, sampler, state, probe
        self.batch_size, self.max_skipped_share = sampler.batch_size, max_skipped_share
        self.prefetch_queue_depth, self._owner = prefetch_queue_depth, weakref.ref(owner)
        self._dali, self.recoveries = LoaderPipe(factory), {}
        self.rebuild(resume=False)
        self.in_epoch, self.running, self.batch, self.rows_read, self.rows_yielded = False, 0, 0, 0, 0

    @property
    def pipe(self):
        """The DALI pipeline (None once closed)."""
        return self._dali.pipe

    def rebuild(self, *, resume: bool) -> None:
        """Replace the pipeline (and DALI's workers): with ``resume``, going on with the running
        epoch at :attr:`batch` and the table's strengths; else the next :meth:`start` begins one."""
        self._dali.build(started=resume)
        if resume:
            self.state.announce(self.running, self.batch * self.batch_size)

    def abandon(self) -> None:
        """End the running epoch now; the batches DALI had prepared are dropped."""
        if not self.in_epoch:
            return
        self.state.set_stop(True)
        try:
            self._dali.drain()
        except Exception as exc:
            if dead_workers(self.pipe):
                raise read_failure(self, self.batch, exc) from exc
            # a file read ahead failed: recover() names or skips it when an epoch reaches it
            self.rebuild(resume=False)
        finally:
            self.state.set_stop(False)
            self.in_epoch = False

    def start(self, position: int = 0, strengths=None, *, ended=None) -> None:
        """Begin the sampler's epoch at batch ``position`` with the strengths due now.

        ``strengths`` are those a resumed epoch started with; ``ended`` is what the loader's
        estimator returned from ``end_epoch()`` at this start, as ``(estimator, strengths)`` (see
        :meth:`~sada_dali.loader._epoch_state.EpochState.start_strengths`).
        """
        self.abandon()
        self.running, self.batch, self.rows_read, self.rows_yielded = self.sampler.epoch, position, 0, 0
        self.state.publish_order(self.running, self.sampler.indices(self.running))
        self.state.announce(self.running, self.batch * self.batch_size)
        self.state.start_strengths(strengths, mid_epoch=self.batch > 0, ended=ended)
        self._dali.restart()
        self.in_epoch = True

    def finish(self) -> None:
        """Mark the epoch read; the next one follows unless ``set_epoch`` chose another meanwhile."""
        self.in_epoch = False
        if self.sampler.epoch == self.running:
            self.sampler.set_epoch(self.running + 1)

    def next_batch(self, *, keep_padding: bool = False):
        """The next ``(images, labels, indices)`` of the epoch; ``StopIteration`` at its end.

        Parameters
        ----------
        keep_padding : bool
            Keep the rows that pad a partial last batch (they repeat the shard's first
            samples), as DALI's ``LastBatchPolicy.FILL`` does; by default they are trimmed.

        Skipped files' rows are dropped and counted in the state's ledger; a batch that loses more
        than ``max_skipped_share`` of its rows, an epoch that yields none, or a dead worker raises
        (:mod:`sada_dali.loader._errors`); a decoder failure is recovered from or raised by ``recover``.
        """
        while True:
            check_workers(self)
            try:
                out = self._dali.next()
                break
            except StopIteration:
                self.finish()
                if self.rows_read and not self.rows_yielded:
                    raise nothing_yielded(self, self.rows_read) from None
                raise
            except Exception as exc:
                recover(self, exc)
        rows = self.batch_size if keep_padding else self.sampler.rows_in_batch(self.batch)
        first, self.batch = self.batch * self.batch_size, self.batch + 1
        batch, skipped = split_rows(out, rows, self.batch_size, maybe_skipped=self.state.replaced_any)
        if skipped:
            files = self.state.count_skipped([self.reader.index_at(first + r, self.running) for r in skipped])
            check_skipped(self, self.batch - 1, files, rows)
        self.rows_read, self.rows_yielded = self.rows_read + rows, self.rows_yielded + rows - len(skipped)
        return batch

    def read_ahead(self, batch: int) -> list[tuple[int, int]]:
        """``(position, index)`` of the distinct samples DALI may have read when ``batch`` of the
        running epoch failed: that batch and ``prefetch_queue_depth + 1`` more, wrapping past the
        shard end as the reader does."""
        size, seen, found = self.batch_size, set(), []
        stop = min((batch + self.prefetch_queue_depth + 2) * size, self.sampler.padded_positions())
        for position in range(batch * size, stop):
            index = self.reader.index_at(position, self.running)
            if index not in seen:
                seen.add(index)
                found.append((position, index))
        return found

    def culprits(self, ahead) -> list[tuple[int, int]]:
        """The pairs of ``ahead`` (:meth:`read_ahead`) the decoder rejects (``_recovery.find_culprits``)."""
        return find_culprits(self.reader, self.probe, self.running, ahead)

    def close(self) -> None:
        """Stop DALI's pipeline, its workers and the probe; free the epoch state."""
        self._dali.close()
        self.probe.close()
        self.state.close()

    def __repr__(self) -> str:
        return repr(self._owner())
