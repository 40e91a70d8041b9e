"""CUDA sources shipped with sada-dali (installed as ``sada_dali.kernels``).

What lives here (package data, read at run time by :func:`read_source`):

* ``sada_stats.cuh``: the ``__host__ __device__`` arithmetic of the SADA statistics and
  EntAugment's entropy strength (also compiled by g++ in the tests);
* ``sada_device.cuh``: the device-only parts both modules share (float16 loads, warp reductions,
  the claim of each index's last row, the row prologue of the update kernels);
* ``sada_stats.cu``: the kernels of ``SADAEstimator``'s CUDA backend;
* ``entaugment.cu``: the kernels of ``EntAugmentEstimator``'s CUDA backend.

It imports nothing of sada-dali; the estimators' CUDA backends read it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["KERNEL_DIR", "read_source"]

KERNEL_DIR = Path(__file__).resolve().parent


def read_source(name: str) -> str:
    """Return a kernel source with its local ``#include "..."`` lines inlined.

    Inlining (rather than ``-I``) makes the returned text the whole program, so a compiler
    cache keyed on the source (CuPy's) can never serve a binary built from an older header.

    Parameters
    ----------
    name : str
        File name inside the kernels folder, e.g. ``"sada_stats.cu"``.

    Returns
    -------
    str
        The source text.
    """
    lines = []
    for line in (KERNEL_DIR / name).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith('#include "') and stripped.endswith('"'):
            lines.append(read_source(stripped[len('#include "') : -1]))
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"
