"""Broken and odd files of every format, made with PIL and by byte edits of valid files.

:func:`broken_images` returns ``{name: bytes}``, names like ``"tiff/ifd_outside"`` (format, then
what is wrong): truncations at several points, offsets that point outside the file, huge counts,
bad RLE data, palettes that do not fit, zero sizes, flipped header bytes and random byte flips
(fixed seeds), the damage that crashed DALI 2.4's CPU decoder at batch 32-64 before the loader's
checks, and valid files in modes DALI decodes wrongly. :data:`HARMLESS` names the few that are
odd but sound: DALI and PIL both decode them, and the checks let them through.
:func:`sound_images` adds valid files in the modes the checks accept beyond those of
``_odd_images.odd_images()`` (tiles, LZMA, CCITT, short BMP palettes, standard WebP EXIF, P1...):
DALI decodes each as PIL does. Deterministic, and fast (well under a second).
"""

from __future__ import annotations

import io
import struct

import numpy as np
from _bad_files import HEADER_DAMAGE
from _images import make_image
from _odd_images import bmp_bytes, exif_block, png_chunk, tiff_bytes
from PIL import Image

__all__ = ["HARMLESS", "broken_images", "sound_images", "retag_tiff", "tiff_file", "bmp_file", "riff"]

HEIGHT, WIDTH = 32, 48
# sound files among broken_images(): DALI and PIL decode them alike, the checks pass them
HARMLESS = frozenset(
    (
        "tiff/unknown_tag_outside",
        "tiff/trailing_bytes",
        "bmp/rle8_extra_rows",
        "bmp/file_size_field_wrong",
        "webp/trailing_bytes",
        "webp/unknown_chunk",
        "pnm/trailing_bytes",
        "pnm/comments_everywhere",
        "jpeg/trailing_bytes",
        "bmp/header_flipped_0",  # flips in the resolution fields
        "jpeg/header_flipped_0",  # flips in quantisation table values
        "jpeg/header_flipped_1",
        "jpeg/header_flipped_2",
        "jpeg/header_flipped_3",
    )
)
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}
_CODES = {1: "B", 3: "H", 4: "I"}


def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def _patch(data: bytes, at: int, value: bytes) -> bytes:
    return data[:at] + value + data[at + len(value) :]


def _flips(data: bytes, start: int, stop: int, seed: int, count: int = 4) -> bytes:
    """``count`` bytes of ``data[start:stop]`` XOR-ed with random non-zero values (fixed seed)."""
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for at, value in zip(rng.integers(start, min(stop, len(data)), count), rng.integers(1, 256, count)):
        out[int(at)] ^= int(value)
    return bytes(out)


def _cuts(data: bytes, prefix: str, points) -> dict[str, bytes]:
    """``data`` cut after each of ``points`` bytes, named ``f"{prefix}_{point}"``."""
    points = sorted({min(max(point, 1), len(data) - 1) for point in points})
    return {f"{prefix}_{point}": data[:point] for point in points}


def retag_tiff(data: bytes, changes=None, *, raw=None, entries=None, next_ifd: int = 0) -> bytes:
    """``data`` with a new first IFD appended: the old one's entries with ``changes`` (``{tag: (type,
    values)}``, or None to drop the tag) and ``raw`` (``{tag: (type, count, 4-byte field)}``). The
    old bytes stay where they are, so strip offsets stay valid; ``entries`` overrides the count."""
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack_from(order + "I", data, 4)[0]
    tags = {}
    for k in range(struct.unpack_from(order + "H", data, ifd)[0]):
        tag, kind, count, field = struct.unpack_from(order + "HHI4s", data, ifd + 2 + 12 * k)
        size = _TYPE_SIZES.get(kind, 1) * count
        if size > 4:
            at = struct.unpack(order + "I", field)[0]
            tags[tag] = (kind, count, data[at : at + size])
        else:
            tags[tag] = (kind, count, field[:size])
    for tag, change in (changes or {}).items():
        if change is None:
            tags.pop(tag, None)
        else:
            kind, values = change
            tags[tag] = (kind, len(values), struct.pack(order + _CODES[kind] * len(values), *values))
    out = bytearray(data + b"\x00" * (len(data) & 1))
    fields = {}
    for tag, (kind, count, value) in sorted(tags.items()):
        if len(value) > 4:
            fields[tag] = struct.pack(order + "I", len(out))
            out += value + b"\x00" * (len(value) & 1)
        else:
            fields[tag] = value.ljust(4, b"\x00")
    for tag, (kind, count, field) in (raw or {}).items():
        tags[tag], fields[tag] = (kind, count, b""), field
    start = len(out)
    out += struct.pack(order + "H", len(tags) if entries is None else entries)
    for tag in sorted(tags):
        out += struct.pack(order + "HHI", tag, tags[tag][0], tags[tag][1]) + fields[tag]
    out += struct.pack(order + "I", next_ifd)
    out[4:8] = struct.pack(order + "I", start)
    return bytes(out)


def tiff_file(tags: dict, strips: list[bytes], *, tiles: bool = False) -> bytes:
    """A little-endian TIFF of ``tags`` (``{tag: (type, values)}``) and ``strips`` (or tiles),
    their offsets and byte counts filled in."""
    offsets_tag, counts_tag = (324, 325) if tiles else (273, 279)
    tags = {**tags, offsets_tag: (4, [0] * len(strips)), counts_tag: (4, [len(s) for s in strips])}
    packed = {tag: struct.pack("<" + _CODES[kind] * len(v), *v) for tag, (kind, v) in tags.items()}
    ifd_end = 8 + 2 + 12 * len(tags) + 4
    at = ifd_end + sum(len(p) for p in packed.values() if len(p) > 4)
    offsets = []
    for strip in strips:
        offsets.append(at)
        at += len(strip)
    packed[offsets_tag] = struct.pack(f"<{len(offsets)}I", *offsets)
    ifd, extra = struct.pack("<H", len(tags)), b""
    for tag in sorted(tags):
        value = packed[tag]
        field = struct.pack("<I", ifd_end + len(extra)) if len(value) > 4 else value.ljust(4, b"\x00")
        extra += value if len(value) > 4 else b""
        ifd += struct.pack("<HHI", tag, tags[tag][0], len(tags[tag][1])) + field
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0) + extra + b"".join(strips)


def _gray_tiff_tags(bits: int, samples: int = 1, photometric: int = 1) -> dict:
    return {
        256: (4, [WIDTH]),
        257: (4, [HEIGHT]),
        258: (3, [bits] * samples),
        259: (3, [1]),
        262: (3, [photometric]),
        277: (3, [samples]),
        278: (4, [HEIGHT]),
    }


def _tile_tags(width: int, height: int) -> dict:
    tags = {**_gray_tiff_tags(8), 322: (3, [width]), 323: (3, [height])}
    del tags[278]
    return tags


def bmp_file(width, height, bits, body, *, compression=0, palette=b"", colours=None, header=40, offset=None):
    """A BMP of a ``header``-byte DIB header (12 or 40), ``palette`` and ``body``."""
    if header == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
    else:
        count = len(palette) // 4 if colours is None else colours
        info = struct.pack(
            "<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(body), 2835, 2835, count, 0
        )
    start = 14 + len(info) + len(palette)
    start = start if offset is None else offset
    total = 14 + len(info) + len(palette) + len(body)
    return b"BM" + struct.pack("<IHHI", total, 0, 0, start) + info + palette + body


def riff(chunks: bytes) -> bytes:
    """A WebP file of ``chunks`` (each ``tag + size + body``, padded)."""
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def _chunk(tag: bytes, body: bytes) -> bytes:
    return tag + struct.pack("<I", len(body)) + body + b"\x00" * (len(body) & 1)


def _vp8x(flags: int, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    size = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return _chunk(b"VP8X", bytes((flags, 0, 0, 0)) + size)


def _gray_rows(values: np.ndarray) -> bytes:
    """8-bit rows bottom-up, each padded to 4 bytes."""
    stride = -(-values.shape[1] // 4) * 4
    return b"".join(bytes(row).ljust(stride, b"\x00") for row in values[::-1])


def _gray_palette(count: int) -> bytes:
    return b"".join(bytes((level, level, level, 0)) for level in np.linspace(0, 255, count).astype(int))


def _tiffs(rgb: Image.Image) -> dict[str, bytes]:
    base = _save(rgb, "TIFF")
    size = len(base)
    strips = _save(rgb, "TIFF", compression="tiff_lzw", strip_size=1024)
    multipage = _save(rgb, "TIFF", save_all=True, append_images=[rgb.convert("L").convert("RGB")])
    palette = _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "TIFF")
    second = struct.unpack_from("<I", multipage, 8 + 2 + 12 * 10)[0]
    gray = np.asarray(rgb.convert("L"))
    files = {
        "tiff/ifd_outside": _patch(base, 4, struct.pack("<I", size + 1000)),
        "tiff/ifd_zero": _patch(base, 4, struct.pack("<I", 0)),
        "tiff/ifd_at_last_byte": _patch(base, 4, struct.pack("<I", size - 1)),
        "tiff/ifd_entries_65535": retag_tiff(base, entries=0xFFFF),
        "tiff/ifd_no_entries": retag_tiff(base, entries=0),
        "tiff/bits_outside": retag_tiff(base, raw={258: (3, 3, struct.pack("<I", size + 5000))}),
        "tiff/bits_65535_values": retag_tiff(base, raw={258: (3, 65535, struct.pack("<I", 8))}),
        "tiff/bits_as_long": retag_tiff(base, raw={258: (4, 3, struct.pack("<I", 8))}),
        "tiff/sample_format_65535_values": retag_tiff(base, raw={339: (3, 65535, struct.pack("<I", 8))}),
        "tiff/samples_65535": retag_tiff(base, {277: (3, [65535])}),
        "tiff/samples_0": retag_tiff(base, {277: (3, [0])}),
        "tiff/samples_missing": retag_tiff(base, {277: None}),
        "tiff/bits_missing": retag_tiff(base, {258: None}),
        "tiff/photometric_missing": retag_tiff(base, {262: None}),
        "tiff/width_zero": retag_tiff(base, {256: (4, [0])}),
        "tiff/height_zero": retag_tiff(base, {257: (4, [0])}),
        "tiff/width_two_values": retag_tiff(base, {256: (4, [WIDTH, WIDTH])}),
        "tiff/width_doubled": retag_tiff(base, {256: (4, [2 * WIDTH])}),
        "tiff/size_60000": retag_tiff(base, {256: (4, [60000]), 257: (4, [60000])}),
        "tiff/rows_per_strip_zero": retag_tiff(base, {278: (4, [0])}),
        "tiff/strip_outside": retag_tiff(base, {273: (4, [size + 9000])}),
        "tiff/strip_past_the_end": retag_tiff(base, {279: (4, [size * 10])}),
        "tiff/strip_offsets_missing": retag_tiff(base, {273: None}),
        "tiff/strip_counts_missing_lzw": retag_tiff(strips, {279: None}),
        "tiff/strip_count_zero_lzw": retag_tiff(strips, {279: (4, [0] * 16)}),
        "tiff/fewer_strip_offsets": retag_tiff(strips, {273: (4, [8, 8])}),
        "tiff/strip_offsets_array_outside": retag_tiff(strips, raw={273: (4, 16, struct.pack("<I", 10**7))}),
        "tiff/next_ifd_outside": _patch(base, 8 + 2 + 12 * 10, struct.pack("<I", size + 100)),
        "tiff/ifd_loop": _patch(base, 8 + 2 + 12 * 10, struct.pack("<I", 8)),
        "tiff/page2_entries_65535": _patch(multipage, second, struct.pack("<H", 0xFFFF)),
        "tiff/page2_outside": _patch(multipage, 8 + 2 + 12 * 10, struct.pack("<I", len(multipage) + 8)),
        "tiff/colormap_outside": retag_tiff(palette, raw={320: (3, 768, struct.pack("<I", 10**7))}),
        "tiff/colormap_short": retag_tiff(palette, {320: (3, [0] * 30)}),
        "tiff/colormap_missing": retag_tiff(palette, {320: None}),
        "tiff/tiles_and_strips": retag_tiff(base, {322: (3, [16]), 323: (3, [16])}),
        "tiff/tile_width_20": tiff_file(_tile_tags(20, 16), [bytes(320)] * 6, tiles=True),
        "tiff/compression_12345": retag_tiff(base, {259: (3, [12345])}),
        "tiff/old_jpeg": retag_tiff(_save(rgb, "TIFF", compression="jpeg"), {259: (3, [6])}),
        "tiff/jpeg_16_bit": retag_tiff(_save(rgb, "TIFF", compression="jpeg"), {258: (3, [16] * 3)}),
        "tiff/gray_2_bit": tiff_file(_gray_tiff_tags(2), [bytes(WIDTH // 4 * HEIGHT)]),
        "tiff/gray_12_bit": tiff_file(_gray_tiff_tags(12), [bytes(WIDTH * 3 // 2 * HEIGHT)]),
        "tiff/gray_alpha": _save(rgb.convert("LA"), "TIFF"),
        "tiff/signed_8_bit": retag_tiff(_save(rgb.convert("L"), "TIFF"), {339: (3, [2])}),
        "tiff/int32": _save(rgb.convert("I"), "TIFF"),
        "tiff/float16": tiff_file(
            {**_gray_tiff_tags(16), 339: (3, [3])}, [(gray / 255).astype("<f2").tobytes()]
        ),
        "tiff/cielab": _save(rgb.convert("LAB"), "TIFF"),
        "tiff/mask": retag_tiff(_save(rgb.convert("L"), "TIFF"), {262: (3, [4])}),
        "tiff/cmyk_16_bit": tiff_file(_gray_tiff_tags(16, 4, 5), [bytes(WIDTH * HEIGHT * 8)]),
        "tiff/premultiplied_alpha": retag_tiff(_save(_with_alpha(rgb), "TIFF"), {338: (3, [1])}),
        "tiff/ycbcr_subsampled": retag_tiff(_save(rgb.convert("YCbCr"), "TIFF"), {530: None}),
        "tiff/predictor_float": retag_tiff(_save(rgb, "TIFF", compression="tiff_lzw"), {317: (3, [3])}),
        "tiff/planar_16_bit": tiff_bytes(np.asarray(rgb).astype(np.uint16) * 257, planar=2),
        "tiff/unknown_tag_outside": retag_tiff(base, raw={40000: (7, 100, struct.pack("<I", 10**7))}),
        "tiff/trailing_bytes": base + bytes(512),
        "tiff/lzw_truncated": strips[: len(strips) // 2],
    }
    files.update(_cuts(base, "tiff/truncated_at", (4, 8, 20, 100, 139, size // 2, size - 1)))
    for seed in range(4):
        files[f"tiff/ifd_flipped_{seed}"] = _flips(base, 8, 8 + 2 + 12 * 10, seed)
    return files


def _with_alpha(rgb: Image.Image) -> Image.Image:
    rgba = rgb.copy()
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    rgba.putalpha(Image.fromarray((255 * (x + y) / (WIDTH + HEIGHT)).astype(np.uint8)))
    return rgba


def _bmps(rgb: Image.Image) -> dict[str, bytes]:
    base = _save(rgb, "BMP")
    size = len(base)
    gray = np.asarray(rgb.convert("L"))
    rle = bmp_bytes(np.asarray(rgb), compression=1)
    pal = _gray_palette(256)
    row = lambda values: b"".join(bytes((1, v)) for v in values) + b"\x00\x00"  # noqa: E731
    rle8 = lambda body: bmp_file(WIDTH, HEIGHT, 8, body, compression=1, palette=pal)  # noqa: E731
    full_row = row([7] * WIDTH)
    files = {
        "bmp/offset_outside": _patch(base, 10, struct.pack("<I", size + 100)),
        "bmp/offset_zero": _patch(base, 10, struct.pack("<I", 0)),
        "bmp/header_size_20": _patch(base, 14, struct.pack("<I", 20)),
        "bmp/header_size_huge": _patch(base, 14, struct.pack("<I", 0xFFFFFFF0)),
        "bmp/header_size_200": _patch(base, 14, struct.pack("<I", 200)),
        "bmp/width_zero": _patch(base, 18, struct.pack("<i", 0)),
        "bmp/height_zero": _patch(base, 22, struct.pack("<i", 0)),
        "bmp/width_negative": _patch(base, 18, struct.pack("<i", -WIDTH)),
        "bmp/width_2147483647": _patch(base, 18, struct.pack("<i", 0x7FFFFFFF)),
        "bmp/height_min_int": _patch(base, 22, struct.pack("<i", -(2**31))),
        "bmp/size_60000": _patch(base, 18, struct.pack("<ii", 60000, 60000)),
        "bmp/bits_0": _patch(base, 28, struct.pack("<H", 0)),
        "bmp/bits_7": _patch(base, 28, struct.pack("<H", 7)),
        "bmp/bits_64": _patch(base, 28, struct.pack("<H", 64)),
        "bmp/compression_99": _patch(base, 30, struct.pack("<I", 99)),
        "bmp/rle8_with_24_bits": _patch(base, 30, struct.pack("<I", 1)),
        "bmp/jpeg_inside": bmp_file(WIDTH, HEIGHT, 0, _save(rgb, "JPEG"), compression=4),
        "bmp/png_inside": bmp_file(WIDTH, HEIGHT, 0, _save(rgb, "PNG"), compression=5),
        "bmp/rle4": bmp_file(
            WIDTH, HEIGHT, 4, row([0x77] * WIDTH) * HEIGHT + b"\x00\x01", compression=2, palette=pal[:64]
        ),
        "bmp/16_bit_without_bitfields": bmp_file(WIDTH, HEIGHT, 16, bytes(2 * WIDTH * HEIGHT)),
        "bmp/2_bit": bmp_file(WIDTH, HEIGHT, 2, bytes(WIDTH // 4 * HEIGHT), palette=_gray_palette(4)),
        "bmp/bitfields_odd_masks": bmp_bytes(
            np.asarray(rgb), compression=3, masks=(0xFF, 0xFF00, 0xFF0000), bits=32
        ),
        "bmp/bitfields_8_bit": _patch(_save(rgb.convert("L"), "BMP"), 30, struct.pack("<I", 3)),
        "bmp/palette_300_colours": _patch(_save(rgb.convert("L"), "BMP"), 46, struct.pack("<I", 300)),
        "bmp/palette_missing": bmp_file(WIDTH, HEIGHT, 8, _gray_rows(gray), colours=0),
        "bmp/palette_index_past_palette": bmp_file(
            WIDTH, HEIGHT, 8, _gray_rows(gray), palette=pal[:8], colours=0
        ),
        "bmp/black_white_palette_8_bit": bmp_file(
            WIDTH, HEIGHT, 8, _gray_rows(gray // 128), palette=b"\x00\x00\x00\x00\xff\xff\xff\x00"
        ),
        "bmp/one_colour_palette_1_bit": bmp_file(
            WIDTH,
            HEIGHT,
            1,
            b"\xff\xff\xff\xff\xff\xff\x00\x00" * HEIGHT,
            palette=b"\x00\x00\xff\x00",
            colours=1,
        ),
        "bmp/rle8_run_past_row": rle8((bytes((255, 7)) + b"\x00\x00") * HEIGHT + b"\x00\x01"),
        "bmp/rle8_absolute_past_row": rle8((b"\x00\xff" + bytes(256) + b"\x00\x00") * HEIGHT + b"\x00\x01"),
        "bmp/rle8_absolute_past_the_end": rle8(full_row + b"\x00\xff" + bytes(20)),
        "bmp/rle8_truncated": rle[: len(rle) // 2],
        "bmp/rle8_no_end": rle8(full_row * (HEIGHT // 2)),
        "bmp/rle8_garbage": rle8(np.random.default_rng(1).bytes(3000)),
        "bmp/rle8_extra_rows": rle8(full_row * (HEIGHT * 2) + b"\x00\x01"),
        "bmp/file_size_field_wrong": _patch(base, 2, struct.pack("<I", 5)),
    }
    files.update(_cuts(base, "bmp/truncated_at", (17, 20, 30, 53, 54, 60, size // 2, size - 1)))
    for seed in range(4):
        files[f"bmp/header_flipped_{seed}"] = _flips(base, 14, 54, seed, count=3)
    for seed in range(2):
        files[f"bmp/rle8_flipped_{seed}"] = _flips(rle, 1078, len(rle), seed, count=30)
    return files


def _webps(rgb: Image.Image) -> dict[str, bytes]:
    lossy = _save(rgb, "WEBP", quality=90)
    lossless = _save(rgb, "WEBP", lossless=True)
    size, image = len(lossy), lossy[12:]
    standard = exif_block(6, prefix=False)
    odd_first = image if len(image) & 1 else _chunk(b"ICCP", b"x" * 7) + image
    files = {
        "webp/riff_size_past_the_end": _patch(lossy, 4, struct.pack("<I", 2 * size)),
        "webp/riff_size_small": _patch(lossy, 4, struct.pack("<I", 100)),
        "webp/vp8_sync_code": _patch(lossy, 23, b"\x00\x00\x00"),
        "webp/vp8_size_zero": _patch(lossy, 26, bytes(4)),
        "webp/vp8l_signature": _patch(lossless, 20, b"\x00"),
        "webp/first_chunk_unknown": _patch(lossy, 12, b"ABCD"),
        "webp/chunk_size_huge": _patch(lossy, 16, struct.pack("<I", 0x7FFFFFFF)),
        "webp/chunk_size_small": _patch(lossy, 16, struct.pack("<I", 10)),
        "webp/vp8x_chunk_size_4": riff(b"VP8X" + struct.pack("<I", 4) + bytes(4) + image),
        "webp/vp8x_canvas_mismatch": riff(_vp8x(0, 2 * WIDTH, HEIGHT) + image),
        "webp/vp8x_without_image": riff(_vp8x(0)),
        "webp/exif_flag_without_chunk": riff(_vp8x(0x08) + image),
        "webp/odd_chunk_before_exif": riff(_vp8x(0x28) + odd_first + _chunk(b"EXIF", standard)),
        "webp/exif3_prefixed": riff(_vp8x(0x08) + image + _chunk(b"EXIF", exif_block(3))),
        "webp/exif6_long_big_endian": riff(
            _vp8x(0x08) + image + _chunk(b"EXIF", exif_block(6, kind=4, order=">", prefix=False))
        ),
        "webp/animation_without_frames": riff(_vp8x(0x02) + image),
        "webp/trailing_bytes": lossy + bytes(100),
        "webp/unknown_chunk": riff(_vp8x(0) + _chunk(b"ABCD", b"12345") + image),
    }
    files.update(_cuts(lossy, "webp/truncated_at", (11, 16, 20, 30, 40, size // 2, size - 1)))
    files.update(_cuts(lossless, "webp/lossless_truncated_at", (25, len(lossless) // 2)))
    for seed in range(4):
        files[f"webp/header_flipped_{seed}"] = _flips(lossy, 12, 30, seed, count=2)
    return files


def _pnms(rgb: Image.Image) -> dict[str, bytes]:
    ppm = _save(rgb, "PPM")
    raw, size = np.asarray(rgb).tobytes(), len(ppm)
    head = b"%d %d\n" % (WIDTH, HEIGHT)
    bits = [b"1" if v > 127 else b"0" for v in np.asarray(rgb.convert("L")).ravel()]
    files = {
        "pnm/p7": b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n" % (WIDTH, HEIGHT)
        + raw,
        "pnm/no_space_after_magic": b"P6#c\n" + head + b"255\n" + raw,
        "pnm/width_overflow": b"P6\n99999999999 2\n255\n" + raw,
        "pnm/width_zero": b"P6\n0 %d\n255\n" % HEIGHT + raw,
        "pnm/width_negative": b"P6\n-%d %d\n255\n" % (WIDTH, HEIGHT) + raw,
        "pnm/letters_for_width": b"P6\nabc def\n255\n" + raw,
        "pnm/maxval_zero": b"P6\n" + head + b"0\n" + raw,
        "pnm/maxval_4095": b"P6\n" + head + b"4095\n" + raw * 2,
        "pnm/maxval_1": b"P5\n" + head + b"1\n" + bytes(np.asarray(rgb.convert("L")) > 127),
        "pnm/maxval_15": b"P5\n" + head + b"15\n" + bytes(WIDTH * HEIGHT),
        "pnm/maxval_70000": b"P6\n" + head + b"70000\n" + raw * 2,
        "pnm/maxval_missing": b"P6\n" + head + raw,
        "pnm/comment_glued_to_width": b"P6\n4#c\n8 %d\n255\n" % HEIGHT + raw,
        "pnm/width_one_more": b"P6\n%d %d\n255\n" % (WIDTH + 1, HEIGHT) + raw,
        "pnm/size_60000": b"P6\n60000 60000\n255\n" + raw,
        "pnm/ascii_gray": b"P2\n" + head + b"255\n" + b" ".join(b"%d" % v for v in raw[::3]),
        "pnm/ascii_pixmap": b"P3\n" + head + b"255\n" + b" ".join(b"%d" % v for v in raw),
        "pnm/p1_packed": b"P1\n" + head + b"".join(bits),
        "pnm/p1_truncated": b"P1\n" + head + b" ".join(bits[:-10]),
        "pnm/p1_letters": b"P1\n" + head + b" ".join(bits[:50]) + b" x " + b" ".join(bits[50:]),
        "pnm/trailing_bytes": ppm + bytes(100),
        "pnm/comments_everywhere": b"P6\n# a\n%d # b\n %d\n# c\n255\n" % (WIDTH, HEIGHT) + raw,
    }
    files.update(_cuts(ppm, "pnm/truncated_at", (3, 8, 12, 14, 40, size // 2, size - 1)))
    for seed in range(4):
        files[f"pnm/header_flipped_{seed}"] = _flips(ppm, 0, 14, seed, count=2)
    return files


def _pngs(rgb: Image.Image) -> dict[str, bytes]:
    png = _save(rgb, "PNG")
    size = len(png)
    idat = png.find(b"IDAT") - 4
    files = {
        "png/ihdr_width_zero": _patch(png, 16, bytes(4)),
        "png/ihdr_depth_7": _patch(png, 24, b"\x07"),
        "png/first_chunk_not_ihdr": _patch(png, 12, b"IHDX"),
        "png/chunk_length_huge": _patch(png, idat, struct.pack(">I", 0x7FFFFFF0)),
        "png/no_iend": png[:-12],
        "png/cut_with_iend": png[: size // 2] + png[-12:],
        "png/exif6_prefixed": png[:idat] + png_chunk(b"eXIf", exif_block(6)) + png[idat:],
    }
    # not at size - 1: a file cut inside its IEND chunk's CRC passes png_problem, and DALI fails on it
    files.update(_cuts(png, "png/truncated_at", (8, 20, 33, 40, size // 2, size - 12)))
    return files


def _jpegs(rgb: Image.Image) -> dict[str, bytes]:
    jpeg = _save(rgb, "JPEG", quality=90)
    size = len(jpeg)
    files = {f"jpeg/{name}": make() for name, make in HEADER_DAMAGE.items()}
    files["jpeg/trailing_bytes"] = jpeg + bytes(100)
    files.update(_cuts(jpeg, "jpeg/truncated_at", (3, 20, 100, 300, size // 2)))
    for seed in range(4):
        files[f"jpeg/header_flipped_{seed}"] = _flips(jpeg, 2, 160, seed, count=3)
    return files


def broken_images() -> dict[str, bytes]:
    """Every broken and odd file, as ``{"<format>/<what is wrong>": bytes}``."""
    rgb = Image.fromarray(make_image(HEIGHT, WIDTH, seed=11))
    files = {}
    for make in (_tiffs, _bmps, _webps, _pnms, _pngs, _jpegs):
        files.update(make(rgb))
    return files


def sound_images() -> dict[str, bytes]:
    """Valid files in modes DALI decodes right that the checks must pass, as ``{name: bytes}``."""
    rgb = Image.fromarray(make_image(HEIGHT, WIDTH, seed=12))
    pixels, gray = np.asarray(rgb), np.asarray(rgb.convert("L"))
    bits = [b"1" if v > 127 else b"0" for v in gray.ravel()]
    tiles = [np.zeros((16, 16, 3), np.uint8) for _ in range(6)]
    for k, tile in enumerate(tiles):
        y, x = 16 * (k // 3), 16 * (k % 3)
        tile[:] = pixels[y : y + 16, x : x + 16]
    tiled = {**_tile_tags(16, 16), 258: (3, [8] * 3), 262: (3, [2]), 277: (3, [3])}
    lossy = _save(rgb, "WEBP", quality=90)
    files = {
        "tiff/lzma": _save(rgb, "TIFF", compression="tiff_lzma"),
        "tiff/zstd": _save(rgb, "TIFF", compression="tiff_zstd"),
        "tiff/webp": _save(rgb, "TIFF", compression="tiff_webp"),
        "tiff/group4": _save(rgb.convert("1"), "TIFF", compression="group4"),
        "tiff/lzw_predictor": _save(rgb, "TIFF", compression="tiff_lzw", tiffinfo={317: 2}),
        "tiff/lzw_strips": _save(rgb, "TIFF", compression="tiff_lzw", strip_size=1024),
        "tiff/ycbcr": _save(rgb.convert("YCbCr"), "TIFF"),
        "tiff/1_bit_with_bits_tag": retag_tiff(_save(rgb.convert("1"), "TIFF"), {258: (3, [1])}),
        "tiff/white_is_zero": retag_tiff(_save(rgb.convert("L"), "TIFF"), {262: (3, [0])}),
        "tiff/tiled": tiff_file(tiled, [tile.tobytes() for tile in tiles], tiles=True),
        "tiff/orientation_3": tiff_bytes(pixels, orientation=3),
        "tiff/orientation_8": tiff_bytes(pixels, orientation=8),
        "tiff/big_endian_16_bit": tiff_bytes(pixels.astype(np.uint16) * 257, order=">"),
        "tiff/one_bits_value_for_rgb": retag_tiff(_save(rgb, "TIFF"), {258: (3, [8])}),
        "bmp/core_header": bmp_file(WIDTH, HEIGHT, 24, _save(rgb, "BMP")[54:], header=12),
        "bmp/top_down": _top_down_bmp(pixels),
        "bmp/bitfields_555": bmp_bytes(pixels, compression=3, masks=(0x7C00, 0x03E0, 0x001F), bits=16),
        "bmp/palette_of_16_colours": bmp_file(
            WIDTH, HEIGHT, 8, _gray_rows(gray // 16), palette=_gray_palette(16)
        ),
        "bmp/palette_4_bit": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "BMP"),
        "webp/lossy_alpha": _save(_with_alpha(rgb), "WEBP", quality=90),
        "webp/extended_plain": riff(_vp8x(0) + lossy[12:]),
        "webp/exif3_standard": _save(rgb, "WEBP", quality=90, exif=exif_block(3, prefix=False)),
        "webp/exif8_standard": _save(rgb, "WEBP", quality=90, exif=exif_block(8, prefix=False)),
        "webp/exif6_long_little_endian": _save(
            rgb, "WEBP", quality=90, exif=exif_block(6, kind=4, prefix=False)
        ),
        "pnm/p1_with_spaces": b"P1\n%d %d\n" % (WIDTH, HEIGHT) + b" ".join(bits),
        "pnm/ppm_16_bit": b"P6\n%d %d\n65535\n" % (WIDTH, HEIGHT) + (pixels.astype(">u2") * 257).tobytes(),
    }
    return files


def _top_down_bmp(pixels: np.ndarray) -> bytes:
    data = bmp_bytes(pixels[::-1])
    return _patch(data, 22, struct.pack("<i", -HEIGHT))
