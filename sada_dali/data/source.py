"""Listing a ``source``: an ImageFolder tree, a DALI file list or WebDataset tar shards.

Sample ``i`` is the ``i``-th entry of the listing. For an ImageFolder the listing follows
``torchvision.datasets.folder.make_dataset`` exactly (sorted class folders, a sorted walk of
each, the same ``IMG_EXTENSIONS``), so labels and indices match
``torchvision.datasets.ImageFolder(root)`` and are stable across runs: they are what the
estimator's ``indices`` refer to. A source of WebDataset tar shards (a folder of ``.tar``
files, a list of them or a brace pattern) is listed from a cached index of the shards'
headers (:mod:`sada_dali.data._tar_shards`). :class:`Listing` itself lives in
:mod:`sada_dali.data.listing`.
"""

from __future__ import annotations

import os

import numpy as np

from .listing import Listing

__all__ = ["IMG_EXTENSIONS", "Listing", "list_image_folder", "read_file_list", "create_listing"]

IMG_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
"""Extensions an ImageFolder keeps, matched case-insensitively (torchvision's list)."""


def _check_dir(root: str, name: str) -> str:
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    if not os.path.exists(root):
        raise FileNotFoundError(f"The `{name}` {root!r} does not exist; pass an existing directory.")
    if not os.path.isdir(root):
        raise NotADirectoryError(f"The `{name}` {root!r} is not a directory.")
    return root


def list_image_folder(root) -> Listing:
    """List ``root/<class>/**/<file>`` exactly as ``torchvision.datasets.ImageFolder`` does.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder with one sub-folder per class.

    Returns
    -------
    Listing

    Raises
    ------
    FileNotFoundError
        If ``root`` is missing, has no class folder, or a class folder has no image file.
    """
    root = _check_dir(root, "source")
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"The `source` {root!r} has no class folder; expected root/<class>/<image>.")
    files, labels, empty = [], [], []
    for label, name in enumerate(classes):
        count = len(files)
        for folder, _, fnames in sorted(os.walk(os.path.join(root, name), followlinks=True)):
            for fname in sorted(fnames):
                if fname.lower().endswith(IMG_EXTENSIONS):
                    files.append(os.path.join(folder, fname))
                    labels.append(label)
        if len(files) == count:
            empty.append(name)
    if empty:
        raise FileNotFoundError(
            f"The `source` {root!r} has class folders without images: {', '.join(empty)}. "
            f"Supported extensions are: {', '.join(IMG_EXTENSIONS)}."
        )
    return Listing(tuple(files), np.asarray(labels, dtype=np.int64), tuple(classes), root)


def read_file_list(path, file_root) -> Listing:
    """Read a DALI-style file list: one ``relative/path label`` per line.

    Parameters
    ----------
    path : str or os.PathLike
        The list file. Blank lines are ignored; the label is the last whitespace-separated
        field, so paths may contain spaces.
    file_root : str or os.PathLike
        Folder the relative paths start from.

    Returns
    -------
    Listing

    Raises
    ------
    FileNotFoundError
        If the list or ``file_root`` is missing, or the list has no entry.
    ValueError
        On a line without a non-negative integer label (the error names the line).
    """
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The file list {path!r} does not exist; pass an existing file.")
    file_root = _check_dir(file_root, "file_root")
    files, labels = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            parts = line.rsplit(maxsplit=1)
            if len(parts) != 2 or not parts[1].isdigit():
                raise ValueError(
                    f"The file list {path!r} line {number} must read `relative/path label` "
                    f"with a non-negative integer label, got {line!r}."
                )
            files.append(os.path.join(file_root, parts[0]))
            labels.append(int(parts[1]))
    if not files:
        raise FileNotFoundError(f"The file list {path!r} has no entry.")
    labels = np.asarray(labels, dtype=np.int64)
    classes = tuple(str(c) for c in range(int(labels.max()) + 1))
    return Listing(tuple(files), labels, classes, path)


def create_listing(source, *, file_root=None, progress: bool = True) -> Listing:
    """List a directory (ImageFolder), a file list (with ``file_root``) or tar shards.

    Parameters
    ----------
    source : str, os.PathLike or list
        A dataset folder, a file list, or WebDataset tar shards: a folder of ``.tar`` files
        (sorted by name), a list of shard paths (in that order) or a brace pattern such as
        ``"/data/imagenet1k-train-{0000..1023}.tar"``.
    file_root : str or os.PathLike, optional
        Required with a file list; must be omitted otherwise.
    progress : bool
        Show a progress bar while long shard scans build the index.

    Returns
    -------
    Listing

    Raises
    ------
    sada_dali.data._tar_index.ShardError
        (a ValueError) On a shard that cannot be indexed; the message names it and the key.
    """
    from ._tar_shards import list_shards, shard_paths

    shards = shard_paths(source)
    if shards is not None:
        if file_root is not None:
            raise ValueError("The `file_root` applies only to a file list; drop it for tar shards.")
        root = source if isinstance(source, (str, os.PathLike)) else os.path.commonpath(shards)
        return list_shards(shards, os.fspath(root), progress=progress)
    if os.path.isfile(os.fspath(source)):
        if file_root is None:
            raise ValueError(
                f"The `source` {os.fspath(source)!r} is a file list, which needs `file_root=` "
                "(the folder its paths are relative to)."
            )
        return read_file_list(source, file_root)
    if file_root is not None:
        raise ValueError(
            f"The `file_root` applies only to a file list, but `source` {os.fspath(source)!r} "
            "is not a file; drop `file_root=` for an ImageFolder."
        )
    return list_image_folder(source)
