"""The corpus of ``scripts/gpu-check.sh`` (tiers 3 and 4): photo-like JPEGs, written in parallel.

``--photos`` distinct photos (:func:`sada_dali.data.synthetic.create_photo_corpus`, one chunk
per process, each with its own seed) are hard-linked ``--links`` times each under
``OUT/train/<class>/``, and ``OUT/val`` links to ``train``: ``photos * links`` files to decode,
while writing only ``photos`` of them. Existing files are kept, so a second call costs nothing.

Example: ``python benchmarks/gpu_check_corpus.py /tmp/corpus --photos 512 --links 8``
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _chunk(args) -> list[str]:
    from sada_dali.data.synthetic import create_photo_corpus

    root, count, classes, width, height, seed = args
    created = create_photo_corpus(
        root, num_images=count, num_classes=classes, width=width, height=height, seed=seed, progress=False
    )
    return sorted(str(p) for p in (created / "train").rglob("*.jpg"))


def create_check_corpus(
    out, *, photos: int, links: int, classes: int = 8, width: int = 500, height: int = 375, processes: int = 1
) -> int:
    """Write the corpus into ``out`` (see the module docstring); returns the number of training files."""
    out = Path(out)
    processes = max(1, min(processes, photos))
    sizes = [photos // processes + (k < photos % processes) for k in range(processes)]
    jobs = [
        (out / "photos" / f"chunk_{k:02d}", n, classes, width, height, k) for k, n in enumerate(sizes) if n
    ]
    with ProcessPoolExecutor(processes) as pool:
        chunks = list(pool.map(_chunk, jobs))
    train = out / "train"
    files = 0
    for k, chunk in enumerate(chunks):
        for photo in map(Path, chunk):
            folder = train / photo.parent.name
            folder.mkdir(parents=True, exist_ok=True)
            for copy in range(links):
                target = folder / f"{k:02d}_{copy}_{photo.name}"
                if not target.exists():
                    os.link(photo, target)
                files += 1
    if not (out / "val").exists():
        (out / "val").symlink_to("train")
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="corpus folder (train/ and val/ inside)")
    parser.add_argument("--photos", type=int, default=512, help="distinct photos to write")
    parser.add_argument("--links", type=int, default=8, help="hard links (training files) per photo")
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--width", type=int, default=500)
    parser.add_argument("--height", type=int, default=375)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if min(args.photos, args.links, args.classes, args.processes) < 1:
        parser.error("The `--photos`, `--links`, `--classes` and `--processes` must be at least 1.")
    files = create_check_corpus(
        args.out,
        photos=args.photos,
        links=args.links,
        classes=args.classes,
        width=args.width,
        height=args.height,
        processes=args.processes,
    )
    print(f"{files} training files ({args.photos} photos x {args.links} links) in {args.out / 'train'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
