"""Every use of DALI's private API in sada-dali, in one place.

A DALI upgrade that renames one of these breaks this module only. Each helper imports DALI
(or touches a private attribute) when called, never at import time.
"""

from __future__ import annotations

__all__ = ["shutdown_pipeline", "worker_processes", "conditionals_enabled"]


def shutdown_pipeline(pipe) -> None:
    """Stop a DALI pipeline and its Python worker processes now, rather than when it is collected.

    Parameters
    ----------
    pipe : nvidia.dali.Pipeline or None
        A built pipeline; None does nothing.
    """
    if pipe is None:
        return
    pool = getattr(pipe, "_py_pool", None)
    pipe._shutdown()
    if pool is not None:
        pool.close()


def worker_processes(pipe) -> list:
    """The ``multiprocessing.Process`` objects of a pipeline's parallel ``external_source`` workers.

    Parameters
    ----------
    pipe : nvidia.dali.Pipeline or None
        A pipeline; one without a worker pool (or None) has none.
    """
    pool = getattr(getattr(pipe, "_py_pool", None), "pool", None)
    return list(getattr(pool, "_processes", ()))


def conditionals_enabled() -> bool | None:
    """Whether the pipeline being defined has ``enable_conditionals=True`` (None: DALI cannot tell)."""
    try:
        from nvidia.dali._conditionals import conditionals_enabled as enabled
    except ImportError:  # pragma: no cover - the private module moved; DALI then raises itself
        return None
    return bool(enabled())
