"""The BMP, TIFF, WebP and PNM checks: each rule names its damage or mode, every valid file in a mode
DALI decodes right passes, every broken file is refused unless it is harmless, and no file the
checks pass crashes DALI's CPU decoder or decodes differently from what it means."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from _broken_images import HARMLESS, broken_images, retag_tiff, riff, sound_images
from _odd_images import REFUSED, exif_block, odd_images, reference_rgb, tiff_bytes

from sada_dali.data._bmp import bmp_problem
from sada_dali.data._headers import image_format
from sada_dali.data._inspect import check_encoded
from sada_dali.data._png import png_problem
from sada_dali.data._pnm import pnm_problem
from sada_dali.data._tiff import tiff_problem
from sada_dali.data._webp import webp_problem

CHECKS = {"bmp": bmp_problem, "tiff": tiff_problem, "webp": webp_problem, "pnm": pnm_problem}
NAMES = {"bmp": "BMP", "tiff": "TIFF", "webp": "WebP", "pnm": "PNM"}
TOLERANCE = 3.0  # mean absolute difference of 0-255 values: 5-6-5 and 5-5-5 BMPs round, YCbCr converts


odd_images = functools.cache(odd_images)  # noqa: F811 - built once for the module's many tests
sound_images = functools.cache(sound_images)  # noqa: F811


def problem(data: bytes) -> str | None:
    """What the reader refuses a file for: its format's check, as :func:`inspect_encoded` applies it."""
    kind = image_format(data) if len(data) >= 8 else None
    if kind in CHECKS:
        return CHECKS[kind](data)
    if kind == "png":
        return png_problem(data)
    return check_encoded(data, ("jpeg",)) if kind == "jpeg" else "not an image of a format the loader reads"


@pytest.fixture(scope="module")
def broken():
    return broken_images()


# each broken file of the four formats, and the key words of its phrase; truncations and random
# flips only need to say "corrupt" or "truncated"
RULES = {
    "tiff/ifd_outside": r"^corrupt TIFF \(the first IFD at byte \d+, outside the \d+-byte file\)",
    "tiff/ifd_zero": r"^corrupt TIFF \(the first IFD at byte 0, outside",
    "tiff/ifd_at_last_byte": r"^corrupt TIFF \(the first IFD at byte \d+, outside",
    "tiff/ifd_entries_65535": r"^truncated TIFF \(the 65535 entries of the first IFD run past the end",
    "tiff/ifd_no_entries": r"^corrupt TIFF \(the first IFD at byte \d+ has no entries\)",
    "tiff/bits_outside": r"^corrupt TIFF \(BitsPerSample values at byte \d+ run past the end",
    "tiff/bits_65535_values": r"^corrupt TIFF \(BitsPerSample tag with 65535 values\)",
    "tiff/bits_as_long": r"^corrupt TIFF \(BitsPerSample tag of type 4, not SHORT\)",
    "tiff/sample_format_65535_values": r"^corrupt TIFF \(SampleFormat tag with 65535 values\)",
    "tiff/samples_65535": r"^corrupt TIFF \(65535 samples per pixel",
    "tiff/samples_0": r"^corrupt TIFF \(0 samples per pixel\)",
    "tiff/samples_missing": r"^corrupt TIFF \(no SamplesPerPixel tag\)",
    "tiff/bits_missing": r"^corrupt TIFF \(no BitsPerSample tag\)",
    "tiff/photometric_missing": r"^corrupt TIFF \(no PhotometricInterpretation tag\)",
    "tiff/width_zero": r"^corrupt TIFF \(an image of 0 x 32 pixels",
    "tiff/height_zero": r"^corrupt TIFF \(an image of 48 x 0 pixels",
    "tiff/width_two_values": r"^corrupt TIFF \(ImageWidth tag with 2 values of type 4, not one SHORT",
    "tiff/width_doubled": r"^truncated TIFF \(uncompressed strip 0 at byte 140 needs 9216 bytes",
    "tiff/size_60000": r"^corrupt TIFF \(1 StripOffsets values for 1875 strips\)",
    "tiff/rows_per_strip_zero": r"^corrupt TIFF \(RowsPerStrip 0\)",
    "tiff/strip_outside": r"^corrupt TIFF \(strip 0 at byte \d+, outside the \d+-byte file\)",
    "tiff/strip_past_the_end": r"^truncated TIFF \(strip 0 at byte 140 runs \d+ bytes, past the end of the",
    "tiff/strip_offsets_missing": r"^corrupt TIFF \(no StripOffsets tag\)",
    "tiff/strip_counts_missing_lzw": r"^corrupt TIFF \(a compressed image without a StripByteCounts tag\)",
    "tiff/strip_count_zero_lzw": r"^corrupt TIFF \(strip 0 of 0 bytes\)",
    "tiff/fewer_strip_offsets": r"^corrupt TIFF \(2 StripOffsets values for 5 strips\)",
    "tiff/strip_offsets_array_outside": r"^corrupt TIFF \(StripOffsets values at byte 10000000 run past",
    "tiff/next_ifd_outside": r"^corrupt TIFF \(the IFD of page 2 at byte \d+, outside",
    "tiff/ifd_loop": r"^corrupt TIFF \(the chain of IFDs loops back to byte 8\)",
    "tiff/page2_entries_65535": r"^truncated TIFF \(the 65535 entries of the IFD of page 2 run past the end",
    "tiff/page2_outside": r"^corrupt TIFF \(the IFD of page 2 at byte \d+, outside",
    "tiff/colormap_outside": r"^corrupt TIFF \(ColorMap values at byte 10000000 run past the end",
    "tiff/colormap_short": r"^corrupt TIFF \(a ColorMap of 30 values for 8-bit indices, not 768\)",
    "tiff/colormap_missing": r"^corrupt TIFF \(a palette image without a ColorMap tag\)",
    "tiff/tiles_and_strips": r"^corrupt TIFF \(both tiles and strips",
    "tiff/tile_width_20": r"^corrupt TIFF \(tiles of 20 x 16 pixels, not a multiple of 16\)",
    "tiff/compression_12345": r"^unsupported TIFF mode \(compression 12345, which DALI's libtiff",
    "tiff/old_jpeg": r"^unsupported TIFF mode \(old-style JPEG",
    "tiff/jpeg_16_bit": r"^unsupported TIFF mode \(JPEG-compressed 16-bit samples",
    "tiff/gray_2_bit": r"^unsupported TIFF mode \(2-bit gray samples",
    "tiff/gray_12_bit": r"^unsupported TIFF mode \(12-bit gray samples",
    "tiff/gray_alpha": r"^unsupported TIFF mode \(gray with alpha, which DALI decodes wrongly\)",
    "tiff/signed_8_bit": r"^unsupported TIFF mode \(signed integer samples",
    "tiff/int32": r"^unsupported TIFF mode \(signed integer samples",
    "tiff/float16": r"^unsupported TIFF mode \(floating-point samples",
    "tiff/cielab": r"^unsupported TIFF mode \(CIELab photometric",
    "tiff/mask": r"^unsupported TIFF mode \(a transparency mask photometric",
    "tiff/cmyk_16_bit": r"^unsupported TIFF mode \(16-bit CMYK",
    "tiff/premultiplied_alpha": r"^unsupported TIFF mode \(premultiplied alpha",
    "tiff/ycbcr_subsampled": r"^unsupported TIFF mode \(uncompressed YCbCr subsampled 2x2",
    "tiff/predictor_float": r"^unsupported TIFF mode \(the floating-point predictor",
    "tiff/planar_16_bit": r"^unsupported TIFF mode \(16-bit samples stored planar",
    "tiff/lzw_truncated": r"^corrupt TIFF \(the first IFD at byte \d+, outside",
    "bmp/offset_outside": r"^corrupt BMP \(pixel data at byte \d+, outside the \d+-byte file\)",
    "bmp/offset_zero": r"^corrupt BMP \(pixel data at byte 0, inside its headers\)",
    "bmp/header_size_20": r"^corrupt BMP \(a DIB header of 20 bytes\)",
    "bmp/header_size_huge": r"^corrupt BMP \(a DIB header of 4294967280 bytes\)",
    "bmp/header_size_200": r"^corrupt BMP \(a DIB header of 200 bytes\)",
    "bmp/width_zero": r"^corrupt BMP \(an image of 0 x 32 pixels\)",
    "bmp/height_zero": r"^corrupt BMP \(an image of 48 x 0 pixels\)",
    "bmp/width_negative": r"^corrupt BMP \(an image of -48 x 32 pixels\)",
    "bmp/width_2147483647": r"^corrupt BMP \(an image of 2147483647 x 32 pixels\)",
    "bmp/height_min_int": r"^corrupt BMP \(an image of 48 x -2147483648 pixels\)",
    "bmp/size_60000": r"^truncated BMP \(its 60000 rows need \d+ bytes from byte 54, past the end",
    "bmp/bits_0": r"^corrupt BMP \(0 bits per pixel\)",
    "bmp/bits_7": r"^corrupt BMP \(7 bits per pixel\)",
    "bmp/bits_64": r"^corrupt BMP \(64 bits per pixel\)",
    "bmp/compression_99": r"^corrupt BMP \(compression 99\)",
    "bmp/rle8_with_24_bits": r"^corrupt BMP \(RLE8 compression with 24 bits per pixel\)",
    "bmp/jpeg_inside": r"^unsupported BMP mode \(a JPEG inside the BMP",
    "bmp/png_inside": r"^unsupported BMP mode \(a PNG inside the BMP",
    "bmp/rle4": r"^unsupported BMP mode \(RLE4 compression",
    "bmp/16_bit_without_bitfields": r"^unsupported BMP mode \(16-bit pixels without bitfields",
    "bmp/2_bit": r"^unsupported BMP mode \(2-bit pixels",
    "bmp/bitfields_odd_masks": r"^unsupported BMP mode \(bitfield masks 0xFF, 0xFF00, 0xFF0000",
    "bmp/bitfields_8_bit": r"^corrupt BMP \(bitfields with 8 bits per pixel\)",
    "bmp/palette_300_colours": r"^corrupt BMP \(a palette of 300 colours for 8-bit pixels\)",
    "bmp/palette_missing": r"^corrupt BMP \(pixel index \d+ past the 0 palette colours",
    "bmp/palette_index_past_palette": r"^corrupt BMP \(pixel index \d+ past the 2 palette colours",
    "bmp/black_white_palette_8_bit": r"^unsupported BMP mode \(a black-and-white two-colour palette on 8-bit",
    "bmp/one_colour_palette_1_bit": r"^unsupported BMP mode \(1-bit pixels set with a one-colour palette",
    "bmp/rle8_run_past_row": r"^corrupt BMP \(an RLE8 run past the end of row 0\)",
    "bmp/rle8_absolute_past_row": r"^corrupt BMP \(an RLE8 absolute run past the end of row 0\)",
    "bmp/rle8_absolute_past_the_end": r"^corrupt BMP \(an RLE8 absolute run past the end of row 1\)",
    "bmp/rle8_truncated": r"^truncated BMP \(its RLE8 data ends at row \d+ of 32\)",
    "bmp/rle8_no_end": r"^truncated BMP \(its RLE8 data ends at row 16 of 32\)",
    "bmp/rle8_garbage": r"^corrupt BMP \(an RLE8",
    "webp/riff_size_past_the_end": r"^truncated WebP \(its RIFF size says \d+ bytes, the file has \d+\)",
    "webp/riff_size_small": r"^corrupt WebP \(its 'VP8 ' chunk at byte 12 runs past the RIFF end at byte 108",
    "webp/vp8_sync_code": r"^corrupt WebP \(a VP8 chunk without a key frame and its sync code\)",
    "webp/vp8_size_zero": r"^corrupt WebP \(an image of 0 x 0 pixels\)",
    "webp/vp8l_signature": r"^corrupt WebP \(a VP8L chunk without its signature\)",
    "webp/first_chunk_unknown": r"^corrupt WebP \(a first chunk 'ABCD', not VP8, VP8L or VP8X\)",
    "webp/chunk_size_huge": r"^truncated WebP \(its 'VP8 ' chunk at byte 12 runs past the RIFF end",
    "webp/chunk_size_small": r"^(corrupt|truncated) WebP \(its .* chunk at byte 30 runs past the RIFF end",
    "webp/vp8x_chunk_size_4": r"^corrupt WebP \(a VP8X chunk of 4 bytes, not 10\)",
    "webp/vp8x_canvas_mismatch": r"^corrupt WebP \(a VP8X canvas of 96 x 32 for an image of 48 x 32\)",
    "webp/vp8x_without_image": r"^corrupt WebP \(a VP8X file without a VP8 or VP8L image chunk\)",
    "webp/exif_flag_without_chunk": r"^corrupt WebP \(its VP8X header announces an EXIF chunk, but it has",
    "webp/odd_chunk_before_exif": r"^unsupported WebP mode \(an odd-sized chunk before the EXIF chunk",
    "webp/exif3_prefixed": r"^unsupported WebP mode \(EXIF orientation 3 after an 'Exif\\0\\0' prefix",
    "webp/exif6_long_big_endian": r"^unsupported WebP mode \(EXIF orientation 6 stored as a big-endian LONG",
    "webp/animation_without_frames": r"^corrupt WebP \(an animation without ANIM and ANMF chunks\)",
    "pnm/p7": r"^unsupported PNM mode \(P7, a PAM file",
    "pnm/no_space_after_magic": r"^corrupt PNM header \(no white space after its magic number\)",
    "pnm/width_overflow": r"^corrupt PNM header \(its width has 11 digits\)",
    "pnm/width_zero": r"^corrupt PNM header \(an image of 0 x 32 pixels\)",
    "pnm/width_negative": r"^corrupt PNM header \(byte 0x2D at 3, where its width must be\)",
    "pnm/letters_for_width": r"^corrupt PNM header \(byte 0x61 at 3, where its width must be\)",
    "pnm/maxval_zero": r"^corrupt PNM header \(a maximum value of 0\)",
    "pnm/maxval_1": r"^unsupported PNM mode \(a maximum value of 1, which DALI does not rescale\)",
    "pnm/maxval_15": r"^unsupported PNM mode \(a maximum value of 15,",
    "pnm/maxval_4095": r"^unsupported PNM mode \(a maximum value of 4095,",
    "pnm/maxval_70000": r"^corrupt PNM header \(a maximum value of 70000\)",
    "pnm/maxval_missing": r"^corrupt PNM header \(byte 0x[0-9A-F]{2} at 9, where its maximum value must be\)",
    "pnm/comment_glued_to_width": r"^corrupt PNM header \(a comment glued to its width\)",
    "pnm/width_one_more": r"^truncated PNM \(its raster needs 4704 bytes after byte 13, the file has 4608\)",
    "pnm/size_60000": r"^truncated PNM \(its raster needs 10800000000 bytes",
    "pnm/ascii_gray": r"^unsupported PNM mode \(ASCII P2",
    "pnm/ascii_pixmap": r"^unsupported PNM mode \(ASCII P3",
    "pnm/p1_packed": r"^unsupported PNM mode \(P1 pixels not separated by white space",
    "pnm/p1_truncated": r"^truncated PNM \(its P1 raster has 1526 of 1536 pixels\)",
    "pnm/p1_letters": r"^corrupt PNM \(a P1 raster with characters other than 0, 1 and white space\)",
}
DAMAGE = r"^(corrupt|truncated) {}"  # truncations and random flips
UNSUPPORTED = re.compile(r"^unsupported (BMP|TIFF|WebP|PNM) mode \(.+\); \w.+$")


def rule(name: str) -> str:
    return RULES.get(name, DAMAGE.format(NAMES[name.split("/")[0]]))


def checked_names(kind: str) -> list[str]:
    return sorted(name for name in broken_images() if name.startswith(kind + "/") and name not in HARMLESS)


@pytest.mark.parametrize("kind", sorted(CHECKS))
def test_every_broken_file_has_a_rule_and_every_rule_a_broken_file(kind, broken):
    names = set(checked_names(kind))
    unruled = {name for name in names if name not in RULES and not re.search(r"truncated_at|flipped", name)}
    assert not unruled
    assert {name for name in RULES if name.startswith(kind + "/")} <= names


@pytest.mark.parametrize("name", checked_names("tiff"))
def test_tiff_problem_names_each_damage_and_mode(name, broken):
    assert re.search(rule(name), tiff_problem(broken[name]) or "None"), tiff_problem(broken[name])


@pytest.mark.parametrize("name", checked_names("bmp"))
def test_bmp_problem_names_each_damage_and_mode(name, broken):
    assert re.search(rule(name), bmp_problem(broken[name]) or "None"), bmp_problem(broken[name])


@pytest.mark.parametrize("name", checked_names("webp"))
def test_webp_problem_names_each_damage_and_mode(name, broken):
    assert re.search(rule(name), webp_problem(broken[name]) or "None"), webp_problem(broken[name])


@pytest.mark.parametrize("name", checked_names("pnm"))
def test_pnm_problem_names_each_damage_and_mode(name, broken):
    assert re.search(rule(name), pnm_problem(broken[name]) or "None"), pnm_problem(broken[name])


def test_tiff_problem_refuses_a_strip_past_the_end_of_the_file():
    data = tiff_bytes(np.zeros((8, 16, 3), np.uint8))
    assert re.search(
        r"^truncated TIFF \(strip 0 at byte \d+ runs 384 bytes, past the end", tiff_problem(data[:-1])
    )
    far = retag_tiff(data, {273: (4, [9000])})
    assert re.search(
        rf"^corrupt TIFF \(strip 0 at byte 9000, outside the {len(far)}-byte file\)", tiff_problem(far)
    )


def test_tiff_problem_refuses_65535_samples_per_pixel_in_any_page():
    data = tiff_bytes(np.zeros((8, 16, 3), np.uint8))
    assert "65535 samples per pixel in the first IFD" in tiff_problem(retag_tiff(data, {277: (3, [65535])}))
    two_pages = bytearray(retag_tiff(data, {277: (3, [65535])}))  # the sound IFD at byte 8 stays
    bad, entries = two_pages[4:8], int.from_bytes(two_pages[8:10], "little")
    two_pages[4:8], two_pages[10 + 12 * entries : 14 + 12 * entries] = (8).to_bytes(4, "little"), bad
    assert "65535 samples per pixel in the IFD of page 2" in tiff_problem(bytes(two_pages))


def test_tiff_problem_refuses_pils_1_bit_tiff_without_bits_per_sample_but_not_with_it():
    bilevel = odd_images()["tiff/bilevel"]
    assert tiff_problem(bilevel).startswith("unsupported TIFF mode (1-bit without a BitsPerSample tag")
    assert tiff_problem(retag_tiff(bilevel, {258: (3, [1])})) is None


def test_tiff_problem_accepts_multipage_files_and_reads_only_the_chain_of_later_pages():
    assert tiff_problem(odd_images()["tiff/multipage"]) is None


def test_bmp_problem_refuses_a_black_and_white_palette_only_on_uncompressed_4_or_8_bit_pixels():
    assert "black-and-white two-colour palette" in bmp_problem(
        broken_images()["bmp/black_white_palette_8_bit"]
    )
    assert bmp_problem(odd_images()["bmp/bilevel"]) is None  # the same palette on 1-bit pixels


def test_webp_problem_accepts_a_standard_exif_orientation_and_refuses_a_prefixed_one():
    files = odd_images()
    assert webp_problem(files["webp/exif6_standard"]) is None
    assert re.search(
        r"^unsupported WebP mode \(EXIF orientation 6 after an 'Exif", webp_problem(files["webp/exif6"])
    )
    lossy = files["webp/lossy"]
    flags = b"VP8X" + (10).to_bytes(4, "little") + bytes((0x08, 0, 0, 0)) + (95).to_bytes(3, "little")
    flags += (47).to_bytes(3, "little")
    exif = exif_block(1)  # orientation 1 needs no turn, prefixed or not
    plain = riff(flags + lossy[12:] + b"EXIF" + len(exif).to_bytes(4, "little") + exif)
    assert webp_problem(plain) is None


def test_pnm_problem_refuses_ascii_graymaps_and_pixmaps_but_reads_p1_bitmaps():
    files = odd_images()
    assert pnm_problem(files["pnm/pgm_ascii"]).startswith("unsupported PNM mode (ASCII P2")
    assert pnm_problem(files["pnm/ppm_ascii"]).startswith("unsupported PNM mode (ASCII P3")
    assert pnm_problem(sound_images()["pnm/p1_with_spaces"]) is None


@pytest.mark.parametrize("name", sorted(n for n in odd_images() if n.split("/")[0] in CHECKS))
def test_every_valid_odd_image_passes_its_check_unless_dali_decodes_its_mode_wrongly(name):
    found = CHECKS[name.split("/")[0]](odd_images()[name])
    if name in REFUSED:
        assert found is not None and found.startswith(REFUSED[name]), found
    else:
        assert found is None


@pytest.mark.parametrize("name", sorted(sound_images()))
def test_every_sound_file_in_a_mode_dali_decodes_right_passes_its_check(name):
    assert problem(sound_images()[name]) is None


def test_every_broken_file_gets_a_phrase_unless_it_is_harmless(broken):
    passed = {name for name, data in broken.items() if problem(data) is None}
    assert passed == HARMLESS


def test_every_phrase_starts_with_the_damage_or_the_mode_and_a_mode_ends_with_its_fix(broken):
    for name, data in broken.items():
        kind = name.split("/")[0]
        found = CHECKS[kind](data) if kind in CHECKS else None
        if found is None or len(data) < 8:
            continue
        if found.startswith("unsupported"):
            assert UNSUPPORTED.match(found) and NAMES[kind] in found.split("(")[0], (name, found)
        else:
            assert re.match(rf"^(corrupt|truncated) {NAMES[kind]}\b", found), (name, found)


def test_the_checks_never_raise_and_stay_fast_on_every_truncation_and_random_flip():
    rng = np.random.default_rng(0)
    files = {**odd_images(), **sound_images()}
    slowest = 0.0
    for name, data in files.items():
        check = CHECKS.get(name.split("/")[0])
        if check is None:
            continue
        cuts = [data[:n] for n in range(0, len(data), max(1, len(data) // 97))]
        flips = []
        for _ in range(40):
            flipped = bytearray(data)
            for at in rng.integers(0, min(len(data), 400), 3):
                flipped[at] ^= int(rng.integers(1, 256))
            flips.append(bytes(flipped))
        for variant in cuts + flips:
            start = time.perf_counter()
            found = check(variant)
            slowest = max(slowest, time.perf_counter() - start)
            assert found is None or isinstance(found, str)
    assert slowest < 0.05  # RLE8 walks are the slowest: about a millisecond for these files


DECODE = textwrap.dedent(
    """
    import json
    import sys

    import numpy as np
    from nvidia.dali import fn, pipeline_def, types

    folder, count, batch, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    files = [np.fromfile(f"{folder}/{k}.bin", dtype=np.uint8) for k in range(count)]
    order = [k % count for k in range(batch * rounds)]
    state = {"next": 0}

    def source():
        start = state["next"]
        state["next"] += batch
        return [files[k] for k in order[start : start + batch]]

    @pipeline_def(batch_size=batch, num_threads=2, device_id=None, prefetch_queue_depth=1)
    def pipe():
        encoded = fn.external_source(source=source, batch=True)
        return fn.decoders.image(encoded, device="cpu", output_type=types.RGB)

    pipeline = pipe()
    pipeline.build()
    seen = set()
    for round_ in range(rounds):
        out = pipeline.run()[0]
        for k in range(batch):
            index = order[round_ * batch + k]
            if index not in seen:
                seen.add(index)
                np.save(f"{folder}/{index}.npy", np.asarray(out[k]))
    print(json.dumps(sorted(seen)))
    """
)


@pytest.mark.filterwarnings("ignore:Truncated File Read")  # PIL, on the TIFF whose unknown tag points outside
def test_no_file_the_checks_pass_crashes_dali_and_each_decodes_to_what_it_means(tmp_path, broken):
    candidates = {**odd_images(), **sound_images(), **{f"broken:{k}": v for k, v in broken.items()}}
    passed = sorted(name for name, data in candidates.items() if problem(data) is None)
    for k, name in enumerate(passed):
        (tmp_path / f"{k}.bin").write_bytes(candidates[name])
    batch = 64
    rounds = 2 * -(-len(passed) // batch)  # every file twice, in batches of 64 files on 2 threads
    result = subprocess.run(
        [sys.executable, "-c", DECODE, os.fspath(tmp_path), str(len(passed)), str(batch), str(rounds)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"rc {result.returncode}: {result.stderr[-2000:]}"
    assert json.loads(result.stdout.strip().splitlines()[-1]) == list(range(len(passed)))
    wrong = {}
    for k, name in enumerate(passed):
        image, meaning = np.load(tmp_path / f"{k}.npy"), reference_rgb(candidates[name])
        if image.shape != meaning.shape:
            wrong[name] = f"shape {image.shape}, means {meaning.shape}"
        elif np.abs(image.astype(np.int16) - meaning).mean() > TOLERANCE:
            wrong[name] = f"mean abs diff {np.abs(image.astype(np.int16) - meaning).mean():.1f}"
    assert not wrong, wrong
