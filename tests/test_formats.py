"""``formats=``: which image formats the loader, the recovery probe and ``sada-dali check`` accept,
and the JPEG rules that follow DALI's decoder (Exif orientation, lossless frames, trailers)."""

import numpy as np
import pytest
from _images import write_image
from _odd_images import exif_block, lossless_jpeg, odd_images

from sada_dali.cli.main import main
from sada_dali.data._headers import image_size
from sada_dali.data._inspect import check_encoded, inspect_encoded
from sada_dali.data.formats import DEFAULT_FORMATS, FORMATS, check_formats
from sada_dali.loader import SADALoader


def test_check_formats_takes_names_aliases_and_comma_lists_in_canonical_order():
    assert check_formats(None) == DEFAULT_FORMATS == FORMATS
    assert check_formats(["PNG", "jpg"]) == ("jpeg", "png")
    assert check_formats("tif, ppm,jpeg") == ("jpeg", "tiff", "pnm")
    assert check_formats(("png", "png")) == ("png",)


@pytest.mark.parametrize(
    "formats,error,match",
    [
        ("gif", ValueError, r"`formats` names 'gif'.*DALI's decoders do not read GIF"),
        (["jpeg", "heic"], ValueError, r"`formats` names 'heic', which is not a format the loader reads"),
        ([], ValueError, r"The `formats` is empty"),
        (",", ValueError, r"The `formats` is empty"),
        (3, TypeError, r"The `formats` must be format names"),
        (["jpeg", 3], TypeError, r"The `formats` must hold format names \(str\), got 3"),
    ],
)
def test_check_formats_refuses_bad_values_by_name(formats, error, match):
    with pytest.raises(error, match=match):
        check_formats(formats)


def test_a_format_left_out_is_refused_by_name_with_the_fix():
    png = odd_images()["png/rgb"]
    assert check_encoded(png) is None
    problem = check_encoded(png, ("jpeg",))
    assert problem.startswith("a PNG image, a format this loader does not accept (formats=('jpeg',))")
    assert "add 'png' to `formats`" in problem
    assert check_encoded(b"GIF89a" + bytes(32)).startswith("a GIF image, which DALI's decoders do not read")


def make_folder(tmp_path):
    write_image(tmp_path / "c" / "a.jpg", 32, 32)
    write_image(tmp_path / "c" / "b.png", 32, 32, fmt="PNG")
    write_image(tmp_path / "c" / "c.jpg", 32, 32)
    return str(tmp_path)


def test_the_loader_reads_only_the_formats_it_is_given(tmp_path):
    root = make_folder(tmp_path)
    common = dict(device="cpu", image_size=16, workers=0, num_threads=1, train=False)
    with pytest.raises(RuntimeError, match=r"b\.png\): a PNG image, a format this loader does not accept"):
        for _ in SADALoader(root, 3, formats="jpeg", **common):
            pass
    loader = SADALoader(root, 3, formats=["jpeg"], on_error="skip", **common)
    seen = [index for _, _, indices in loader for index in indices.tolist()]
    assert seen == [0, 2] and [path.split("/")[-1] for path in loader.skipped_files] == ["b.png"]
    assert len(next(iter(SADALoader(root, 3, **common)))[2]) == 3


def test_the_loader_refuses_bad_formats_before_reading_a_file(tmp_path):
    with pytest.raises(ValueError, match=r"`formats` names 'gif'"):
        SADALoader(str(tmp_path / "missing"), 2, device="cpu", formats=("gif",))


def test_check_command_applies_formats_as_the_loader_does(tmp_path, capsys):
    root = make_folder(tmp_path)
    assert main(["check", root, "--jobs", "0", "--no-progress"]) == 0
    assert main(["check", root, "--jobs", "0", "--no-progress", "--formats", "jpeg"]) == 1
    out = capsys.readouterr().out
    assert "unexpected_format" in out and "b.png" in out and "1 flagged" in out
    with pytest.raises(SystemExit):
        main(["check", root, "--formats", "gif"])
    assert "`--formats` names 'gif'" in capsys.readouterr().err


def jpeg_with_app1(segments, *, after_frame=False):
    from _odd_images import _jpeg_with_app1

    return _jpeg_with_app1(odd_images()["jpeg/rgb"], segments, after_frame=after_frame)


def test_jpeg_orientation_is_read_as_dali_applies_it_wherever_the_exif_segment_is():
    for data in (
        jpeg_with_app1([exif_block(6)], after_frame=True),
        jpeg_with_app1([exif_block(6, kind=4, order=">")]),
        jpeg_with_app1([exif_block(6), exif_block(6)]),
    ):
        assert inspect_encoded(data) == (None, (48, 96)) and image_size(data) == (48, 96)


def test_jpeg_exif_segments_that_disagree_are_refused_as_ambiguous():
    problem = check_encoded(jpeg_with_app1([exif_block(1), exif_block(8)]))
    assert problem.startswith("unsupported JPEG mode (2 Exif segments with different orientations, 1 and 8")


def test_a_lossless_jpeg_is_refused_as_unsupported_not_as_corrupt():
    problem = check_encoded(lossless_jpeg(np.zeros((8, 8), dtype=np.uint8)))
    assert problem.startswith("unsupported JPEG mode (lossless, SOF3 process")


def test_a_jpeg_with_a_long_trailer_is_accepted_but_one_cut_in_its_scan_is_truncated():
    jpeg = odd_images()["jpeg/rgb"]
    assert check_encoded(jpeg + bytes(64 * 1024)) is None
    assert check_encoded(jpeg + b"\x00\x11" * 5000) is None
    cut = jpeg[: len(jpeg) * 2 // 3]
    assert check_encoded(cut) == "truncated JPEG (no end-of-image marker)"
    # an end marker before the scan (an Exif thumbnail's) does not end the image
    thumbnail = b"Exif\x00\x00" + b"\xff\xd8\xff\xd9"
    assert (
        check_encoded(jpeg_with_app1([thumbnail])[: len(jpeg) * 2 // 3])
        == "truncated JPEG (no end-of-image marker)"
    )


def test_a_png_cut_inside_its_iend_chunk_is_truncated():
    png = odd_images()["png/rgb"]
    assert check_encoded(png) is None
    for cut in (1, 4):
        assert check_encoded(png[:-cut]) == "truncated PNG (its IEND chunk is cut short)"
