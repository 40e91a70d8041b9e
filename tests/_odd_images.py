"""Valid images of every format and mode the loader may meet, generated with PIL and by hand.

:func:`odd_images` returns ``{name: bytes}``: JPEG, PNG, BMP, TIFF, WebP and PNM files in the
modes real datasets carry (16-bit, alpha, palette, 1-bit, planar, CMYK), and the EXIF layouts
that decoders read differently (an Exif segment after the frame header, two of them, the
orientation stored as LONG, a PNG ``eXIf`` chunk after IDAT). :func:`reference_rgb` is what each
file means: PIL's decode with the EXIF orientation applied, as RGB.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from _images import make_image
from PIL import Image, ImageOps

__all__ = ["HEIGHT", "WIDTH", "REFUSED", "odd_images", "reference_rgb", "exif_block", "png_chunk"]

HEIGHT, WIDTH = 48, 96  # not square, so that a quarter turn shows in the size
# the files of odd_images() in a mode DALI decodes differently from its meaning, and how the
# loader's check refuses each (docs/faults.md, "Formats")
REFUSED = {
    "jpeg/exif_1_then_6": "unsupported JPEG mode (2 Exif segments with different orientations",
    "jpeg/exif_6_then_1": "unsupported JPEG mode (2 Exif segments with different orientations",
    "jpeg/lossless": "unsupported JPEG mode (lossless",
    "png/exif6_prefixed": "unsupported PNG mode (an eXIf chunk with an 'Exif\\0\\0' prefix",
    "webp/exif6": "unsupported WebP mode",
    "tiff/planar16": "unsupported TIFF mode",
    "tiff/float": "unsupported TIFF mode",
    "tiff/bilevel": "unsupported TIFF mode",
    "bmp/bitfields_odd": "unsupported BMP mode",
    "pnm/ppm_ascii": "unsupported PNM mode",
    "pnm/pgm_ascii": "unsupported PNM mode",
}


def _rgb(seed: int = 3) -> np.ndarray:
    return make_image(HEIGHT, WIDTH, seed=seed)


def _alpha() -> np.ndarray:
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return (255 * (x + y) / (WIDTH + HEIGHT)).astype(np.uint8)


def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def exif_block(orientation: int, *, kind: int = 3, order: str = "<", prefix: bool = True) -> bytes:
    """A TIFF-structured EXIF block with one orientation tag (SHORT, ``kind=3``, or LONG, 4)."""
    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    value = struct.pack(order + "HH", orientation, 0) if kind == 3 else struct.pack(order + "I", orientation)
    entry = struct.pack(order + "HHI", 274, kind, 1) + value
    body = head + struct.pack(order + "H", 1) + entry + struct.pack(order + "I", 0)
    return (b"Exif\x00\x00" if prefix else b"") + body


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body and CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_raw(pixels: np.ndarray, colour: int, depth: int) -> bytes:
    """A PNG written by hand (PIL cannot write 16-bit RGB or RGBA)."""
    height, width = pixels.shape[:2]
    raw = pixels.astype(">u2").tobytes() if depth == 16 else pixels.astype(np.uint8).tobytes()
    stride = len(raw) // height
    rows = b"".join(b"\x00" + raw[r * stride : (r + 1) * stride] for r in range(height))
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows))
    return b"\x89PNG\r\n\x1a\n" + chunks + png_chunk(b"IEND", b"")


def _png_with(data: bytes, chunk: bytes, *, after: bytes) -> bytes:
    at = data.find(after) - 4
    if after == b"IDAT":
        at += 12 + int.from_bytes(data[at : at + 4], "big")
    return data[:at] + chunk + data[at:]


def _jpeg_with_app1(data: bytes, segments, *, after_frame: bool = False) -> bytes:
    app1 = b"".join(b"\xff\xe1" + struct.pack(">H", len(s) + 2) + s for s in segments)
    if not after_frame:
        return data[:2] + app1 + data[2:]
    sof = data.find(b"\xff\xc0")
    end = sof + 2 + int.from_bytes(data[sof + 2 : sof + 4], "big")
    return data[:end] + app1 + data[end:]


def _webp_with_exif(data: bytes, exif: bytes) -> bytes:
    """A VP8X WebP of ``data`` (a simple lossy WebP) with an EXIF chunk after the image."""
    image = data[12:]
    flags = bytes([0x08, 0, 0, 0])
    size = (WIDTH - 1).to_bytes(3, "little") + (HEIGHT - 1).to_bytes(3, "little")
    chunks = b"VP8X" + struct.pack("<I", 10) + flags + size + image
    chunks += b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\x00" if len(exif) & 1 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def tiff_bytes(
    pixels: np.ndarray, *, planar: int = 1, orientation: int | None = None, order: str = "<"
) -> bytes:
    """An uncompressed TIFF (one strip per plane) written by hand (PIL cannot write planar TIFFs).

    ``pixels`` is (H, W) or (H, W, C) uint8 or uint16; ``planar=2`` stores one plane per channel.
    """
    pixels = pixels if pixels.ndim == 3 else pixels[..., None]
    height, width, channels = pixels.shape
    dtype = np.dtype(order + ("u2" if pixels.dtype == np.uint16 else "u1"))
    planes = [pixels[..., c] for c in range(channels)] if planar == 2 else [pixels]
    strips = [plane.astype(dtype).tobytes() for plane in planes]
    tags = {
        256: (4, [width]),
        257: (4, [height]),
        258: (3, [8 * dtype.itemsize] * channels),
        259: (3, [1]),
        262: (3, [2 if channels >= 3 else 1]),
        273: (4, [0] * len(strips)),
        277: (3, [channels]),
        278: (4, [height]),
        279: (4, [len(strip) for strip in strips]),
        284: (3, [planar]),
    }
    if orientation is not None:
        tags[274] = (3, [orientation])
    ifd_end = 8 + 2 + 12 * len(tags) + 4
    extra_size = sum(
        len(v) * (2 if k == 3 else 4) for k, v in tags.values() if len(v) * (2 if k == 3 else 4) > 4
    )
    data_at = ifd_end + extra_size
    offsets, at = [], data_at
    for strip in strips:
        offsets.append(at)
        at += len(strip)
    tags[273] = (4, offsets)
    ifd, extra = struct.pack(order + "H", len(tags)), b""
    for tag in sorted(tags):
        kind, values = tags[tag]
        packed = struct.pack(order + ("H" if kind == 3 else "I") * len(values), *values)
        if len(packed) > 4:
            field = struct.pack(order + "I", ifd_end + len(extra))
            extra += packed
        else:
            field = packed.ljust(4, b"\x00")
        ifd += struct.pack(order + "HHI", tag, kind, len(values)) + field
    ifd += struct.pack(order + "I", 0)
    head = (b"II*\x00" if order == "<" else b"MM\x00*") + struct.pack(order + "I", 8)
    return head + ifd + extra + b"".join(strips)


def bmp_bytes(pixels: np.ndarray, *, compression: int = 0, masks=None, bits: int = 24) -> bytes:
    """A BMP written by hand: BI_RGB (24-bit), BI_RLE8 (``compression=1``, 8-bit palette of
    gray levels) or BI_BITFIELDS (``compression=3`` with ``masks`` (r, g, b) at 16 or 32 bits)."""
    height, width = pixels.shape[:2]
    palette = b""
    if compression == 1:
        bits, gray = 8, pixels.mean(axis=2).astype(np.uint8) if pixels.ndim == 3 else pixels
        palette = b"".join(bytes((v, v, v, 0)) for v in range(256))
        body = bytearray()
        for row in gray[::-1]:
            for value in row:
                body += bytes((1, int(value)))
            body += b"\x00\x00"
        body += b"\x00\x01"
        body = bytes(body)
    elif compression == 3:
        r, g, b = (np.uint32(m) for m in masks)
        words = np.zeros((height, width), dtype=np.uint32)
        for channel, mask in enumerate((r, g, b)):
            shift = (int(mask) & -int(mask)).bit_length() - 1
            top = int(mask) >> shift
            words |= ((pixels[..., channel].astype(np.uint32) * top // 255) << shift) & mask
        dtype = "<u2" if bits == 16 else "<u4"
        rows = [row.astype(dtype).tobytes() for row in words[::-1]]
        stride = -(-len(rows[0]) // 4) * 4
        body = b"".join(row.ljust(stride, b"\x00") for row in rows)
        palette = struct.pack("<III", *masks)
    else:
        rows = [row[:, ::-1].tobytes() for row in pixels[::-1]]
        stride = -(-len(rows[0]) // 4) * 4
        body = b"".join(row.ljust(stride, b"\x00") for row in rows)
    colours = 256 if compression == 1 else 0
    info = struct.pack(
        "<IiiHHIIiiII", 40, width, height, 1, bits, compression, len(body), 2835, 2835, colours, 0
    )
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(body), 0, 0, offset) + info + palette + body


def odd_images() -> dict[str, bytes]:
    """Every format and mode of the trial, as ``{name: bytes}`` (names say format and mode)."""
    rgb, alpha = Image.fromarray(_rgb()), Image.fromarray(_alpha())
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    gray = rgb.convert("L")
    gray16 = np.asarray(gray).astype(np.uint16) * 257
    jpeg = _save(rgb, "JPEG", quality=95)
    files = {
        "jpeg/rgb": jpeg,
        "jpeg/gray": _save(gray, "JPEG", quality=95),
        "jpeg/cmyk": _save(rgb.convert("CMYK"), "JPEG", quality=95),
        "jpeg/progressive": _save(rgb, "JPEG", quality=95, progressive=True),
        "jpeg/exif6": _save(rgb, "JPEG", quality=95, exif=exif_block(6)),
        "jpeg/exif6_after_frame": _jpeg_with_app1(jpeg, [exif_block(6)], after_frame=True),
        "jpeg/exif6_long": _jpeg_with_app1(jpeg, [exif_block(6, kind=4)]),
        "jpeg/exif6_big_endian": _jpeg_with_app1(jpeg, [exif_block(6, order=">")]),
        "jpeg/exif_1_then_6": _jpeg_with_app1(jpeg, [exif_block(1), exif_block(6)]),
        "jpeg/exif_6_then_1": _jpeg_with_app1(jpeg, [exif_block(6), exif_block(1)]),
        "jpeg/trailer_4k": jpeg + bytes(4096),
        "jpeg/lossless": lossless_jpeg(np.asarray(gray)),
        "png/rgb": _save(rgb, "PNG"),
        "png/gray": _save(gray, "PNG"),
        "png/palette": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
        "png/palette_4bit": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG", bits=4),
        "png/bilevel": _save(rgb.convert("1"), "PNG"),
        "png/rgba": _save(rgba, "PNG"),
        "png/gray_alpha": _save(rgba.convert("LA"), "PNG"),
        "png/gray16": _save(Image.fromarray(gray16), "PNG"),
        "png/rgb16": _png_raw(_rgb().astype(np.uint16) * 257, 2, 16),
        "png/rgba16": _png_raw(np.dstack([_rgb(), _alpha()]).astype(np.uint16) * 257, 6, 16),
        "png/animated": _save(rgb, "PNG", save_all=True, append_images=[gray.convert("RGB")]),
        "webp/animated": _save(
            rgb, "WEBP", save_all=True, append_images=[gray.convert("RGB")], lossless=True
        ),
        "png/exif6": _png_with(
            _save(rgb, "PNG"), png_chunk(b"eXIf", exif_block(6, prefix=False)), after=b"IDAT"
        ),
        "png/exif6_after_idat": _png_with(
            _save(rgb, "PNG"), png_chunk(b"eXIf", exif_block(6, prefix=False)), after=b"IEND"
        ),
        "png/exif6_prefixed": _png_with(_save(rgb, "PNG"), png_chunk(b"eXIf", exif_block(6)), after=b"IDAT"),
        "bmp/rgb": _save(rgb, "BMP"),
        "bmp/gray": _save(gray, "BMP"),
        "bmp/palette": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "BMP"),
        "bmp/bilevel": _save(rgb.convert("1"), "BMP"),
        "bmp/rgba": _save(rgba, "BMP"),
        "tiff/rgb": _save(rgb, "TIFF"),
        "tiff/rgb_lzw": _save(rgb, "TIFF", compression="tiff_lzw"),
        "tiff/gray": _save(gray, "TIFF"),
        "tiff/rgba": _save(rgba, "TIFF"),
        "tiff/gray16": _save(Image.fromarray(gray16), "TIFF"),
        "tiff/bilevel": _save(rgb.convert("1"), "TIFF"),
        "tiff/multipage": _save(rgb, "TIFF", save_all=True, append_images=[gray.convert("RGB")]),
        "tiff/deflate": _save(rgb, "TIFF", compression="tiff_adobe_deflate"),
        "tiff/packbits": _save(rgb, "TIFF", compression="packbits"),
        "tiff/jpeg": _save(rgb, "TIFF", compression="jpeg"),
        "tiff/palette": _save(rgb.convert("P", palette=Image.Palette.ADAPTIVE), "TIFF"),
        "tiff/cmyk": _save(rgb.convert("CMYK"), "TIFF"),
        "tiff/float": _save(Image.fromarray(np.asarray(gray, dtype=np.float32)), "TIFF"),
        "tiff/planar": tiff_bytes(_rgb(), planar=2),
        "tiff/rgb16": tiff_bytes(_rgb().astype(np.uint16) * 257),
        "tiff/planar16": tiff_bytes(_rgb().astype(np.uint16) * 257, planar=2),
        "tiff/orient6": tiff_bytes(_rgb(), orientation=6),
        "tiff/big_endian": tiff_bytes(_rgb(), order=">"),
        "bmp/rle8": bmp_bytes(_rgb(), compression=1),
        "bmp/bitfields32": bmp_bytes(_rgb(), compression=3, masks=(0xFF0000, 0xFF00, 0xFF), bits=32),
        "bmp/bitfields565": bmp_bytes(_rgb(), compression=3, masks=(0xF800, 0x07E0, 0x001F), bits=16),
        "bmp/bitfields_odd": bmp_bytes(_rgb(), compression=3, masks=(0xFF000000, 0xFF0000, 0xFF00), bits=32),
        "bmp/hand_rgb": bmp_bytes(_rgb()),
        "webp/lossy": _save(rgb, "WEBP", quality=95),
        "webp/lossless": _save(rgb, "WEBP", lossless=True),
        "webp/rgba": _save(rgba, "WEBP", lossless=True),
        "webp/exif6": _webp_with_exif(_save(rgb, "WEBP", quality=95), exif_block(6)),
        "webp/exif6_standard": _save(rgb, "WEBP", quality=95, exif=exif_block(6, prefix=False)),
        "pnm/ppm": _save(rgb, "PPM"),
        "pnm/pgm": _save(gray, "PPM"),
        "pnm/pbm": _save(rgb.convert("1"), "PPM"),
        "pnm/ppm_ascii": b"P3 %d %d 255\n" % (WIDTH, HEIGHT) + " ".join(map(str, _rgb().ravel())).encode(),
        "pnm/pgm_ascii": b"P2 %d %d 255\n" % (WIDTH, HEIGHT)
        + " ".join(map(str, np.asarray(gray).ravel())).encode(),
        "pnm/pgm16": b"P5 %d %d 65535\n" % (WIDTH, HEIGHT) + gray16.astype(">u2").tobytes(),
    }
    return files


def reference_rgb(data: bytes) -> np.ndarray:
    """What a file means: PIL's decode, EXIF orientation applied, 16-bit scaled to 8, as RGB."""
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I"):
            return np.repeat(
                (np.asarray(image, dtype=np.float64) / 257).round().astype(np.uint8)[..., None], 3, -1
            )
        return np.asarray(image.convert("RGB"))


def lossless_jpeg(pixels: np.ndarray, precision: int = 8) -> bytes:
    """A lossless (SOF3) grayscale JPEG written by hand (PIL cannot write one): predictor 1
    (the left neighbour), one Huffman table in which all 17 difference categories have 5-bit codes."""
    height, width = pixels.shape
    values = pixels.astype(np.int64)
    bits, count = [], 0
    for row in range(height):
        for col in range(width):
            if col:
                predicted = values[row, col - 1]
            else:
                predicted = values[row - 1, 0] if row else 1 << (precision - 1)
            diff = int(values[row, col] - predicted)
            size = abs(diff).bit_length()
            bits.append(format(size, "05b"))
            if 0 < size < 16:
                bits.append(format(diff if diff > 0 else diff - 1 + (1 << size), f"0{size}b")[-size:])
            count += 1
    stream = "".join(bits)
    stream += "1" * (-len(stream) % 8)
    scan = bytes(int(stream[i : i + 8], 2) for i in range(0, len(stream), 8)).replace(b"\xff", b"\xff\x00")
    dht = bytes([0x00]) + bytes([0, 0, 0, 0, 17] + [0] * 11) + bytes(range(17))
    sof = struct.pack(">BHHB", precision, height, width, 1) + bytes([1, 0x11, 0])
    sos = bytes([1, 1, 0x00, 1, 0, 0])
    segment = lambda marker, body: b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body  # noqa: E731
    return b"\xff\xd8" + segment(0xC4, dht) + segment(0xC3, sof) + segment(0xDA, sos) + scan + b"\xff\xd9"
