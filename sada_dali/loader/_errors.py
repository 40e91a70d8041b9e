"""What the loader tells the trainer when reading fails: a dead worker or a bad file."""

from __future__ import annotations

import signal

from ..pipelines._compat import worker_processes

__all__ = ["dead_workers", "innermost", "read_failure"]


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


def innermost(exc: BaseException) -> BaseException:
    """The root of ``exc``'s ``__cause__`` chain (DALI wraps a reader's error in its own)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def read_failure(runner, batch: int, exc: Exception, *, culprits=(), ahead=None) -> RuntimeError:
    """The error to raise when DALI failed while ``runner`` read ``batch`` of its running epoch.

    ``runner`` is the loader's :class:`~sada_dali.loader._epoch.EpochRunner` (its ``running`` epoch,
    ``pipe``, ``listing``, ``sampler`` and ``prefetch_queue_depth``; its repr names the loader).

    A dead worker is named as such. ``culprits``, the ``(position, index)`` of the files the
    decoder rejected (:func:`sada_dali.loader._recovery.find_culprits`), are named with their batch.
    Any other failure carries DALI's innermost message and, when that message names no file,
    the files of the batches that may have failed (DALI reads up to ``prefetch_queue_depth``
    batches ahead). ``ahead`` is ``runner.read_ahead(batch)`` when the caller has it already.
    """
    epoch = runner.running
    dead = dead_workers(runner.pipe)
    if dead:
        return RuntimeError(
            f"A data worker of {runner!r} reading {runner.listing.root!r} died ({dead}) "
            f"during batch {batch} of "
            f"epoch {epoch}; the loader cannot continue. Create a new loader (load_state_dict() "
            "resumes the epoch) and check the system log, e.g. for the out-of-memory killer."
        )
    exc = innermost(exc)
    size = runner.sampler.batch_size
    if culprits:
        named = "\n  ".join(
            f"batch {position // size}: sample {index} ({runner.listing.files[index]})"
            for position, index in culprits
        )
        return RuntimeError(
            f"Epoch {epoch}: the image decoder rejected {len(culprits)} file(s):\n  {named}\n"
            "Replace or remove them, or pass on_error='skip' to drop such files."
        )
    depth = runner.prefetch_queue_depth
    message = f"Reading batch {batch} (or up to {depth} ahead) of epoch {epoch} failed: {str(exc).strip()}"
    ahead = runner.read_ahead(batch) if ahead is None else ahead
    names = [runner.listing.files[index] for _, index in ahead]
    if not any(name in message for name in names):
        message += "\nThese batches hold the files:\n  " + "\n  ".join(names)
    return RuntimeError(message)
