"""CUDA sources shipped with sada-dali (installed as ``sada_dali.kernels``).

``sada_stats.cuh`` holds the ``__host__ __device__`` arithmetic of the SADA statistics;
``sada_stats.cu`` holds the estimator's kernels. Both are package data, read at run time.
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
