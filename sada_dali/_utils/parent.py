"""Worker processes that exit when the process that started them dies.

A trainer killed by SIGKILL, the out-of-memory killer or a segmentation fault runs no clean-up
code, and DALI's workers would wait for tasks on a futex for ever, holding their memory and the
resource tracker's pipe (so the tracker never removes the shared-memory segments either).
:func:`die_with_parent`, called once in each worker, makes the worker exit instead:

- on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill it the moment its parent
  dies. The kernel sends the signal when the *thread* that started the worker exits, so it is
  set only for workers started from the parent's main thread;
- everywhere, a daemon thread wakes when the parent's multiprocessing sentinel closes (or every
  half second) and exits the process once ``os.getppid()`` no longer names the parent.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1
_POLL_S = 0.5
_started = False


def _set_pdeathsig() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux only); whether it worked."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int, sentinel) -> None:
    from multiprocessing.connection import wait

    while os.getppid() == parent_pid:
        if sentinel is not None and wait([sentinel], timeout=_POLL_S):
            sentinel = None  # closed: the parent is dying (or closed its handle); poll from now on
        elif sentinel is None:
            threading.Event().wait(_POLL_S)
    os._exit(1)


def die_with_parent(*, parent_main_thread: bool = True, ignore_sigint: bool = True) -> bool:
    """Make this process exit as soon as the process that started it dies.

    Call it in a ``multiprocessing`` child (a DALI or ``DataLoader`` worker); in any other
    process, and after the first call, it does nothing.

    Parameters
    ----------
    parent_main_thread : bool
        Whether the parent started this process from its main thread, which makes the Linux
        parent-death signal safe (it fires when the starting thread exits). The watchdog thread
        runs in any case.
    ignore_sigint : bool
        Ignore SIGINT in this process. Ctrl-C reaches the whole process group; the parent's
        ``KeyboardInterrupt`` is the one traceback to print, and the parent's exit ends the worker.

    Returns
    -------
    bool
        Whether this call started the watchdog.
    """
    global _started
    parent = multiprocessing.parent_process()
    if _started or parent is None or parent.pid is None:
        return False
    _started = True
    if ignore_sigint and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent_main_thread:
        _set_pdeathsig()
    if os.getppid() != parent.pid:  # died before the signal was armed
        os._exit(1)
    sentinel = getattr(parent, "sentinel", None)
    threading.Thread(
        target=_watch, args=(parent.pid, sentinel), name="sada-parent-watch", daemon=True
    ).start()
    return True
