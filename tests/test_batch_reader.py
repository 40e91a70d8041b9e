"""The batch reader (one call per batch, dense outputs) gives the per-sample reader's batches bit for bit."""

import os
import types

import numpy as np
import pytest
import torch
from test_shard_loader import BATCH, N, _jpeg, _write

import sada_dali.pipelines._stages as stages
from sada_dali.data._packing import COLUMNS, GROUPS, EncodedPacker, pack_columns
from sada_dali.loader import SADALoader

EPOCHS = 3


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch_reader")
    images = [_jpeg(i) for i in range(N + 1)]  # 13 samples: a partial last batch
    return _write(root, images, [i % 3 for i in range(N + 1)])


def read_epochs(source, *, batches: bool, train: bool, workers: int, monkeypatch):
    monkeypatch.setattr(stages, "READ_IN_BATCHES", batches)
    kwargs = dict(device="cpu", image_size=20, workers=workers, num_threads=1, drop_last=False, seed=5)
    if str(source).endswith(".txt"):
        kwargs["file_root"] = str(source.parent)
    strengths = np.linspace(0, 1, N + 1, dtype=np.float32) if train else None
    loader = SADALoader(source, BATCH, train=train, strengths=strengths, **kwargs)
    out = []
    try:
        for epoch in range(EPOCHS):
            loader.set_epoch(epoch)
            for images, labels, indices in loader:
                choices = loader.choices(indices) if train else {}
                out.append((images.clone(), labels.clone(), indices.clone(), choices))
    finally:
        loader.close()
    return out


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("kind", ["files", "shards"])
@pytest.mark.parametrize("train", [True, False], ids=["train", "val"])
def test_the_batch_reader_gives_the_per_sample_readers_batches_bit_for_bit(
    sources, kind, workers, train, monkeypatch
):
    source = sources[0] if kind == "files" else sources[1]
    per_batch = read_epochs(source, batches=True, train=train, workers=workers, monkeypatch=monkeypatch)
    per_sample = read_epochs(source, batches=False, train=train, workers=workers, monkeypatch=monkeypatch)
    assert len(per_batch) == len(per_sample) == EPOCHS * 4
    assert sum(len(b[2]) for b in per_batch) == EPOCHS * (N + 1)
    for batch, reference in zip(per_batch, per_sample):
        assert all(torch.equal(a, b) for a, b in zip(batch[:3], reference[:3]))  # images, labels, indices
        assert batch[3].keys() == reference[3].keys()
        assert all(np.array_equal(batch[3][k], reference[3][k]) for k in batch[3])


def pack(buffers, capacity=1):
    packer = EncodedPacker(capacity)
    for data in buffers:
        packer.append(data)
    return packer.packed()


def test_the_packer_keeps_every_buffer_and_its_bounds_as_it_grows():
    buffers = [np.frombuffer(bytes([i]) * (i + 1), dtype=np.uint8) for i in range(5)]
    blob, offsets = pack(buffers)  # from 1 byte: every append but the first grows the array
    assert offsets.tolist() == [0, 1, 3, 6, 10, 15] and blob.dtype == np.uint8 and len(blob) == 15
    assert all(np.array_equal(blob[offsets[i] : offsets[i + 1]], buffers[i]) for i in range(5))


def test_a_reservation_left_uncommitted_is_written_over_by_the_next_buffer():
    packer = EncodedPacker(4)
    packer.append(b"ab")
    packer.reserve(6)[:3] = b"xyz"  # read, then rejected: never committed
    packer.append(b"cd")
    view = packer.reserve(3)
    view[:] = b"efg"
    assert bytes(packer.commit(2)) == b"ef"
    blob, offsets = packer.packed()
    assert bytes(blob) == b"abcdef" and offsets.tolist() == [0, 2, 4, 6]


@pytest.mark.parametrize("reported", [0, 5, 600], ids=["no size", "shorter", "exact"])
@pytest.mark.parametrize("most", [None, 7], ids=["whole reads", "short reads"])
def test_a_file_is_read_whole_whatever_size_it_reports_and_however_short_its_reads(
    tmp_path, monkeypatch, reported, most
):
    from sada_dali.data import _shared_listing

    if most is not None:  # a network filesystem that returns at most `most` bytes per call
        readv = os.readv
        monkeypatch.setattr(os, "readv", lambda fd, views: readv(fd, [views[0][:most]]))
    path = tmp_path / "grown.bin"
    path.write_bytes(bytes(range(200)) * 3)
    packer = EncodedPacker(2)
    packer.append(b"ok")
    with open(path, "rb", buffering=0) as handle:
        view = _shared_listing._read_whole(handle.fileno(), reported, packer)
    assert bytes(view) == path.read_bytes()
    packer.commit(len(view))
    blob, offsets = packer.packed()
    assert bytes(blob) == b"ok" + path.read_bytes() and offsets.tolist() == [0, 2, 602]


@pytest.mark.parametrize("dlpack", [True, False], ids=["from_dlpack_list", "a TensorCPU per sample"])
def test_unpack_encoded_gives_dali_one_view_per_sample_into_the_packed_buffer(monkeypatch, dlpack):
    if not dlpack:  # a DALI without TensorListCPU.from_dlpack_list
        monkeypatch.setattr(stages, "_FROM_DLPACK_LIST", None)
    assert dlpack == (stages._FROM_DLPACK_LIST is not None)
    buffers = [np.arange(i + 2, dtype=np.uint8) for i in range(4)]
    packed = pack(buffers)
    encoded, label = stages.unpack_encoded((packed, np.arange(4)))
    assert len(encoded) == 4 and [tuple(s) for s in encoded.shape()] == [(2,), (3,), (4,), (5,)]
    assert all(np.array_equal(np.array(encoded[i]), buffers[i]) for i in range(4))
    assert encoded[2].data_ptr() == packed[0].ctypes.data + 5  # a view, not a copy
    assert label.tolist() == [0, 1, 2, 3]


def test_pack_columns_puts_every_output_where_columns_say():
    n, rng = 5, np.random.default_rng(0)
    label, index = rng.integers(0, 1000, n), np.arange(10, 10 + n, dtype=np.int64)
    valid = np.array([1, 0, 1, 1, 0], dtype=np.uint8)
    choices = [rng.integers(0, 14, n, dtype=np.int32) for _ in range(4)]
    windows = [rng.integers(0, 4000, (n, 2), dtype=np.int32) for _ in range(2)]
    outputs = ([np.zeros(3, np.uint8)] * n, label, index, valid, *choices, *windows)
    encoded, *arrays = pack_columns(outputs)
    groups = dict(zip(list(GROUPS)[1:], arrays))
    assert encoded is outputs[0] and [a.dtype.name for a in arrays] == list(GROUPS.values())[1:]
    for (group, column), values in zip(COLUMNS.values(), outputs[1:]):
        assert np.array_equal(groups[group][:, column], values)
    assert len(pack_columns(outputs[:4])) == 2  # validation: no choices


def test_the_feed_hook_runs_as_written_not_as_autograph_converted_it(sources):
    root = str(sources[0].parent)
    loader = SADALoader(
        sources[0], BATCH, file_root=root, device="cpu", image_size=20, workers=0, num_threads=1
    )
    try:
        next(iter(loader))
        groups = [group for group in loader._runner.pipe._input_callbacks if group.batch]
        assert groups and all(g.feed.__code__.co_filename.endswith("_compat.py") for g in groups)
    finally:
        loader.close()


def test_a_cleared_packer_writes_the_next_batch_into_the_same_array():
    packer = EncodedPacker(16)
    packer.append(b"first")
    first_blob, _ = packer.packed()
    packer.clear()
    packer.append(b"xy")
    blob, offsets = packer.packed()
    assert bytes(blob) == b"xy" and offsets.tolist() == [0, 2]
    assert np.shares_memory(blob, first_blob) and bytes(first_blob) == b"xyrst"  # written over


def test_each_read_batch_call_packs_its_own_files_into_the_readers_one_array(sources):
    files = sources[0]
    kwargs = dict(device="cpu", image_size=20, workers=0, num_threads=1, seed=5, file_root=str(files.parent))
    loader = SADALoader(files, BATCH, **kwargs)
    try:
        reader = loader._reader
        reader.publish_order(0)
        blobs = []
        for iteration in range(2):
            (blob, offsets), ids, _ = reader.read_batch(
                types.SimpleNamespace(iteration=iteration, epoch_idx=0)
            )
            paths = [reader.listing.path(int(i)) for i in ids[:, 1]]
            got = [bytes(blob[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
            assert len(got) == BATCH and got == [open(path, "rb").read() for path in paths]
            blobs.append(blob)
        assert np.shares_memory(*blobs)  # no fresh allocation per batch
    finally:
        loader.close()


@pytest.mark.parametrize("train", [True, False], ids=["train", "val"])
def test_split_columns_gives_each_output_the_values_shape_and_dtype_of_its_column(train):
    from nvidia.dali import fn, pipeline_def, types

    columns = {name: where for name, where in COLUMNS.items() if train or where[0] == "ids"}
    groups = {"ids": np.arange(12, dtype=np.int64).reshape(4, 3)}
    if train:
        groups["choices"] = (100 + np.arange(32, dtype=np.int32)).reshape(4, 8)

    @pipeline_def(batch_size=4, num_threads=1, device_id=None)
    def pipe():
        nodes = fn.external_source(
            source=lambda: tuple(groups.values()),
            num_outputs=len(groups),
            batch=True,
            dtype=[types.INT64, types.INT32][: len(groups)],
            ndim=[1] * len(groups),
        )
        return tuple(stages.split_columns(dict(zip(groups, nodes)), columns).values())

    p = pipe()
    p.build()
    for (name, (group, column)), batch in zip(columns.items(), p.run()):
        got = np.stack([np.array(sample) for sample in batch])
        expected = groups[group][:, column]
        assert got.dtype == expected.dtype and np.array_equal(got, expected), name
