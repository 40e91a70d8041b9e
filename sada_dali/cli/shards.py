"""``sada-dali shards SRC DST``: pack an ImageFolder into WebDataset tar shards in timm's layout.

Each image becomes a sample ``<key>.jpg`` (or ``.png``/``.webp``: the bytes are copied, not
re-encoded), ``<key>.cls`` (the class index as ASCII text) and ``<key>.json`` (``label``,
``class`` and the source ``filename``), with ``<key>`` the file's stem (or ``<class>/<stem>``
where stems repeat). Samples keep the ImageFolder's index order, so sample ``i`` of the shards
is sample ``i`` of the folder. Shards are named like ``imagenet1k-train-0000.tar``.
"""

from __future__ import annotations

import argparse
import os

from ._args import existing_dir, int_at_least

__all__ = ["add_parser", "run", "pack_image_folder"]

_MEMBER_EXT = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png", ".webp": "webp"}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``shards`` and its options."""
    parser = subparsers.add_parser(
        "shards",
        help="pack an ImageFolder into WebDataset tar shards (timm's layout) that SADALoader reads in place",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("src", type=existing_dir("SRC"), help="ImageFolder: SRC/<class>/<image>")
    parser.add_argument("dst", help="output folder for the shards (created; must hold no .tar file)")
    parser.add_argument("--prefix", default="imagenet1k-train", help="shard name prefix")
    parser.add_argument(
        "--shard-size", type=int_at_least(1, "--shard-size"), default=1000, help="samples per shard"
    )
    return parser


def pack_image_folder(src, dst, *, prefix: str, shard_size: int, progress: bool = True) -> list[str]:
    """Write the ImageFolder ``src`` as shards ``dst/<prefix>-0000.tar``, ...; returns their paths.

    Raises
    ------
    ValueError
        If an image is not a JPEG, PNG or WebP file (by extension), or ``dst`` already holds shards.
    """
    from tqdm.auto import tqdm

    from ..data._tar_writer import write_shards
    from ..data.source import list_image_folder

    listing = list_image_folder(src)
    if os.path.isdir(dst) and any(name.endswith(".tar") for name in os.listdir(dst)):
        raise ValueError(f"The DST {dst!r} already holds .tar files; pass an empty or new folder.")
    bad = [f for f in listing.files if os.path.splitext(f)[1].lower() not in _MEMBER_EXT]
    if bad:
        raise ValueError(
            f"The SRC {src!r} has {len(bad)} image(s) that are not JPEG, PNG or WebP by extension, "
            f"e.g. {bad[0]!r}; convert them first (shard samples hold jpg, png or webp members)."
        )
    stems = [os.path.splitext(os.path.basename(f))[0] for f in listing.files]
    unique = len(set(stems)) == len(stems)

    def samples():
        for path, stem, label in tqdm(
            list(zip(listing.files, stems, listing.labels.tolist())),
            desc="shards",
            unit="img",
            disable=not progress,
        ):
            rel = os.path.relpath(path, listing.root).replace(os.sep, "/")
            key = stem if unique else os.path.splitext(rel)[0]
            with open(path, "rb") as handle:
                data = handle.read()
            ext = _MEMBER_EXT[os.path.splitext(path)[1].lower()]
            yield key, data, ext, label, {"class": listing.classes[label], "filename": rel}

    return write_shards(samples(), dst, prefix=prefix, shard_size=shard_size)


def run(args) -> int:
    """Pack ``args.src`` into shards under ``args.dst`` and print where they went."""
    try:
        paths = pack_image_folder(args.src, args.dst, prefix=args.prefix, shard_size=args.shard_size)
    except (ValueError, FileNotFoundError) as exc:
        args.parser.error(str(exc))
    first, last = os.path.basename(paths[0]), os.path.basename(paths[-1])
    print(f"wrote {len(paths)} shard(s) to {args.dst}: {first} ... {last}")
    return 0
