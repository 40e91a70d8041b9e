"""Per-rank defaults for DALI's threads and the reader's worker processes.

A node with W local ranks runs W training loaders (and as many validation loaders), so each
loader takes its share of the CPUs this process may run on, not the whole machine:

* ``share = max(1, usable_cpus() // local_world_size())``;
* DALI threads: ``min(share, 8)`` on the GPU backend (decoding runs on the GPU; NVIDIA's
  ImageNet examples use 4 to 6 per GPU), ``min(share, 16)`` on the CPU backend;
* reader workers: ``min(max(1, share // 4), 8)`` (they only read files and hash a few numbers).

The workers rule is measured (``benchmarks/host_cost.py``, ``benchmarks/RESULTS.md``): with the
batch reader a worker spends about 40-50 us of CPU per tiny image, so one worker feeds about
20k img/s; ``workers=0`` moves that work onto the main thread (about 68 us per image instead
of 25), which on a GPU is the thread that caps the loader. On the 2-core CPU machine the rule
gives 1 worker: 1.02x native DALI's rate, against 1.07x with ``workers=0`` and 0.94x with 2.
On a 16-core node with 8 GPUs each rank's share is 2 cores, so 1 worker (enough for ~20k
img/s); with one GPU it is 16 cores and 4 workers.
"""

from __future__ import annotations

import os

__all__ = ["usable_cpus", "local_world_size", "cpu_share", "default_num_threads", "default_workers"]


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), else ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def local_world_size() -> int:
    """Ranks on this node: ``LOCAL_WORLD_SIZE`` as torchrun sets it, else 1.

    Raises
    ------
    ValueError
        If ``LOCAL_WORLD_SIZE`` is set but is not a positive integer.
    """
    value = os.environ.get("LOCAL_WORLD_SIZE", "").strip()
    if not value:
        return 1
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"The environment variable LOCAL_WORLD_SIZE must be a positive integer, got {value!r}; "
            "unset it or launch with torchrun."
        )
    return int(value)


def cpu_share() -> int:
    """This rank's share of the usable CPUs (at least 1)."""
    return max(1, usable_cpus() // local_world_size())


def default_num_threads(device: str) -> int:
    """DALI threads for a loader on ``device`` ("gpu" or "cpu")."""
    return min(cpu_share(), 8 if device == "gpu" else 16)


def default_workers() -> int:
    """Reader worker processes for a loader."""
    return min(max(1, cpu_share() // 4), 8)
