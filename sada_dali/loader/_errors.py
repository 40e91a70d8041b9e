"""What the loader tells the trainer when reading fails (a dead worker, a bad file) or skips too much.

Skipped rows (``on_error="skip"``, ``exclude=``) are dropped from their batch, within two limits
(:func:`check_skipped`, :func:`nothing_yielded`): a batch may lose at most ``max_skipped_share`` of
its rows (default :data:`~sada_dali.loader._options.DEFAULT_MAX_SKIPPED_SHARE`, more than half), and
an epoch must yield at least one row. A batch that thin trains on too few samples, an empty one
averages a loss over nothing (NaN), and most of a batch failing points at the dataset or its
storage rather than at a few bad files.
"""

from __future__ import annotations

import signal

from ..pipelines._compat import worker_processes

__all__ = ["dead_workers", "check_workers", "innermost", "read_failure", "check_skipped", "nothing_yielded"]

_SHOWN = 5  # skipped files an error names


def dead_workers(pipe) -> str:
    """'worker pid P killed by SIGKILL, ...' for DALI's Python workers that have exited ('' if none).

    Parameters
    ----------
    pipe : nvidia.dali.Pipeline
        A pipeline with a parallel ``external_source`` (its ``_py_pool``).
    """
    dead = []
    for process in worker_processes(pipe):
        code = process.exitcode
        if code is not None and code < 0 and -code in signal.valid_signals():
            dead.append(f"worker pid {process.pid} killed by {signal.Signals(-code).name}")
        elif code is not None:
            dead.append(f"worker pid {process.pid} exited with code {code}")
    return ", ".join(dead)


def check_workers(runner) -> None:
    """Raise :func:`read_failure`'s dead-worker error if a worker of ``runner``'s pipeline has exited.

    Called before each batch is asked of DALI. Its pool wakes its workers through a shared
    ``multiprocessing.Condition``; a worker killed while it waited there never acknowledges, and
    the pool's ``notify`` would block the main thread for good (DALI's own observer thread avoids
    notifying for that reason) instead of failing.
    """
    dead = dead_workers(runner.pipe)
    if dead:
        raise _worker_died(runner, runner.batch, dead)


def _worker_died(runner, batch: int, dead: str) -> RuntimeError:
    state = runner.state
    return RuntimeError(
        f"A data worker of {runner!r} reading {state.root!r} died ({dead}) during batch {batch} of "
        f"epoch {runner.running}; the loader cannot continue. Create a new loader (load_state_dict() "
        "resumes the epoch) and check the system log, e.g. for the out-of-memory killer."
    )


def innermost(exc: BaseException) -> BaseException:
    """The root of ``exc``'s ``__cause__`` chain (DALI wraps a reader's error in its own)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def read_failure(runner, batch: int, exc: Exception, *, culprits=(), ahead=None) -> RuntimeError:
    """The error to raise when DALI failed while ``runner`` read ``batch`` of its running epoch.

    ``runner`` is the loader's :class:`~sada_dali.loader._epoch.EpochRunner` (its ``running`` epoch,
    ``pipe``, ``state``, ``batch_size`` and ``prefetch_queue_depth``; its repr names the loader).

    A dead worker is named as such. ``culprits``, the ``(position, index)`` of the files the
    decoder rejected (:func:`sada_dali.loader._recovery.find_culprits`), are named with their batch.
    Any other failure carries DALI's innermost message and, when that message names no file,
    the files of the batches that may have failed (DALI reads up to ``prefetch_queue_depth``
    batches ahead). ``ahead`` is ``runner.read_ahead(batch)`` when the caller has it already.
    """
    epoch, state = runner.running, runner.state
    dead = dead_workers(runner.pipe)
    if dead:
        return _worker_died(runner, batch, dead)
    exc = innermost(exc)
    size = runner.batch_size
    if culprits:
        named = "\n  ".join(
            f"batch {position // size}: sample {index} ({state.path(index)})" for position, index in culprits
        )
        return RuntimeError(
            f"Epoch {epoch}: the image decoder rejected {len(culprits)} file(s):\n  {named}\n"
            "Replace or remove them, or pass on_error='skip' to drop such files."
        )
    depth = runner.prefetch_queue_depth
    message = f"Reading batch {batch} (or up to {depth} ahead) of epoch {epoch} failed: {str(exc).strip()}"
    ahead = runner.read_ahead(batch) if ahead is None else ahead
    names = [state.path(index) for _, index in ahead]
    if not any(name in message for name in names):
        message += "\nThese batches hold the files:\n  " + "\n  ".join(names)
    return RuntimeError(message)


def _remedy(root: str, *, share: bool) -> str:
    tail = (
        "; or pass max_skipped_share=1.0 to let such batches through (the training loop must then "
        "handle batches of few or 0 rows)"
        if share
        else ""
    )
    return (
        f"`sada-dali check {root}` lists the files that fail: replace or remove them (excluded files "
        f"count as skipped too){tail}. When most files fail, check the storage (a lost mount?) and "
        "the formats the loader reads (`formats=`)."
    )


def check_skipped(runner, batch: int, files: list[str], rows: int) -> None:
    """Raise a RuntimeError if ``files``, the skipped rows of ``batch`` (of ``rows``), are more than
    ``runner.max_skipped_share`` of it; the error names the source, the batch, the count and the files."""
    limit, state = runner.max_skipped_share, runner.state
    if len(files) <= limit * rows:
        return
    shown = "\n  ".join(files[:_SHOWN])
    more = f"\n  ... and {len(files) - _SHOWN} more" if len(files) > _SHOWN else ""
    raise RuntimeError(
        f"Epoch {runner.running}, batch {batch} of {runner!r} reading {state.root!r}: {len(files)} of its "
        f"{rows} rows were skipped, more than max_skipped_share={limit} allows:\n  {shown}{more}\n"
        + _remedy(state.root, share=True)
    )


def nothing_yielded(runner, rows: int) -> RuntimeError:
    """The error of an epoch of ``runner`` whose ``rows`` rows were all skipped."""
    state = runner.state
    return RuntimeError(
        f"Epoch {runner.running} of {runner!r} reading {state.root!r} yielded no sample: all {rows} rows "
        "it read were skipped (files that cannot be read or decoded, or excluded). "
        + _remedy(state.root, share=False)
    )
