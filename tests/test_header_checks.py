"""The reader's structural checks of JPEG headers (``sada_dali.data._jpeg.jpeg_problem``) and PNG
chunks (``sada_dali.data._png.png_problem``): every damage DALI's decoder fails on (or crashes
with) is found, and legal files pass."""

import io
import re

import numpy as np
import pytest
from _bad_files import BAD_CONTENT, CRASH_KINDS, HEADER_DAMAGE
from _images import make_image
from PIL import Image

from sada_dali.data._inspect import check_encoded
from sada_dali.data._jpeg import jpeg_problem
from sada_dali.data._png import png_problem

PROBLEMS = {
    "tables_corrupt": r"no JPEG marker at byte \d+",
    "no_frame_header": r"a start of scan before any frame header",
    "short_huffman_segment": r"Huffman tables that do not fill their segment \(marker 0xC4",
    "segment_past_the_end": r"marker 0xDB at byte 20 runs past the end of the file",
    "two_components": r"a frame header of 2 components and 17 bytes",
    "huffman_overfull": r"a Huffman table of 3200 codes \(at most 256\)",
    "quant_table_id": r"a quantisation table with precision 0 and id 7",
    "frame_sampling_zero": r"frame component 0 with sampling 0x00",
    "frame_undefined_quant_table": r"quantisation table\(s\) \[3\] used by the frame but not defined",
    "frame_height_zero": r"a frame of 160 x 0 pixels",
    "frame_12_bit": r"12-bit samples, which DALI's CPU decoder does not read",
    "scan_unknown_component": r"a scan of component 9, which the frame does not have",
    "scan_undefined_huffman_table": r"a scan that uses Huffman table 3 of class 0, which is not defined",
}


def encode(mode="RGB", **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(make_image(61, 77, seed=1)).convert(mode).save(buffer, format="JPEG", **kwargs)
    return buffer.getvalue()


def with_orientation() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(exif=exif.tobytes())


GOOD = {
    "baseline": encode,
    "progressive": lambda: encode(progressive=True),
    "optimized": lambda: encode(optimize=True),
    "4:4:4": lambda: encode(subsampling=0),
    "4:2:2": lambda: encode(subsampling=1),
    "quality 100 (16-bit tables)": lambda: encode(quality=100),
    "restart markers": lambda: encode(restart_marker_blocks=2),
    "grayscale": lambda: encode("L"),
    "cmyk": lambda: encode("CMYK"),
    "exif orientation": with_orientation,
}


def test_every_crafted_header_damage_has_its_problem_named():
    assert set(PROBLEMS) == set(HEADER_DAMAGE) and set(CRASH_KINDS) <= set(PROBLEMS)


@pytest.mark.parametrize("kind", sorted(HEADER_DAMAGE))
def test_header_damage_is_found_and_named(kind):
    problem = jpeg_problem(HEADER_DAMAGE[kind]())
    assert problem is not None
    assert re.search(PROBLEMS[kind], problem), problem


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_legal_jpegs_pass(kind):
    assert jpeg_problem(GOOD[kind]()) is None
    assert check_encoded(GOOD[kind]()) is None


def test_the_reader_check_reports_header_damage_as_corrupt_jpeg_headers():
    assert check_encoded(HEADER_DAMAGE["two_components"]()).startswith("corrupt JPEG headers: a frame header")


def test_a_truncated_header_is_found_at_every_cut():
    data = encode()
    scan = data.find(b"\xff\xda")
    for cut in range(2, scan + 12):
        assert jpeg_problem(data[:cut]) is not None, cut


def test_every_header_byte_flip_nvimagecodec_rejects_is_found():
    """nvImageCodec's own parser (the one DALI runs before decoding) is the oracle."""
    nvimgcodec = pytest.importorskip("nvidia.nvimgcodec")
    data, rng = encode(), np.random.default_rng(0)
    scan = data.find(b"\xff\xda") + 14
    missed, rejected = [], 0
    for _ in range(1000):
        damaged = bytearray(data)
        for at in rng.integers(2, scan, size=int(rng.integers(1, 4))):
            damaged[at] = int(rng.integers(256))
        damaged = bytes(damaged)
        try:
            assert nvimgcodec.CodeStream(damaged).height >= 0
        except Exception:  # the parser's own error, a RuntimeError
            rejected += 1
            if jpeg_problem(damaged) is None:
                missed.append(damaged)
    assert rejected > 20 and not missed


def encode_png(mode="RGB", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image = Image.fromarray(make_image(21, 34, seed=2)).convert(mode)
    image.save(buffer, format="PNG", **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "1", "I;16"])
def test_legal_pngs_pass(mode):
    assert png_problem(encode_png(mode)) is None


@pytest.mark.parametrize(
    "data,match",
    [
        (BAD_CONTENT["truncated_png"](), r"truncated PNG \(its 'IDAT' chunk at byte 33 runs past the end"),
        (encode_png()[:-12], r"truncated PNG \(its chunks end before an IEND chunk\)"),
        (encode_png()[:8] + b"\x00\x00\x00\x0dIHDX" + encode_png()[16:], r"no 13-byte IHDR chunk first"),
        (encode_png()[:24] + b"\x03" + encode_png()[25:], r"bit depth 3 with colour type 2"),
        (encode_png()[:16] + b"\x00" * 4 + encode_png()[20:], r"an image of 0 x 21 pixels"),
    ],
    ids=["cut with IEND appended", "no IEND", "no IHDR", "bit depth", "zero width"],
)
def test_png_damage_nvimagecodec_parses_badly_is_found(data, match):
    assert re.search(match, png_problem(data))


def test_png_data_damage_is_left_to_the_decoder():
    assert png_problem(BAD_CONTENT["png_bad_data"]()) is None
