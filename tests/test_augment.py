"""The DALI SADA op (``sada_dali.pipelines.dali_ops``) and ``sada_dali.augment``: mapping, strength,
validation.

Pixel fidelity against the torchvision twin lives in ``test_ops_fidelity.py``.
"""

import numpy as np
import pytest
from nvidia.dali import fn, pipeline_def, types
from nvidia.dali.auto_aug import augmentations as aa

from sada_dali import augment
from sada_dali.op_space import OPS, bin_to_magnitude, create_op_space, op_parameter, strength_to_bin
from sada_dali.pipelines.dali_ops import apply_sada_op, create_augmentation, create_augmentations

MAGNITUDE_FREE = ("identity", "auto_contrast", "equalize")
BLUR = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13
IDENT = np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float32)


def photo_like(height: int, width: int, seed: int) -> np.ndarray:
    """A photo-like HWC uint8 image: smooth gradients, a disc, a box and mild noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        a, b, d = rng.uniform(-1, 1, 3)
        img[..., c] = 128 + 90 * (a * x / width + b * y / height) + 30 * np.sin(6 * d * x / width + c)
    cy, cx, r = rng.uniform(0.3, 0.7) * height, rng.uniform(0.3, 0.7) * width, 0.25 * min(height, width)
    img[(y - cy) ** 2 + (x - cx) ** 2 < r * r] = rng.uniform(0, 255, 3)
    img[height // 10 : height * 3 // 10, width * 6 // 10 : width * 9 // 10] = rng.uniform(0, 255, 3)
    img += rng.normal(0, 4, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


IMAGES = [photo_like(48, 64, seed) for seed in range(3)]


# --- the magnitude mapping: DALI's bin -> parameter equals op_parameter -------------------


def _dali_parameter(aug, magnitude_bin, negate, num_bins):
    magnitude = aug._get_magnitudes(num_bins)[magnitude_bin]  # DALI's own linspace grid
    return np.asarray(aug.mag_to_param(-magnitude if negate and aug.randomly_negate else magnitude))


@pytest.mark.parametrize("num_bins", [101, 31])
@pytest.mark.parametrize("name", [n for n in OPS if n not in MAGNITUDE_FREE])
def test_dali_bin_gives_the_parameter_of_op_parameter(name, num_bins):
    relative = 0.2 if num_bins == 31 else None  # also the fraction-of-side translations
    spec = create_op_space(translate_relative=relative)[OPS.index(name)]
    aug = create_augmentation(spec)
    for magnitude_bin in (0, 1, num_bins // 3, num_bins // 2 + 1, num_bins - 1):
        for negate in (False, True):
            want = op_parameter(spec, magnitude_bin, negate, num_bins)
            got = _dali_parameter(aug, magnitude_bin, negate, num_bins)
            if name == "sharpness":  # PIL blends img and blur with factor f: kernel (1-f) blur + f ident
                np.testing.assert_allclose(got, (1 - want) * BLUR + want * IDENT, atol=1e-6)
            elif name == "posterize":  # DALI keeps the high `want` bits through a mask
                assert int(got) == 255 ^ (2 ** (8 - int(want)) - 1)
            elif name in ("translate_x", "shear_x"):
                np.testing.assert_allclose(got, [want, 0.0], rtol=1e-6, atol=1e-6)
            elif name in ("translate_y", "shear_y"):
                np.testing.assert_allclose(got, [0.0, want], rtol=1e-6, atol=1e-6)
            else:
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)


def test_dali_magnitude_grid_equals_bin_to_magnitude():
    for spec, aug in zip(create_op_space(), create_augmentations()):
        if spec.name in MAGNITUDE_FREE:
            assert aug.mag_range is None
            continue
        grid = aug._get_magnitudes(101)
        bins = np.arange(101)
        expected = bin_to_magnitude(spec, bins)
        if spec.name in ("solarize", "posterize"):  # DALI's range runs down from the identity
            expected = grid[0] - expected
        np.testing.assert_allclose(grid, expected, rtol=1e-6, atol=1e-5)
        assert aug.randomly_negate == spec.signed


@pytest.mark.parametrize(
    ("relative", "dali_x", "dali_y"),
    [(None, aa.translate_x_no_shape, aa.translate_y_no_shape), (0.1, aa.translate_x, aa.translate_y)],
)
def test_translation_picks_the_dali_op_of_its_unit(relative, dali_x, dali_y):
    space = create_op_space(translate_relative=relative)
    assert create_augmentation(space[OPS.index("translate_x")]).op is dali_x.op
    assert create_augmentation(space[OPS.index("translate_y")]).op is dali_y.op


# --- strength reaches pixels through apply_sada_op -----------------------------------------


@pipeline_def(
    enable_conditionals=True, batch_size=len(OPS), num_threads=1, device_id=None, prefetch_queue_depth=1
)
def _sada_pipeline(augmentations):
    images = fn.external_source(name="images", dtype=types.UINT8, layout="HWC")
    op_idx, magnitude_bin, negate = (
        fn.external_source(name=n, dtype=types.INT32) for n in ("op_idx", "magnitude_bin", "negate")
    )
    return apply_sada_op(images, op_idx, magnitude_bin, negate, augmentations=augmentations)


@pytest.fixture(scope="module")
def sada_pipeline():
    pipe = _sada_pipeline(create_augmentations())
    pipe.build()
    return pipe


def _run_sada(pipe, images, strength, negate):
    n = len(images)
    pipe.feed_input("images", images, layout="HWC")
    pipe.feed_input("op_idx", [np.int32(i) for i in range(n)])
    pipe.feed_input("magnitude_bin", list(strength_to_bin(np.full(n, strength))))
    pipe.feed_input("negate", [np.int32(s) for s in negate])
    (out,) = pipe.run()
    return [np.array(out[i]) for i in range(n)]


def test_strength_zero_is_identity_and_strength_one_changes_pixels(sada_pipeline):
    images = [IMAGES[i % 3] for i in range(len(OPS))]
    negate = np.arange(len(OPS)) % 2
    weak = _run_sada(sada_pipeline, images, 0.0, negate)
    strong = _run_sada(sada_pipeline, images, 1.0, negate)
    for i, name in enumerate(OPS):
        change_weak = np.abs(weak[i].astype(int) - images[i]).mean()
        change_strong = np.abs(strong[i].astype(int) - images[i]).mean()
        if name in MAGNITUDE_FREE:
            np.testing.assert_array_equal(weak[i], strong[i], err_msg=name)
        else:
            assert change_weak == 0.0, name
            assert change_strong > 1.0, (name, change_strong)
    assert np.array_equal(weak[0], images[0])


def test_strength_orders_the_change_of_each_op(sada_pipeline):
    images = [IMAGES[0]] * len(OPS)
    negate = np.zeros(len(OPS), np.int32)
    changes = [
        [np.abs(out.astype(int) - IMAGES[0]).mean() for out in _run_sada(sada_pipeline, images, s, negate)]
        for s in (0.3, 1.0)
    ]
    for i, name in enumerate(OPS):
        if name not in MAGNITUDE_FREE:
            assert changes[1][i] > changes[0][i] > 0.0, name


# --- augment ------------------------------------------------------------------------------


def test_augment_reproduces_the_loader_at_a_bin(sada_pipeline):
    space = create_op_space()
    images = [IMAGES[1]] * len(OPS)
    negate = np.ones(len(OPS), np.int32)
    loader = _run_sada(sada_pipeline, images, 0.6, negate)
    for i, spec in enumerate(space):
        m = float(bin_to_magnitude(spec, 60)) * (-1 if spec.signed else 1)
        (single,) = augment([IMAGES[1]], spec.name, m)
        np.testing.assert_array_equal(single, loader[i], err_msg=spec.name)


def test_augment_keeps_shapes_of_mixed_size_images():
    images = [IMAGES[0], photo_like(33, 21, 7)]
    out = augment(images, "rotate", 10.0)
    assert [o.shape for o in out] == [(48, 64, 3), (33, 21, 3)]
    assert all(o.dtype == np.uint8 for o in out)


def test_augment_fill_value_reaches_the_corners():
    black, white = (augment([IMAGES[0]], "rotate", 30.0, fill_value=v)[0] for v in (0, 255))
    assert black[0, 0].tolist() == [0, 0, 0] and white[0, 0].tolist() == [255, 255, 255]
    clamped = augment([IMAGES[0]], "translate_x", 10.0, fill_value=None)[0]
    np.testing.assert_array_equal(clamped[:, 0], IMAGES[0][:, 0])


def test_augment_exact_ops_match_their_definition():
    image = IMAGES[2]
    np.testing.assert_array_equal(augment([image], "posterize", 3)[0], image & 0b11111000)
    np.testing.assert_array_equal(
        augment([image], "solarize", 100)[0], np.where(image >= 156, 255 - image, image)
    )
    np.testing.assert_array_equal(augment([image], "translate_y", 5.0)[0][5:], image[:-5])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(images=np.zeros((4, 4, 3), np.uint8)), TypeError, "`images` must be a list"),
        (dict(images=[]), ValueError, "at least one image"),
        (dict(images=[np.zeros((4, 4, 3), np.float32)]), TypeError, r"`images\[0\]` must be a uint8"),
        (dict(images=[[[0]]]), TypeError, r"`images\[0\]` must be a uint8"),
        (dict(images=[np.zeros((4, 4), np.uint8)]), ValueError, "HWC image with 3 channels"),
        (dict(images=[np.zeros((4, 4, 4), np.uint8)]), ValueError, "HWC image with 3 channels"),
        (dict(op="cutout"), ValueError, "`op` must be one of"),
        (dict(magnitude="big"), TypeError, "`magnitude` must be a number"),
        (dict(magnitude=float("nan")), ValueError, "`magnitude` must be finite"),
        (dict(magnitude=31.0), ValueError, r"must lie within ±30.0"),
        (dict(op="solarize", magnitude=-1), ValueError, "must be non-negative"),
        (dict(op="equalize", magnitude=1), ValueError, r"within ±0.0"),
        (dict(device="tpu"), ValueError, "`device` must be 'gpu' or 'cpu'"),
        (dict(fill_value=256), ValueError, "`fill_value` must be an integer in"),
        (dict(fill_value=1.5), ValueError, "`fill_value` must be an integer in"),
    ],
)
def test_augment_rejects_bad_arguments(kwargs, error, match):
    args = dict(images=[IMAGES[0]], op="rotate", magnitude=10.0) | kwargs
    with pytest.raises(error, match=match):
        augment(args.pop("images"), args.pop("op"), args.pop("magnitude"), **args)


def test_augment_accepts_a_wider_op_space():
    out = augment([IMAGES[0]], "rotate", 45.0, op_space=create_op_space({"rotate": 45}))[0]
    wider = augment([IMAGES[0]], "rotate", 45.0, op_space=create_op_space({"rotate": 90}))[0]
    np.testing.assert_array_equal(out, wider)
    assert np.abs(out.astype(int) - augment([IMAGES[0]], "rotate", 30.0)[0]).mean() > 1.0


def test_augment_gpu_without_cuda_is_refused():
    from nvidia.dali.backend import GetCUDADeviceCount

    if GetCUDADeviceCount() > 0:
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        augment([IMAGES[0]], "rotate", 10.0, device="gpu")


# --- create_augmentation(s) and apply_sada_op validation -----------------------------------


def test_create_augmentation_rejects_unknown_op():
    from sada_dali.op_space import OpSpec

    with pytest.raises(ValueError, match="`spec.name` must be one of"):
        create_augmentation(OpSpec("cutout", 1.0))


def test_create_augmentations_rejects_empty_op_space():
    with pytest.raises(ValueError, match="`op_space` must hold at least one"):
        create_augmentations(())


def _build_with(augmentations, num_magnitude_bins=101, enable_conditionals=True):
    @pipeline_def(enable_conditionals=enable_conditionals, batch_size=2, num_threads=1, device_id=None)
    def pipe():
        images = fn.external_source(name="images", dtype=types.UINT8, layout="HWC")
        idx = fn.external_source(name="idx", dtype=types.INT32)
        return apply_sada_op(
            images, idx, idx, idx, augmentations=augmentations, num_magnitude_bins=num_magnitude_bins
        )

    return pipe()


def test_apply_sada_op_rejects_empty_augmentations():
    with pytest.raises(ValueError, match="`augmentations` must hold at least one"):
        _build_with([])


@pytest.mark.parametrize("bins", [1, 10.0])
def test_apply_sada_op_rejects_bad_num_magnitude_bins(bins):
    with pytest.raises(ValueError, match="`num_magnitude_bins` must be an integer >= 2"):
        _build_with(create_augmentations(), num_magnitude_bins=bins)


def test_apply_sada_op_needs_conditionals_for_several_ops():
    with pytest.raises(RuntimeError, match="enable_conditionals=True"):
        _build_with(create_augmentations(), enable_conditionals=False)


@pytest.mark.gpu
def test_augment_on_gpu_agrees_with_cpu():
    space = create_op_space()
    for spec in space:
        m = spec.max_magnitude * (-1 if spec.signed else 1)
        cpu = np.stack(augment(IMAGES, spec.name, m, device="cpu")).astype(int)
        gpu = np.stack(augment(IMAGES, spec.name, m, device="gpu")).astype(int)
        diff = np.abs(cpu - gpu)
        assert diff.mean() <= 0.5, spec.name
        assert (diff > 2).mean() <= 0.02, spec.name
