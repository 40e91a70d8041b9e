"""A structural and mode check of a TIFF's first directory, in microseconds: what DALI cannot decode.

DALI 2.4's CPU decoder hands a TIFF to nvImageCodec: its parser reads the first image file
directory (IFD) and walks the chain of all the others, then libtiff (or, when libtiff gives up,
OpenCV) decodes the first page. A parser error (an IFD or a value outside the file, an empty IFD,
a zero size, a BitsPerSample or SampleFormat of the wrong type or with more than 32 values,
a missing tag, a photometric interpretation it does not know, more than one value where one is
due) can crash the process from a batch of 32-64 files on, as in :mod:`sada_dali.data._jpeg`. A
libtiff error after it fails cleanly, and some valid modes decode to wrong pixels: 16-bit or
alpha samples stored planar, float samples (all 255), gray with alpha, CIELab, subsampled
uncompressed YCbCr, premultiplied alpha, 12-bit samples, a short colour map.
:func:`tiff_problem` finds all of them from the first IFD and the chain of IFD offsets; the strip
or tile data is only located (it must lie inside the file), never decompressed.
"""

from __future__ import annotations

import struct
import sys
from array import array
from operator import add

__all__ = ["tiff_problem"]

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8}
_INTEGER = {1: "B", 3: "H", 4: "I"}  # BYTE, SHORT, LONG: the types libtiff reads these tags as
_NAMES = {
    256: "ImageWidth",
    257: "ImageLength",
    258: "BitsPerSample",
    259: "Compression",
    262: "PhotometricInterpretation",
    273: "StripOffsets",
    274: "Orientation",
    277: "SamplesPerPixel",
    278: "RowsPerStrip",
    279: "StripByteCounts",
    284: "PlanarConfiguration",
    317: "Predictor",
    320: "ColorMap",
    322: "TileWidth",
    323: "TileLength",
    324: "TileOffsets",
    325: "TileByteCounts",
    338: "ExtraSamples",
    339: "SampleFormat",
    530: "YCbCrSubSampling",
}
_SINGLE = frozenset((256, 257, 262, 274, 277, 278, 322, 323))  # nvImageCodec's parser: one SHORT or LONG
_MAX_VALUES = 32  # nvImageCodec's parser refuses more BitsPerSample or SampleFormat values
_MAX_IFDS = 1024  # IFDs of the chain checked; a longer chain is rare and its rest is not read
_UNCOMPRESSED = 1
_CCITT = frozenset((2, 3, 4, 32771))  # 1-bit only
_COMPRESSIONS = frozenset((1, 5, 7, 8, 32773, 32946, 34925, 50000, 50001)) | _CCITT
_COMPRESSION_NAMES = {6: "old-style JPEG", 7: "JPEG", 34712: "JPEG 2000", 34887: "LERC", 32809: "ThunderScan"}
_PHOTOMETRIC_NAMES = {
    4: "a transparency mask",
    8: "CIELab",
    9: "ICCLab",
    10: "ITULab",
    32803: "a colour filter array",
    32844: "LogL",
    32845: "LogLuv",
    34892: "linear raw",
}
_GRAY, _RGB, _PALETTE, _CMYK, _YCBCR = (0, 1), 2, 3, 5, 6
_NATIVE = "<" if sys.byteorder == "little" else ">"  # the byte order of array("H") and array("I")
_FIX = "convert it to an 8-bit RGB TIFF or PNG"
_FIX_PLANAR = "convert it to 8-bit or interleaved RGB"


def tiff_problem(data: bytes) -> str | None:
    """``None`` if DALI decodes a TIFF as it means, else what is wrong with it (one phrase).

    Parameters
    ----------
    data : bytes-like
        The whole file, starting with its byte-order mark.

    Returns
    -------
    str or None
        ``"corrupt TIFF (...)"`` or ``"truncated TIFF (...)"`` for damage, ``"unsupported TIFF mode
        (...); <fix>"`` for a valid file DALI cannot decode or decodes wrongly, ``None`` otherwise.

    Notes
    -----
    Checked, in the first IFD: its offset, entry count and entries inside the file; ImageWidth,
    ImageLength, PhotometricInterpretation, SamplesPerPixel, RowsPerStrip and the tile size as
    one SHORT or LONG; a non-zero size; BitsPerSample present (PIL omits it for 1-bit images,
    and nvImageCodec does not default it), as SHORTs, 1 to 32 values and none short of the
    samples, all equal; SampleFormat unsigned integer; a photometric interpretation DALI
    converts (gray, RGB, palette, CMYK, YCbCr) with the samples and bit depths it decodes
    right; a compression libtiff decodes; no floating-point predictor; planar storage only for
    8-bit strips without alpha; no premultiplied alpha; uncompressed YCbCr not subsampled; a
    palette's colour map inside the file with 3 x 2**bits entries; tiles a multiple of 16
    pixels, and not both tiles and strips; one offset and byte count per strip or tile, each
    strip or tile inside the file (an uncompressed one with all the bytes its rows need).
    Then the chain of further IFDs, which nvImageCodec and libtiff read too: each inside the
    file, no loop, and the same parser checks (single values, a non-zero size, at most 32
    samples, BitsPerSample and SampleFormat readable). Values of other tags are never read:
    libtiff ignores the ones that point outside the file.
    """
    data = bytes(data)
    size = len(data)
    if size < 8:
        return f"truncated TIFF ({size} bytes, less than its header)"
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack_from(order + "H", data, 2)[0] != 42:
        return "corrupt TIFF header (no byte-order mark and 42)"
    first = struct.unpack_from(order + "I", data, 4)[0]
    ifd = _Ifd.read(data, order, first, "first IFD")
    if isinstance(ifd, str):
        return ifd
    problem = _image_problem(ifd)
    if problem is not None:
        return problem
    # nvImageCodec's parser and libtiff read every further IFD too: each must parse
    seen, at = {first}, ifd.next_at
    for page in range(2, _MAX_IFDS + 2):
        offset = struct.unpack_from(order + "I", data, at)[0]
        if offset == 0:
            return None
        if offset in seen:
            return f"corrupt TIFF (the chain of IFDs loops back to byte {offset})"
        seen.add(offset)
        ifd = _Ifd.read(data, order, offset, f"IFD of page {page}")
        if isinstance(ifd, str):
            return ifd
        at = ifd.next_at
    return None


class _Ifd:
    """One image file directory: its entries as 16- and 32-bit words, indexed by tag."""

    __slots__ = ("data", "order", "start", "shorts", "longs", "index", "next_at", "fields")

    @classmethod
    def read(cls, data: bytes, order: str, offset: int, which: str):
        """The IFD at ``offset`` with the checks nvImageCodec's parser makes, or the problem.

        ``fields`` maps the single-valued tags of :data:`_SINGLE` to their value (None when
        absent); ``next_at`` is the offset of the next-IFD offset.
        """
        size = len(data)
        if offset < 8 or offset + 2 > size:
            return f"corrupt TIFF (the {which} at byte {offset}, outside the {size}-byte file)"
        count = struct.unpack_from(order + "H", data, offset)[0]
        if count == 0:
            return f"corrupt TIFF (the {which} at byte {offset} has no entries)"
        end = offset + 2 + 12 * count
        if end + 4 > size:
            where = f"past the end of the {size}-byte file"
            return f"truncated TIFF (the {count} entries of the {which} run {where})"
        self = cls()
        entries = data[offset + 2 : end]
        self.data, self.order, self.start, self.next_at = data, order, offset + 2, end
        self.shorts, self.longs = array("H", entries), array("I", entries)
        if order != _NATIVE:
            self.shorts.byteswap()
            self.longs.byteswap()
        index = self.index = {}
        for k, tag in enumerate(self.shorts[::6]):
            if tag in _NAMES and tag not in index:  # libtiff keeps the first of duplicated tags
                index[tag] = k
        fields = self.fields = dict.fromkeys(_SINGLE)
        for tag in _SINGLE.intersection(index):
            k = index[tag]
            kind, number = self.shorts[6 * k + 1], self.longs[3 * k + 1]
            if number != 1 or kind not in (3, 4):
                name = _NAMES[tag]
                return f"corrupt TIFF ({name} tag with {number} values of type {kind}, not one SHORT or LONG)"
            fields[tag] = self.shorts[6 * k + 4] if kind == 3 else self.longs[3 * k + 2]
        width, height = fields[256], fields[257]
        if width is None or height is None:
            return f"corrupt TIFF (no {'ImageWidth' if width is None else 'ImageLength'} tag in the {which})"
        if width == 0 or height == 0:
            return f"corrupt TIFF (an image of {width} x {height} pixels in the {which})"
        if (fields[277] or 1) > _MAX_VALUES:
            return f"corrupt TIFF ({fields[277]} samples per pixel in the {which})"
        for tag in (258, 339):
            if tag in index:
                kind, number = self.kind_count(tag)
                if kind != 3:
                    return f"corrupt TIFF ({_NAMES[tag]} tag of type {kind}, not SHORT)"
                if number == 0 or number > _MAX_VALUES:
                    return f"corrupt TIFF ({_NAMES[tag]} tag with {number} values)"
                values = self.values(tag)
                if isinstance(values, str):
                    return values
        return self

    def __contains__(self, tag: int) -> bool:
        return tag in self.index

    def kind_count(self, tag: int) -> tuple[int, int]:
        """The type and value count of a tag present."""
        k = self.index[tag]
        return self.shorts[6 * k + 1], self.longs[3 * k + 1]

    def values(self, tag: int, limit: int | None = None):
        """The integer values of a tag present (at most ``limit`` of them), or the problem (a str)."""
        k = self.index[tag]
        kind, count = self.shorts[6 * k + 1], self.longs[3 * k + 1]
        code = _INTEGER.get(kind)
        if code is None:
            return f"corrupt TIFF ({_NAMES[tag]} tag of type {kind}, not an integer)"
        width = _TYPE_SIZES[kind]
        wanted = count if limit is None else min(count, limit)
        if width * count <= 4:  # stored in the entry itself
            return list(struct.unpack_from(f"{self.order}{wanted}{code}", self.data, self.start + 12 * k + 8))
        at = self.longs[3 * k + 2]
        if at + width * count > len(self.data):
            name, size = _NAMES[tag], len(self.data)
            return f"corrupt TIFF ({name} values at byte {at} run past the end of the {size}-byte file)"
        return list(struct.unpack_from(f"{self.order}{wanted}{code}", self.data, at))

    def first(self, tag: int, default: int):
        """The first value of a tag, ``default`` when absent, or the problem (a str)."""
        k = self.index.get(tag)
        if k is None:
            return default
        kind = self.shorts[6 * k + 1]
        if kind == 3 and self.longs[3 * k + 1]:
            return self.shorts[6 * k + 4]
        values = self.values(tag, limit=1)
        if isinstance(values, str):
            return values
        return values[0] if values else f"corrupt TIFF ({_NAMES[tag]} tag with no value)"


def _samples_list(ifd: _Ifd, tag: int, samples: int):
    """BitsPerSample or SampleFormat values (their type and count passed :meth:`_Ifd.read`)."""
    count = ifd.kind_count(tag)[1]
    if 1 < count < samples:
        return f"corrupt TIFF ({samples} samples per pixel but {count} {_NAMES[tag]} values)"
    return ifd.values(tag)


def _image_problem(ifd: _Ifd) -> str | None:
    fields = ifd.fields
    photometric = fields[262]
    if photometric is None:
        return "corrupt TIFF (no PhotometricInterpretation tag)"
    if photometric in _PHOTOMETRIC_NAMES:
        name = _PHOTOMETRIC_NAMES[photometric]
        return f"unsupported TIFF mode ({name} photometric, which DALI does not convert); {_FIX}"
    if photometric not in (*_GRAY, _RGB, _PALETTE, _CMYK, _YCBCR):
        return f"corrupt TIFF (photometric interpretation {photometric})"
    samples = fields[277]
    if samples is None:
        if photometric not in (*_GRAY, _PALETTE):
            return "corrupt TIFF (no SamplesPerPixel tag)"
        samples = 1
    if samples == 0:
        return "corrupt TIFF (0 samples per pixel)"
    compression = ifd.first(259, 1)
    if isinstance(compression, str):
        return compression
    if 258 not in ifd:
        if samples == 1 and photometric in _GRAY:
            return (
                "unsupported TIFF mode (1-bit without a BitsPerSample tag, which DALI's parser requires); "
                "convert it to 8-bit gray, or re-save it with the tag"
            )
        return "corrupt TIFF (no BitsPerSample tag)"
    bits = _samples_list(ifd, 258, samples)
    if isinstance(bits, str):
        return bits
    if len(set(bits)) > 1:
        return f"unsupported TIFF mode (samples of {', '.join(map(str, bits))} bits); {_FIX}"
    bits = bits[0]
    if 339 in ifd:
        formats = _samples_list(ifd, 339, samples)
        if isinstance(formats, str):
            return formats
        kind = next((value for value in formats if value != 1), None)
        if kind is not None:
            name = {2: "signed integer", 3: "floating-point"}.get(kind, f"SampleFormat {kind}")
            return f"unsupported TIFF mode ({name} samples, which DALI does not decode right); {_FIX}"
    problem = _mode_problem(ifd, photometric, samples, bits, compression)
    if problem is not None:
        return problem
    return _data_problem(ifd, samples, bits, compression)


def _mode_problem(ifd, photometric, samples, bits, compression) -> str | None:
    if samples > 4:
        return f"unsupported TIFF mode ({samples} samples per pixel); {_FIX}"
    problem = _colour_problem(ifd, photometric, samples, bits)
    if problem is not None:
        return problem
    if compression not in _COMPRESSIONS:
        name = _COMPRESSION_NAMES.get(compression, f"compression {compression}")
        return f"unsupported TIFF mode ({name}, which DALI's libtiff does not decode); {_FIX}"
    if compression in _CCITT and bits != 1:
        return f"corrupt TIFF (CCITT compression {compression} with {bits}-bit samples)"
    if compression == 7 and bits != 8:
        return f"unsupported TIFF mode (JPEG-compressed {bits}-bit samples, which DALI cannot decode); {_FIX}"
    predictor = ifd.first(317, 1)
    if isinstance(predictor, str):
        return predictor
    if predictor == 3:
        return f"unsupported TIFF mode (the floating-point predictor, which DALI cannot decode); {_FIX}"
    if predictor not in (1, 2):
        return f"corrupt TIFF (predictor {predictor})"
    planar = ifd.first(284, 1)
    if isinstance(planar, str):
        return planar
    if planar not in (1, 2):
        return f"corrupt TIFF (PlanarConfiguration {planar})"
    if planar == 2 and samples > 1:
        if bits != 8:
            why = f"{bits}-bit samples stored planar"
        elif 322 in ifd or 323 in ifd:
            why = "tiles stored planar"
        elif photometric == _RGB and samples == 4:
            why = "RGBA stored planar"
        else:
            return None
        return f"unsupported TIFF mode ({why}, which DALI does not decode right); {_FIX_PLANAR}"
    return None


def _colour_problem(ifd, photometric, samples, bits) -> str | None:
    if photometric == _PALETTE:
        if samples != 1:
            return f"corrupt TIFF (a palette image of {samples} samples per pixel)"
        if bits not in (1, 2, 4, 8):
            return f"unsupported TIFF mode ({bits}-bit palette indices); {_FIX}"
        if 320 not in ifd:
            return "corrupt TIFF (a palette image without a ColorMap tag)"
        count = ifd.kind_count(320)[1]
        if count != 3 << bits:
            return f"corrupt TIFF (a ColorMap of {count} values for {bits}-bit indices, not {3 << bits})"
        colours = ifd.values(320, limit=1)
        return colours if isinstance(colours, str) else None
    if photometric in _GRAY:
        if samples == 2:
            return f"unsupported TIFF mode (gray with alpha, which DALI decodes wrongly); {_FIX}"
        if samples != 1:
            return f"corrupt TIFF (a gray image of {samples} samples per pixel)"
        if bits not in (1, 8, 16):
            return f"unsupported TIFF mode ({bits}-bit gray samples, which DALI cannot decode right); {_FIX}"
        return None
    if bits not in (8, 16):
        return f"unsupported TIFF mode ({bits}-bit samples, which DALI cannot decode right); {_FIX}"
    if photometric == _RGB:
        if samples < 3:
            return f"corrupt TIFF (an RGB image of {samples} samples per pixel)"
        if samples == 4 and 338 in ifd:
            extra = ifd.values(338, limit=1)
            if isinstance(extra, str):
                return extra
            if extra[:1] == [1]:
                return (
                    "unsupported TIFF mode (premultiplied alpha, which DALI does not divide out); "
                    "convert it to RGB, or to RGBA with unassociated alpha"
                )
        return None
    if photometric == _CMYK:
        if samples != 4:
            return f"corrupt TIFF (a CMYK image of {samples} samples per pixel)"
        if bits != 8:
            return f"unsupported TIFF mode (16-bit CMYK, which DALI cannot decode); {_FIX}"
        return None
    if samples != 3:
        return f"corrupt TIFF (a YCbCr image of {samples} samples per pixel)"
    if bits != 8:
        return f"unsupported TIFF mode (16-bit YCbCr, which DALI cannot decode); {_FIX}"
    compression = ifd.first(259, 1)
    if compression != 7:
        subsampling = ifd.values(530, limit=2) if 530 in ifd else [2, 2]
        if isinstance(subsampling, str):
            return subsampling
        if subsampling != [1, 1]:
            return (
                f"unsupported TIFF mode (uncompressed YCbCr subsampled {'x'.join(map(str, subsampling))}, "
                f"which DALI decodes wrongly); {_FIX}"
            )
    return None


def _data_problem(ifd, samples, bits, compression) -> str | None:
    fields, size = ifd.fields, len(ifd.data)
    width, height = fields[256], fields[257]
    tiled = 322 in ifd or 323 in ifd
    planes = samples if ifd.first(284, 1) == 2 else 1
    if tiled:
        tile_width, tile_height = fields[322], fields[323]
        if tile_width is None or tile_height is None:
            return "corrupt TIFF (a TileWidth without a TileLength tag, or the reverse)"
        if 278 in ifd:
            return "corrupt TIFF (both tiles and strips: a RowsPerStrip tag next to the tile size)"
        if not tile_width or not tile_height or tile_width % 16 or tile_height % 16:
            return f"corrupt TIFF (tiles of {tile_width} x {tile_height} pixels, not a multiple of 16)"
        count = -(-width // tile_width) * -(-height // tile_height)
        rows = last_rows = tile_height
        unit, unit_width, offsets_tag, counts_tag = "tile", tile_width, 324, 325
    else:
        rows = fields[278]
        if rows == 0:
            return "corrupt TIFF (RowsPerStrip 0)"
        rows = height if rows is None else min(rows, height)
        count = -(-height // rows)
        last_rows = height - rows * (count - 1)
        unit, unit_width, offsets_tag, counts_tag = "strip", width, 273, 279
    expected = count * planes
    if offsets_tag not in ifd:
        return f"corrupt TIFF (no {_NAMES[offsets_tag]} tag)"
    for tag in (offsets_tag, counts_tag):
        if tag in ifd and ifd.kind_count(tag)[1] < expected:
            return f"corrupt TIFF ({ifd.kind_count(tag)[1]} {_NAMES[tag]} values for {expected} {unit}s)"
    offsets = ifd.values(offsets_tag, limit=expected)
    if isinstance(offsets, str):
        return offsets
    if max(offsets) >= size:
        at = next(k for k, offset in enumerate(offsets) if offset >= size)
        return f"corrupt TIFF ({unit} {at} at byte {offsets[at]}, outside the {size}-byte file)"
    if counts_tag in ifd:
        counts = ifd.values(counts_tag, limit=expected)
        if isinstance(counts, str):
            return counts
        if max(map(add, offsets, counts)) > size:
            at = next(k for k, (offset, n) in enumerate(zip(offsets, counts)) if offset + n > size)
            return (
                f"truncated TIFF ({unit} {at} at byte {offsets[at]} runs {counts[at]} bytes, past the end of "
                f"the {size}-byte file)"
            )
        if compression != _UNCOMPRESSED and min(counts) == 0:
            return f"corrupt TIFF ({unit} {counts.index(0)} of 0 bytes)"
    elif compression != _UNCOMPRESSED:
        return f"corrupt TIFF (a compressed image without a {_NAMES[counts_tag]} tag)"
    if compression == _UNCOMPRESSED:
        row_bytes = -(-unit_width * (samples // planes) * bits // 8)
        full, last = rows * row_bytes, last_rows * row_bytes
        ends = [offset + full for offset in offsets]
        for k in range(count - 1, expected, count):  # the last strip of each plane may be shorter
            ends[k] = offsets[k] + last
        if max(ends) > size:
            at = next(k for k, end in enumerate(ends) if end > size)
            start, needed = offsets[at], ends[at] - offsets[at]
            return (
                f"truncated TIFF (uncompressed {unit} {at} at byte {start} needs {needed} bytes, past the "
                f"end of the {size}-byte file)"
            )
    return None
