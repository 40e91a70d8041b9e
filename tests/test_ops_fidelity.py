"""Fidelity of the DALI SADA op (``sada_dali.augment``, CPU) to its torchvision twin
(``sada_dali.baseline.transforms.apply_op``), and the twin's transform.

Both backends get the same parameter for a bin (``test_augment.py`` checks the mapping); the
pixels differ only where the libraries do. Measured on 48x64 photo-like images, the known
differences and the tolerances they set (mean / max |DALI - torchvision|, in grey levels):

=============  =======================================================  ====================
op             difference                                               tolerance
=============  =======================================================  ====================
identity,      none: bit-exact (solarize threshold 256 = identity in      exact
solarize,      both; DALI's posterize keeps ``8 - m`` bits by a mask)
posterize
translate      integer shifts are exact; a sub-pixel shift interpolates   exact (integer px);
               differently at sharp edges and at the fill border          geometric otherwise
auto_contrast  DALI rounds the rescaled value, torchvision truncates       mean 0.6, max 1
color          DALI ``fn.saturation`` (HSV-space matrix) vs torchvision   mean 1.2, max 2
               blend with a floored grey image
contrast       centre: DALI's float channel-weighted mean vs the mean     mean 1.0, max 1
               of torchvision's floored grey image; rounding vs truncation
brightness     rounding (DALI) vs truncation (torchvision)                mean 1.0, max 1
sharpness      DALI filters the 1-px border too (reflect-101 border);     interior max 1,
               PIL/torchvision keep it; blur rounded vs not               mean 0.7
equalize       DALI follows OpenCV's LUT formula, torchvision/PIL its     mean 4, max 20
               own (cumsum offset by the first bin, step rounding)
rotate, shear  both bilinear about the same centre (image centre for      mean 1.0,
               rotate, top-left corner for shear, as DALI has no shear    5% of values off by
               centre); edges of shapes and of the fill differ by         more than 2
               sub-pixel sampling and fill blending
=============  =======================================================  ====================

A wrong sign or a wrong magnitude mapping moves every op far outside these bounds (the mean
change of the ops at full strength is 2-120 grey levels).
"""

import pickle

import numpy as np
import pytest

try:
    import torch
except Exception as exc:  # e.g. a CUDA torchvision wheel next to a CPU torch: its C extension fails
    pytest.skip(f"torchvision cannot be imported: {exc}", allow_module_level=True)

from test_augment import IMAGES, photo_like

from sada_dali import augment
from sada_dali._utils.rng import per_sample_choices
from sada_dali.baseline.transforms import SADATransform, apply_op
from sada_dali.op_space import OPS, OpSpec, bin_to_magnitude, create_op_space
from sada_dali.strength import StrengthTable

EXACT = dict(mean=0.0, max=0)
GEOMETRIC = dict(mean=1.0, off_by_more_than_2=0.05)
TOLERANCE = {
    "identity": EXACT,
    "solarize": EXACT,
    "posterize": EXACT,
    "auto_contrast": dict(mean=0.6, max=1),
    "equalize": dict(mean=4.0, max=20),
    "color": dict(mean=1.2, max=2),
    "contrast": dict(mean=1.0, max=1),
    "brightness": dict(mean=1.0, max=1),
    "sharpness": dict(mean=0.7, interior_max=1),
    "rotate": GEOMETRIC,
    "shear_x": GEOMETRIC,
    "shear_y": GEOMETRIC,
    "translate_x": GEOMETRIC,
    "translate_y": GEOMETRIC,
}


def _cases():
    for spec in create_op_space():
        if spec.max_magnitude == 0:
            yield spec.name, 0, False
            continue
        yield from ((spec.name, b, False) for b in (0, 37, 100))
        if spec.signed:
            yield from ((spec.name, b, True) for b in (50, 100))


def _torchvision(images, spec, magnitude_bin, negate, fill=128):
    return np.stack(
        [
            apply_op(torch.from_numpy(im).permute(2, 0, 1), spec, magnitude_bin, negate, fill=fill)
            .permute(1, 2, 0)
            .numpy()
            for im in images
        ]
    )


def _assert_close(name, dali, tv):
    diff = np.abs(dali.astype(int) - tv.astype(int))
    tol = TOLERANCE[name]
    assert diff.mean() <= tol["mean"], (name, diff.mean())
    if "max" in tol:
        assert diff.max() <= tol["max"], (name, diff.max())
    if "interior_max" in tol:
        assert diff[:, 1:-1, 1:-1].max() <= tol["interior_max"], (name, diff[:, 1:-1, 1:-1].max())
    if "off_by_more_than_2" in tol:
        assert (diff > 2).mean() <= tol["off_by_more_than_2"], (name, (diff > 2).mean())


@pytest.mark.parametrize(("name", "magnitude_bin", "negate"), list(_cases()))
def test_dali_op_matches_torchvision_twin(name, magnitude_bin, negate):
    spec = create_op_space()[OPS.index(name)]
    magnitude = float(bin_to_magnitude(spec, magnitude_bin)) * (-1 if negate else 1)
    dali = np.stack(augment(IMAGES, name, magnitude))
    tv = _torchvision(IMAGES, spec, magnitude_bin, negate)
    _assert_close(name, dali, tv)
    if spec.name.startswith("translate") and magnitude == round(magnitude):
        np.testing.assert_array_equal(dali, tv)


@pytest.mark.parametrize("name", ["translate_x", "translate_y"])
def test_relative_translation_matches_torchvision_twin(name):
    space = create_op_space(translate_relative=0.1)
    spec = space[OPS.index(name)]
    dali = np.stack(augment(IMAGES, name, -0.1, op_space=space))
    _assert_close(name, dali, _torchvision(IMAGES, spec, 100, True))


@pytest.mark.parametrize("name", ["rotate", "shear_x", "shear_y", "brightness", "color", "sharpness"])
def test_a_flipped_sign_breaks_fidelity(name):
    spec = create_op_space()[OPS.index(name)]
    dali = np.stack(augment(IMAGES, name, spec.max_magnitude))
    with pytest.raises(AssertionError):
        _assert_close(name, dali, _torchvision(IMAGES, spec, 100, True))


def test_fill_value_matches_between_backends():
    spec = create_op_space()[OPS.index("rotate")]
    dali = np.stack(augment(IMAGES, "rotate", 30.0, fill_value=7))
    tv = _torchvision(IMAGES, spec, 100, False, fill=7)
    _assert_close("rotate", dali, tv)
    assert dali[:, 0, 0].tolist() == tv[:, 0, 0].tolist() == [[7, 7, 7]] * len(IMAGES)


def test_apply_op_takes_pil_images_like_tensors():
    from PIL import Image

    spec = create_op_space()[OPS.index("posterize")]
    out = apply_op(Image.fromarray(IMAGES[0]), spec, 100, False)
    np.testing.assert_array_equal(np.asarray(out), IMAGES[0] & 0xF0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(spec=OpSpec("cutout", 1.0)), "`spec.name` must be one of"),
        (dict(magnitude_bin=101), r"`magnitude_bin` must lie in \[0, 100\]"),
        (dict(magnitude_bin=-1), r"`magnitude_bin` must lie in \[0, 100\]"),
        (dict(fill=None), r"`fill` must be an integer in \[0, 255\]"),
        (dict(fill=300), r"`fill` must be an integer in \[0, 255\]"),
    ],
)
def test_apply_op_rejects_bad_arguments(kwargs, match):
    args = (
        dict(
            image=torch.zeros(3, 8, 8, dtype=torch.uint8),
            spec=create_op_space()[7],
            magnitude_bin=10,
            negate=False,
        )
        | kwargs
    )
    with pytest.raises(ValueError, match=match):
        apply_op(args.pop("image"), args.pop("spec"), args.pop("magnitude_bin"), args.pop("negate"), **args)


# --- SADATransform ------------------------------------------------------------------------


@pytest.fixture()
def table():
    t = StrengthTable(6, initial=np.linspace(0, 1, 6))
    yield t
    t.close()


def test_transform_draws_the_loaders_choices(table):
    transform = SADATransform(table, seed=3)
    table.set_epoch(2)
    op, sign, flip = per_sample_choices(3, 2, np.arange(6), len(OPS))
    for index in range(6):
        assert transform.choices(index) == (op[index], sign[index], flip[index], 20 * index)


def test_transform_applies_the_sample_op_at_its_strength(table):
    transform = SADATransform(table, seed=1)
    space = create_op_space()
    image = torch.from_numpy(photo_like(32, 40, 5)).permute(2, 0, 1)
    for epoch in range(3):
        transform.set_epoch(epoch)
        for index in range(6):
            op, negate, _, magnitude_bin = transform.choices(index)
            want = apply_op(image, space[op], magnitude_bin, bool(negate))
            torch.testing.assert_close(transform(image, index), want, rtol=0, atol=0)
    assert table.epoch == 2


def test_transform_sees_table_updates_after_pickling(table):
    transform = SADATransform(table, seed=0)
    copy = pickle.loads(pickle.dumps(transform))
    table.set(np.ones(6))
    table.set_epoch(4)
    assert [copy.choices(i) for i in range(6)] == [transform.choices(i) for i in range(6)]
    assert copy.choices(0)[3] == 100 and copy.table.epoch == 4
    copy.table.close()


def test_transform_converts_pil_input_to_a_uint8_tensor(table):
    from PIL import Image

    transform = SADATransform(table, op_space=[OpSpec("identity")])
    out = transform(Image.fromarray(IMAGES[0]), 3)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (3, 48, 64)
    np.testing.assert_array_equal(out.permute(1, 2, 0).numpy(), IMAGES[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(op_space=()), "`op_space` must hold at least one"),
        (dict(num_magnitude_bins=1), "`num_magnitude_bins` must be an integer >= 2"),
        (dict(seed=-1), "`seed` must be an integer >= 0, got -1"),
        (dict(fill=None), r"`fill` must be an integer in \[0, 255\]"),
    ],
)
def test_transform_rejects_bad_arguments(table, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SADATransform(table, **kwargs)


def test_transform_rejects_bad_index_and_image(table):
    transform = SADATransform(table)
    with pytest.raises(IndexError, match=r"`index` must lie in \[0, 5\]"):
        transform.choices(6)
    with pytest.raises(ValueError, match="`image` must be a uint8 CHW tensor"):
        transform(torch.zeros(3, 8, 8), 0)


def test_dali_twin_of_the_transform_matches_per_sample(table):
    transform = SADATransform(table, seed=9)
    space = create_op_space()
    for index in range(6):
        op, negate, _, magnitude_bin = transform.choices(index)
        spec = space[op]
        magnitude = float(bin_to_magnitude(spec, magnitude_bin)) * (-1 if negate and spec.signed else 1)
        dali = np.stack(augment([IMAGES[index % 3]], spec.name, magnitude))
        tv = transform(torch.from_numpy(IMAGES[index % 3]).permute(2, 0, 1), index)
        _assert_close(spec.name, dali, tv.permute(1, 2, 0).numpy()[None])
