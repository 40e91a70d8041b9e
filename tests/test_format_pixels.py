"""Every format and mode the loader accepts decodes to what the file means, or is refused by name.

Each valid file of ``_odd_images.odd_images()`` sits in one ImageFolder next to its meaning
(PIL's RGB decode, orientation applied, 16-bit scaled to 8) saved as an 8-bit RGB PNG; the
validation pipeline reads both, so the resize and crop are the same and only the decode can
differ. docs/faults.md, "Formats", lists the modes refused here.
"""

from __future__ import annotations

import numpy as np
import pytest
from _odd_images import REFUSED, odd_images, reference_rgb
from PIL import Image

from sada_dali.data._inspect import check_encoded
from sada_dali.loader import SADALoader

TOLERANCE = 3.0  # mean absolute difference of 0-255 values: rounding of 5-6-5 BMPs and YCbCr
EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "bmp": ".bmp", "tiff": ".tif", "webp": ".webp", "pnm": ".ppm"}


@pytest.fixture(scope="module")
def decoded(tmp_path_factory):
    """``{name: (image, meaning)}``: the loader's validation output of each accepted file and of
    its meaning, as uint8 (3, S, S) arrays."""
    root = tmp_path_factory.mktemp("formats") / "c"
    root.mkdir()
    accepted = {name: data for name, data in odd_images().items() if check_encoded(data) is None}
    for k, (name, data) in enumerate(sorted(accepted.items())):
        stem = f"{k:03d}_{name.replace('/', '_')}"
        (root / (stem + EXTENSIONS[name.split("/")[0]])).write_bytes(data)
        Image.fromarray(reference_rgb(data)).save(root / (stem + ".zmeaning.png"))
    loader = SADALoader(
        str(root.parent),
        8,
        device="cpu",
        train=False,
        image_size=40,
        normalize=False,
        workers=0,
        num_threads=1,
        on_error="skip",
    )
    images = {}
    for batch, _, indices in loader:
        images.update(zip(indices.tolist(), batch.numpy()))
    loader.close()
    assert not loader.skipped_files, f"accepted by the check but failed to decode: {loader.skipped_files}"
    files = [path.split("/")[-1] for path in loader.listing.files]
    by_stem = {}
    for index, file in enumerate(files):
        by_stem.setdefault(file.split(".")[0], {})["meaning" if ".zmeaning." in file else "image"] = images[
            index
        ]
    names = {f"{k:03d}_{name.replace('/', '_')}": name for k, name in enumerate(sorted(accepted))}
    return {names[stem]: (pair["image"], pair["meaning"]) for stem, pair in by_stem.items()}


def test_every_accepted_file_decodes_to_what_it_means(decoded):
    far = {}
    for name, (image, meaning) in decoded.items():
        mad = float(np.abs(image.astype(np.int16) - meaning.astype(np.int16)).mean())
        if mad > TOLERANCE:
            far[name] = round(mad, 1)
    assert not far, f"decoded unlike PIL's meaning (mean abs diff > {TOLERANCE}): {far}"


def test_the_corpus_covers_every_format_and_the_tricky_modes(decoded):
    formats = {name.split("/")[0] for name in decoded}
    assert formats == set(EXTENSIONS)
    for name in (
        "png/gray16",
        "png/rgba",
        "png/gray_alpha",
        "png/exif6_after_idat",
        "tiff/rgb16",
        "jpeg/exif6_long",
    ):
        assert name in decoded


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_mode_dali_decodes_wrongly_is_refused_with_its_format_and_mode(name):
    problem = check_encoded(odd_images()[name])
    assert problem is not None and problem.startswith(REFUSED[name]), problem
