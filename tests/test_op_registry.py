"""The op registry (``sada_dali.op_space``): adding an op is one definition, here in this file.

A toy op, ``invert_bits`` (every pixel XOR ``round(m)``; ``m = 255`` inverts the image), is
registered with its DALI implementation and torchvision twin by a fixture, runs through the DALI
CPU pipeline, ``augment`` and the training loader like the 14 built-in ops, bit-exactly like its
twin, and is removed again. ``docs/ops.md``'s table of ops is checked against the registry.
"""

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from _images import write_image_folder
from nvidia.dali import fn, pipeline_def, types
from test_augment import IMAGES

from sada_dali import augment
from sada_dali.baseline.transforms import apply_op
from sada_dali.loader import SADALoader
from sada_dali.op_space import (
    OPS,
    Op,
    OpSpec,
    augmentation_op,
    create_op_space,
    get_op,
    register_op,
    registered_ops,
    sample_choices,
    unregister_op,
)
from sada_dali.pipelines.dali_ops import apply_sada_op, create_augmentations

DOCS = Path(__file__).resolve().parents[1] / "docs" / "ops.md"


def _invert_bits_twin(image, mask):
    return image ^ int(np.rint(mask))


@pytest.fixture()
def invert_bits():
    @augmentation_op(
        max_magnitude=255.0,
        limit=255.0,
        summary="pixels XOR round(m)",
        dali_param=lambda m: np.uint8(np.rint(m)),
        param_device="auto",
        torch=_invert_bits_twin,
    )
    def invert_bits(data, mask):
        return data ^ mask

    yield invert_bits
    unregister_op("invert_bits")
    assert tuple(op.name for op in registered_ops()) == OPS


def test_the_toy_op_joins_the_registry_and_the_op_space(invert_bits):
    assert isinstance(invert_bits, Op) and get_op("invert_bits") is invert_bits
    space = create_op_space()
    assert [spec.name for spec in space] == [*OPS, "invert_bits"]
    assert space[-1] == OpSpec("invert_bits", 255.0, False)
    assert create_op_space({"invert_bits": 128})[-1].max_magnitude == 128.0
    with pytest.raises(ValueError, match=r"`max_magnitudes\['invert_bits'\]` must lie in \[0, 255.0\]"):
        create_op_space({"invert_bits": 256})


def test_registering_a_taken_name_or_an_op_without_a_twin_is_refused(invert_bits):
    with pytest.raises(ValueError, match="'invert_bits' is registered already"):
        register_op(invert_bits)
    with pytest.raises(ValueError, match="needs both a `dali` implementation and a `torch` twin"):
        Op("half", 1.0, dali=lambda data, _: data)
    with pytest.raises(ValueError, match="`max_magnitude` of op 'half' must lie in"):
        Op("half", 2.0, limit=1.0, dali="m:a", torch="m:b")


BINS = 256  # linspace(0, 255, 256): every DALI magnitude is an integer mask, as is the twin's


@pipeline_def(enable_conditionals=True, batch_size=6, num_threads=1, device_id=None, prefetch_queue_depth=1)
def _sada_pipeline(augmentations):
    images = fn.external_source(name="images", dtype=types.UINT8, layout="HWC")
    op_idx, magnitude_bin, negate = (
        fn.external_source(name=n, dtype=types.INT32) for n in ("op_idx", "magnitude_bin", "negate")
    )
    return apply_sada_op(
        images, op_idx, magnitude_bin, negate, augmentations=augmentations, num_magnitude_bins=BINS
    )


def test_the_toy_op_runs_through_the_dali_cpu_pipeline_bit_exactly_like_its_twin(invert_bits):
    space = create_op_space()
    pipe = _sada_pipeline(create_augmentations(space))
    pipe.build()
    images = [IMAGES[i % 3] for i in range(6)]
    ops, bins = [len(OPS), 0, len(OPS), len(OPS), 0, len(OPS)], [0, 50, 1, 128, 255, 255]
    pipe.feed_input("images", images, layout="HWC")
    for name, values in (("op_idx", ops), ("magnitude_bin", bins), ("negate", [1, 0, 1, 0, 1, 0])):
        pipe.feed_input(name, [np.int32(v) for v in values])
    (out,) = pipe.run()
    for i, (image, op, b) in enumerate(zip(images, ops, bins)):
        twin = apply_op(torch.from_numpy(image).permute(2, 0, 1), space[op], b, True, num_magnitude_bins=BINS)
        np.testing.assert_array_equal(np.array(out[i]), twin.permute(1, 2, 0).numpy(), err_msg=str(i))
        np.testing.assert_array_equal(np.array(out[i]), image ^ b if op == len(OPS) else image)


def test_augment_applies_the_toy_op(invert_bits):
    np.testing.assert_array_equal(augment([IMAGES[0]], "invert_bits", 255.0)[0], 255 - IMAGES[0])
    with pytest.raises(ValueError, match="must be non-negative"):
        augment([IMAGES[0]], "invert_bits", -1.0)


def test_the_training_loader_applies_the_toy_op_where_a_sample_draws_it(invert_bits, tmp_path):
    write_image_folder(tmp_path, num_classes=2, per_class=8, sizes=(40, 56), seed=1)
    space = create_op_space()
    args = dict(device="cpu", image_size=32, workers=0, num_threads=1, seed=7, normalize=False)
    args.update(strengths=np.ones(16, np.float32), drop_last=False)

    def epoch(op_space):
        loader = SADALoader(tmp_path, 4, op_space=op_space, **args)
        loader.set_epoch(1)
        images = {i: image for batch, _, indices in loader for image, i in zip(batch, indices.tolist())}
        loader.close()
        return images

    toy, plain = epoch(space), epoch((*space[:-1], OpSpec("identity")))  # the same draws
    drew = sample_choices(7, 1, np.arange(16), np.ones(16), num_ops=len(space))[0] == len(OPS)
    assert drew.any() and not drew.all()
    for i in range(16):
        torch.testing.assert_close(toy[i], 255 - plain[i] if drew[i] else plain[i], rtol=0, atol=0)


# --- docs/ops.md ----------------------------------------------------------------------------


def table_row(op: Op) -> str:
    """The row of ``op`` in the docs table of ops."""
    if not op.has_magnitude:
        top = limit = sign = "–"
    else:
        top, sign = f"{op.max_magnitude:g}", "±" if op.signed else "+"
        limit = "any" if math.isinf(op.limit) else f"{op.limit:g}"
    return f"| {op.name} | {top} | {limit} | {sign} | {op.summary} |"


def test_the_docs_table_of_ops_is_the_registry():
    text = DOCS.read_text(encoding="utf-8")
    table = text[text.index("| op | max at strength 1 |") :].split("\n\n", 1)[0].splitlines()[2:]
    want = [table_row(op) for op in registered_ops()]
    assert table == want, "regenerate the table of docs/ops.md from tests/test_op_registry.table_row"


def test_the_docs_example_registers_an_op_that_augment_applies():
    (code,) = re.findall(
        r"<!-- run: add an op -->\n```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S
    )
    namespace = {}
    exec(compile(code, f"<{DOCS.name}>", "exec"), namespace)
    try:
        assert [spec.name for spec in namespace["space"]] == [*OPS, "invert_bits"]
        np.testing.assert_array_equal(augment([IMAGES[1]], "invert_bits", 15.0)[0], IMAGES[1] ^ 15)
    finally:
        unregister_op("invert_bits")
