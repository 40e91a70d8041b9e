"""Image sizes from file headers (``sada_dali.data._headers.image_size``): every format PIL
writes, EXIF orientation as DALI's decoder applies it, and malformed input."""

import io
import struct

import numpy as np
import pytest
from PIL import Image

from sada_dali.data._headers import image_size

WIDTH, HEIGHT = 37, 23  # odd and unequal: a swapped or off-by-one size shows


def encode(fmt, *, width=WIDTH, height=HEIGHT, mode="RGB", orientation=None, **kwargs):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8))
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    buffer = io.BytesIO()
    image.convert(mode).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


FILES = {
    "jpeg": lambda: encode("JPEG"),
    "progressive jpeg": lambda: encode("JPEG", progressive=True),
    "grayscale jpeg": lambda: encode("JPEG", mode="L"),
    "cmyk jpeg": lambda: encode("JPEG", mode="CMYK"),
    "png": lambda: encode("PNG"),
    "palette png": lambda: encode("PNG", mode="P"),
    "gif": lambda: encode("GIF"),
    "bmp": lambda: encode("BMP"),
    "lossy webp": lambda: encode("WEBP"),
    "lossless webp": lambda: encode("WEBP", lossless=True),
    "little-endian tiff": lambda: encode("TIFF"),
    "ppm": lambda: encode("PPM"),
    "pgm": lambda: encode("PPM", mode="L"),
    "pbm": lambda: encode("PPM", mode="1"),
}


def big_endian_tiff(orientation=1):
    """A big-endian TIFF header (PIL writes little-endian only): width SHORT, height LONG."""
    entries = [(256, 3, WIDTH << 16), (257, 4, HEIGHT), (274, 3, orientation << 16)]
    ifd = struct.pack(">H", len(entries)) + b"".join(struct.pack(">HHII", t, k, 1, v) for t, k, v in entries)
    return b"MM\x00*" + struct.pack(">I", 8) + ifd + b"\x00" * 4


@pytest.mark.parametrize("name", list(FILES))
def test_size_of_every_format_pil_writes_matches_pil(name):
    data = FILES[name]()
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (WIDTH, HEIGHT)
    assert image_size(data) == (WIDTH, HEIGHT)


def test_big_endian_tiff_and_its_orientation():
    assert image_size(big_endian_tiff()) == (WIDTH, HEIGHT)
    assert image_size(big_endian_tiff(orientation=7)) == (HEIGHT, WIDTH)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize(
    "orientation,size",
    [(1, (WIDTH, HEIGHT)), (3, (WIDTH, HEIGHT)), (6, (HEIGHT, WIDTH)), (8, (HEIGHT, WIDTH))],
)
def test_exif_orientation_swaps_the_size_as_dali_decodes_it(fmt, orientation, size):
    data = encode(fmt, orientation=orientation)
    assert image_size(data) == size


def test_exif_orientation_of_a_tiff_comes_from_its_own_tag():
    data = encode("TIFF", tiffinfo={274: 6})
    assert image_size(data) == (HEIGHT, WIDTH)


def test_bmp_with_a_core_header_and_a_top_down_bmp():
    core = b"BM" + b"\x00" * 12 + struct.pack("<IHHHH", 12, WIDTH, HEIGHT, 1, 24)
    top_down = b"BM" + b"\x00" * 12 + struct.pack("<Iii", 40, WIDTH, -HEIGHT) + b"\x00" * 28
    assert image_size(core) == image_size(top_down) == (WIDTH, HEIGHT)


def test_pnm_header_with_comments():
    assert image_size(b"P6\n# made by hand\n# another\n37 23\n255\n" + b"\x00" * 10) == (WIDTH, HEIGHT)


def test_jpeg_with_fill_bytes_and_a_large_app_segment_before_the_frame_header():
    data = encode("JPEG")
    app = b"\xff\xee" + struct.pack(">H", 60002) + b"\x00" * 60000
    assert image_size(data[:2] + app + b"\xff\xff" + data[2:]) == (WIDTH, HEIGHT)


@pytest.mark.parametrize("name", list(FILES))
def test_every_truncation_of_a_header_gives_none_or_the_right_size(name):
    data = FILES[name]()
    for end in range(0, min(len(data), 400)):
        assert image_size(data[:end]) in (None, (WIDTH, HEIGHT)), end


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xd9",
        b"\xff\xd8\xff\xda\x00\x02",
        b"\xff\xd8\xff\xe0\x00\x00",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x00\x00\x00\x00\x05",
        b"GIF89a\x00\x00\x05\x00",
        b"RIFF\x00\x00\x00\x00WEBPVP8X",
        b"II*\x00\xff\xff\xff\xff",
        b"MM\x00*\x00\x00\x00\x08\xff\xff",
        b"P6 12",
        b"P6 a b",
        b"BM" + b"\x00" * 30,
        b"not an image at all",
    ],
)
def test_malformed_headers_give_none(data):
    assert image_size(data) is None


def test_random_garbage_behind_every_magic_never_raises():
    rng = np.random.default_rng(0)
    magics = [
        b"\xff\xd8\xff",
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        b"BM",
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        b"RIFF\x00\x00\x00\x00WEBPVP8L",
        b"RIFF\x00\x00\x00\x00WEBPVP8X",
        b"II*\x00",
        b"MM\x00*",
        b"P5",
    ]
    for magic in magics:
        for length in (0, 3, 17, 64, 1000):
            for _ in range(20):
                size = image_size(magic + rng.integers(0, 256, length, dtype=np.uint8).tobytes())
                assert size is None or (size[0] > 0 and size[1] > 0)


def test_bytes_like_inputs_are_accepted():
    data = FILES["png"]()
    assert image_size(np.frombuffer(data, dtype=np.uint8)) == image_size(memoryview(data)) == (WIDTH, HEIGHT)


def test_sizes_match_the_images_dali_decodes():
    from nvidia.dali import fn, pipeline_def, types

    files = [
        FILES[name]()
        for name in ("jpeg", "cmyk jpeg", "png", "bmp", "lossless webp", "little-endian tiff", "ppm", "pgm")
    ]
    files += [encode(fmt, orientation=o) for fmt in ("JPEG", "PNG", "WEBP") for o in (3, 6)]
    files.append(encode("TIFF", tiffinfo={274: 8}))
    arrays = [np.frombuffer(data, dtype=np.uint8) for data in files]

    @pipeline_def(batch_size=len(arrays), num_threads=1, device_id=None)
    def decode():
        encoded = fn.external_source(source=lambda: arrays, batch=True, dtype=types.UINT8)
        return fn.decoders.image(encoded, device="cpu", output_type=types.RGB)

    pipe = decode()
    pipe.build()
    (images,) = pipe.run()
    decoded = [np.array(images[k]).shape[1::-1] for k in range(len(arrays))]
    assert [image_size(data) for data in files] == decoded
    assert decoded.count((HEIGHT, WIDTH)) == 4  # the quarter turns
