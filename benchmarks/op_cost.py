"""Benchmark: DALI's CPU time per image of each op of sada-dali's op space against DALI's own.

Each op runs alone as a one-op TrivialAugment step (``auto_aug.trivial_augment.
apply_trivial_augment``: a uniform magnitude bin and a random sign per image) on a fixed batch of
``--image-size`` squared images decoded from the generated photo corpus and fed by an
``external_source``, on the CPU backend. sada-dali's op (:func:`sada_dali.pipelines.dali_ops.
create_augmentations`: the paper's maxima) and ``trivial_augment_wide``'s op of the same name are
timed in interleaved rounds. It reports, per op and averaged over the 14 ops (the cost of one
uniformly drawn op per image), the median over rounds of the process's CPU time per image.

It explains the gap between ``sada-dali bench``'s rows 6 and 8: the same pipeline, with the step
drawn from one op space or the other.

Example: ``python benchmarks/op_cost.py --json op_cost.json``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

from sada_dali.checkpoint import save_json


def _decoded_batch(batch_size: int, image_size: int) -> list:
    import numpy as np
    from PIL import Image

    from sada_dali.data.source import create_listing
    from sada_dali.data.synthetic import create_photo_corpus

    with tempfile.TemporaryDirectory() as root:
        create_photo_corpus(root, num_images=batch_size, num_classes=1, progress=False)
        files = create_listing(f"{root}/train").files
        return [np.asarray(Image.open(f).convert("RGB").resize((image_size, image_size))) for f in files]


def _build(augmentation, num_magnitude_bins: int, batch: list, threads: int):
    from nvidia.dali import fn, pipeline_def
    from nvidia.dali.auto_aug import trivial_augment

    from sada_dali._utils.callables import accepted_keywords

    extra = {"fill_value": 128} if "fill_value" in accepted_keywords(augmentation.op) else {}

    @pipeline_def(enable_conditionals=True)
    def pipeline():
        images = fn.external_source(source=lambda: batch, batch=True, layout="HWC")
        return trivial_augment.apply_trivial_augment(
            [augmentation], images, num_magnitude_bins=num_magnitude_bins, **extra
        )

    pipe = pipeline(batch_size=len(batch), num_threads=threads, device_id=None, seed=1)
    pipe.build()
    for _ in range(3):
        pipe.run()
    return pipe


def _cpu_us_per_image(pipe, runs: int, batch_size: int) -> float:
    start = time.process_time()
    for _ in range(runs):
        pipe.run()
    return 1e6 * (time.process_time() - start) / (runs * batch_size)


def shared_ops() -> list:
    """The ops of sada-dali's op space that ``trivial_augment_wide``'s suite has too, in order."""
    from nvidia.dali.auto_aug import trivial_augment

    from sada_dali.op_space import create_op_space

    wide = {aug.name for aug in trivial_augment.get_trivial_augment_wide_suite()}
    return [spec.name for spec in create_op_space() if spec.name in wide]


def run(args) -> dict:
    from nvidia.dali.auto_aug import trivial_augment

    from sada_dali.op_space import DEFAULT_NUM_MAGNITUDE_BINS
    from sada_dali.pipelines.dali_ops import create_augmentations

    batch = _decoded_batch(args.batch_size, args.image_size)
    sada = {aug.name: aug for aug in create_augmentations()}
    wide = {aug.name: aug for aug in trivial_augment.get_trivial_augment_wide_suite()}
    ops = {}
    for name in args.ops or shared_ops():
        pipes = {
            "sada": _build(sada[name], DEFAULT_NUM_MAGNITUDE_BINS, batch, args.threads),
            "wide": _build(wide[name], 31, batch, args.threads),  # trivial_augment_wide's default
        }
        rounds = {key: [] for key in pipes}
        for _ in range(args.rounds):
            for key, pipe in pipes.items():
                rounds[key].append(_cpu_us_per_image(pipe, args.runs, args.batch_size))
        ops[name] = {f"{key}_us": statistics.median(values) for key, values in rounds.items()}
        ops[name] |= {f"{key}_rounds_us": values for key, values in rounds.items()}
        print(
            f"{name:<14} sada {ops[name]['sada_us']:8.1f}  trivial_augment_wide {ops[name]['wide_us']:8.1f}  "
            f"us/img  ({ops[name]['sada_us'] - ops[name]['wide_us']:+.1f})",
            flush=True,
        )
    mean = {key: statistics.mean(op[f"{key}_us"] for op in ops.values()) for key in ("sada", "wide")}
    print(
        f"mean over {len(ops)} ops: sada {mean['sada']:.1f}, trivial_augment_wide {mean['wide']:.1f} us/img"
    )
    return {
        "config": vars(args),
        "host": platform.processor() or platform.machine(),
        "ops": ops,
        "mean_sada_us": mean["sada"],
        "mean_wide_us": mean["wide"],
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64, help="images per pipeline run")
    parser.add_argument("--image-size", type=int, default=224, help="side of the square images")
    parser.add_argument("--threads", type=int, default=2, help="DALI threads")
    parser.add_argument("--runs", type=int, default=10, help="pipeline runs per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per op")
    parser.add_argument("--ops", nargs="+", help="time only these ops (default: all 14)")
    parser.add_argument("--json", help="write the results to this path")
    args = parser.parse_args(argv)
    for name in ("batch_size", "image_size", "threads", "runs", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"the `--{name.replace('_', '-')}` must be at least 1, got {getattr(args, name)}")
    unknown = sorted(set(args.ops or ()) - set(shared_ops()))
    if unknown:
        parser.error(f"the `--ops` {unknown} are not ops of both spaces; choose from {shared_ops()}")
    result = run(args)
    if args.json:
        save_json(result, args.json)
    return result


if __name__ == "__main__":
    main()
