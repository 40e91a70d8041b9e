"""The :class:`Listing` of a dataset: which files, which labels, and the sample index of each.

Every source (an ImageFolder, a DALI file list, WebDataset tar shards) is listed into one
(:mod:`sada_dali.data.source`, :mod:`sada_dali.data._tar_shards`); the loaders, the reader and the
doctor read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Listing"]


@dataclass(frozen=True)
class Listing:
    """The files of a dataset in sample-index order.

    Attributes
    ----------
    files : tuple of str
        Absolute paths; ``files[i]`` is sample ``i``.
    labels : numpy.ndarray
        (N,) int64 class indices.
    classes : tuple of str
        Class names (ImageFolder: sorted folder names; file list: ``"0" .. str(max label)``).
    root : str
        The folder, file list or shard pattern the listing came from.
    shards : tuple of str
        The tar shards of a shard source, in order (empty for files); ``files[i]`` is then
        ``"<shard>:<key>"``.
    locations : numpy.ndarray or None
        For shards, (N, 3) int64 ``(shard number, byte offset, byte size)`` of each sample's
        image member; None for files.

    Notes
    -----
    It reads like ``torchvision.datasets.ImageFolder`` for code that inspects a loader's
    ``dataset``: ``len()``, ``classes``, :attr:`class_to_idx`, :attr:`samples` (also as
    ``imgs``) and :attr:`targets`.
    """

    files: tuple[str, ...]
    labels: np.ndarray
    classes: tuple[str, ...]
    root: str
    shards: tuple[str, ...] = ()
    locations: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.files)

    @property
    def class_to_idx(self) -> dict[str, int]:
        """``{class name: label}``."""
        return {name: k for k, name in enumerate(self.classes)}

    @cached_property
    def targets(self) -> list[int]:
        """The label of each sample, in index order."""
        return self.labels.tolist()

    @cached_property
    def samples(self) -> list[tuple[str, int]]:
        """``(path, label)`` of each sample, in index order."""
        return list(zip(self.files, self.targets))

    @property
    def imgs(self) -> list[tuple[str, int]]:
        """:attr:`samples` (ImageFolder's older name)."""
        return self.samples
