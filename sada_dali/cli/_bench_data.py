"""The data ``sada-dali bench`` reads: the generated corpus, and an ImageFolder packed into shards."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["corpus", "shards_of"]


def corpus(args, size) -> str:
    """The generated photo corpus of ``args`` (built once in ``--cache``); returns its train folder."""
    from ..data.synthetic import create_photo_corpus, default_cache_dir

    cache = args.cache or default_cache_dir()
    name = f"corpus_{args.images}x{args.classes}_{size[0]}x{size[1]}"
    return str(
        create_photo_corpus(
            cache / name,
            num_images=args.images,
            num_classes=args.classes,
            width=size[0],
            height=size[1],
            seed=args.seed,
        )
        / "train"
    )


def shards_of(args, source: str) -> str:
    """A folder of shards holding the images of the ImageFolder ``source`` in its order, so that
    sample ``i`` is the same image with the same choices in rows 3 and 7 (packed once, in ``--cache``)."""
    import hashlib

    from ..data.synthetic import default_cache_dir
    from .shards import pack_image_folder

    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = os.path.join(args.cache or default_cache_dir(), "bench-shards", digest)
    stamp = os.path.join(folder, ".complete")
    if not os.path.isfile(stamp):
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                os.remove(os.path.join(folder, name))
        pack_image_folder(source, folder, prefix="bench-train", shard_size=1000)
        Path(stamp).write_text(source)
    return folder
