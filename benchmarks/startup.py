"""Benchmark: how long a SADA training loader takes to construct, against DALI's own pipelines.

One run measures, on a generated photo-like corpus (``create_photo_corpus``), the construction of

* ``sada``: ``SADALoader(train, batch_size, device="cpu")`` (listing, reader, the SADA training
  pipeline built with its reader workers started, DALI's iterator);
* ``native_ta``: a native DALI pipeline ``readers.file`` + ``decoders.image_random_crop`` +
  ``resize`` + ``auto_aug.trivial_augment_wide`` + ``crop_mirror_normalize``, built;
* ``native_plain``: the same pipeline without the augmentation, built;
* ``sada_rebuild``: the pipeline rebuild a recovery pays (``EpochRunner.rebuild(resume=True)``).

Each case runs in a fresh Python process, so ``cold`` is the construction a training script
pays at startup (DALI's AutoGraph converts the pipeline's functions then); ``warm`` is a second
construction in that process (conversion cached), which is what a recovery rebuild pays. The
imports of torch and DALI happen before the clock starts. The cases are interleaved, one
process each per repeat, and the medians reported.

Example: ``python benchmarks/startup.py --repeats 3 --json results/startup.json``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from sada_dali.checkpoint import save_json

CASES = ("sada", "native_ta", "native_plain")


def _native(root: str, args, augment: bool):
    from nvidia.dali import fn, pipeline_def, types
    from nvidia.dali.auto_aug import trivial_augment

    @pipeline_def(enable_conditionals=augment)
    def native():
        jpegs, labels = fn.readers.file(file_root=root, random_shuffle=True, name="reader")
        images = fn.decoders.image_random_crop(jpegs, device="cpu", output_type=types.RGB)
        images = fn.resize(images, size=[args.image_size, args.image_size])
        if augment:
            images = trivial_augment.trivial_augment_wide(images, fill_value=128)
        flip = fn.random.coin_flip()
        images = fn.crop_mirror_normalize(
            images, dtype=types.FLOAT, output_layout="CHW", mean=[124.0, 116.0, 104.0], mirror=flip
        )
        return images, labels

    pipe = native(batch_size=args.batch_size, num_threads=args.threads, device_id=None, seed=1)
    pipe.build()
    return pipe


def _child(args) -> dict:
    """One case, cold then warm, in this (fresh) process."""
    import nvidia.dali  # noqa: F401  imports before the clock
    import nvidia.dali.auto_aug.trivial_augment  # noqa: F401
    import nvidia.dali.plugin.pytorch  # noqa: F401
    import torch  # noqa: F401

    from sada_dali.loader import SADALoader

    train = os.path.join(args.root, "train")

    def construct():
        if args.case == "sada":
            return SADALoader(
                train, args.batch_size, device="cpu", num_threads=args.threads, workers=args.workers
            )
        return _native(train, args, augment=args.case == "native_ta")

    result = {}
    for phase in ("cold", "warm"):
        start = time.perf_counter()
        built = construct()
        result[phase] = time.perf_counter() - start
        if args.case != "sada":
            continue
        if phase == "warm":
            start = time.perf_counter()
            built._runner.rebuild(resume=True)
            result["rebuild"] = time.perf_counter() - start
        built.close()
    return result


def run(args) -> dict:
    from sada_dali.data.synthetic import create_photo_corpus

    with tempfile.TemporaryDirectory() as root:
        create_photo_corpus(root, num_images=args.num_images, num_classes=4, progress=False)
        samples = {case: [] for case in CASES}
        for _ in range(args.repeats):
            for case in CASES:
                command = [sys.executable, os.path.abspath(__file__), "--child", case, "--root", root]
                for name in ("batch_size", "image_size", "threads", "workers"):
                    command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
                out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                samples[case].append(json.loads(out.strip().splitlines()[-1]))
    medians = {
        case: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        for case, runs in samples.items()
    }
    return {
        "batch_size": args.batch_size,
        "image_size": args.image_size,
        "threads": args.threads,
        "workers": args.workers,
        "num_images": args.num_images,
        "repeats": args.repeats,
        "median_s": medians,
        "samples_s": samples,
        "ratio_sada_to_native_ta": {
            phase: medians["sada"][phase] / medians["native_ta"][phase] for phase in ("cold", "warm")
        },
        "ratio_rebuild_to_native_ta_warm": medians["sada"]["rebuild"] / medians["native_ta"]["warm"],
        "host": platform.node(),
        "cpus": os.cpu_count(),
    }


def _print(result: dict) -> None:
    m = result["median_s"]
    print(f"construction, median of {result['repeats']} interleaved runs (s)")
    print(f"{'case':<14}{'cold':>8}{'warm':>8}{'rebuild':>9}")
    for case in CASES:
        rebuild = f"{m[case]['rebuild']:9.2f}" if "rebuild" in m[case] else f"{'-':>9}"
        print(f"{case:<14}{m[case]['cold']:8.2f}{m[case]['warm']:8.2f}{rebuild}")
    r = result["ratio_sada_to_native_ta"]
    print(
        f"sada / native_ta: cold {r['cold']:.2f}x, warm {r['warm']:.2f}x; "
        f"rebuild / native_ta warm {result['ratio_rebuild_to_native_ta_warm']:.2f}x"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--num-images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2, help="DALI threads, every case")
    parser.add_argument("--workers", type=int, default=1, help="SADA reader processes (2 cores: 1)")
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.case = args.child
        print(json.dumps(_child(args)))
        return 0
    result = run(args)
    _print(result)
    if args.json:
        save_json(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
