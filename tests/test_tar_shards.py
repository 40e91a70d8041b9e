"""WebDataset tar shards as a source: the header-walk index, its cache and every bad-shard case."""

import os

import numpy as np
import pytest
from _tars import patch_member_size, read_member, write_tar

from sada_dali.data import _tar_cache, _tar_index
from sada_dali.data._shared_listing import SharedListing
from sada_dali.data._tar_index import ShardError, scan_shard
from sada_dali.data._tar_shards import expand_braces
from sada_dali.data.source import create_listing
from sada_dali.data.synthetic import create_photo_corpus

JPEG = b"\xff\xd8" + bytes(range(256)) * 3 + b"\xff\xd9"


def sample(key, label, ext="jpg", image=JPEG):
    return [(f"{key}.{ext}", image), (f"{key}.cls", str(label).encode()), (f"{key}.json", b'{"label": 99}')]


@pytest.fixture
def shards(tmp_path):
    a = write_tar(tmp_path / "s-0000.tar", sample("a", 1) + sample("b", 0))
    b = write_tar(tmp_path / "s-0001.tar", sample("c", 2) + [("d.png", b"png!"), ("d.json", b'{"label": 3}')])
    return tmp_path, [a, b]


def test_samples_follow_sorted_shards_then_tar_order_with_cls_before_json_labels(shards):
    root, paths = shards
    listing = create_listing(root)
    assert [f.rsplit(os.sep, 1)[1] for f in listing.files] == [
        "s-0000.tar:a",
        "s-0000.tar:b",
        "s-0001.tar:c",
        "s-0001.tar:d",
    ]
    assert listing.labels.tolist() == [1, 0, 2, 3] and listing.classes == ("0", "1", "2", "3")
    assert listing.shards == tuple(paths) and listing.locations[:, 0].tolist() == [0, 0, 1, 1]
    assert listing.locations[3, 2] == 4


def test_the_shared_listing_reads_each_image_with_its_exact_bytes_in_workers_too(shards):
    import pickle

    listing = create_listing(shards[0])
    owner = SharedListing(listing, 4)
    worker = pickle.loads(pickle.dumps(owner))
    try:
        assert [read_member(worker, i) for i in range(4)] == [JPEG, JPEG, JPEG, b"png!"]
        assert worker.path(2) == listing.files[2]
    finally:
        worker.close()
        owner.close()


def test_lists_keep_their_order_and_patterns_expand_like_a_shell(shards):
    root, paths = shards
    reversed_listing = create_listing(paths[::-1])
    assert reversed_listing.files[0].endswith("s-0001.tar:c") and reversed_listing.labels.tolist() == [
        2,
        3,
        1,
        0,
    ]
    assert create_listing(str(root / "s-{0000..0001}.tar")).files == create_listing(root).files
    assert create_listing(paths[1]).labels.tolist() == [2, 3]
    assert expand_braces("x-{08..10}-{a,b}.tar") == [
        f"x-{n}-{c}.tar" for n in ("08", "09", "10") for c in "ab"
    ]
    assert expand_braces("{3..1}") == ["3", "2", "1"] and expand_braces("plain.tar") == ["plain.tar"]


@pytest.mark.parametrize(
    "source, error, match",
    [
        (lambda r: str(r / "s-{0000..0002}.tar"), FileNotFoundError, "1 shard.*do not exist.*s-0002.tar"),
        (lambda r: [], FileNotFoundError, "names no shard"),
        (lambda r: [r / "s-0000.tar", r / "s-0000.tar"], ValueError, "names a shard twice"),
    ],
)
def test_bad_shard_lists_and_patterns_are_refused(shards, source, error, match):
    with pytest.raises(error, match=match):
        create_listing(source(shards[0]))


def test_a_folder_with_shards_and_sub_folders_is_ambiguous(shards):
    (shards[0] / "class_a").mkdir()
    with pytest.raises(ValueError, match="both .tar shards and sub-folders.*class_a"):
        create_listing(shards[0])


def test_file_root_is_refused_for_shards(shards):
    with pytest.raises(ValueError, match="drop it for tar shards"):
        create_listing(shards[0], file_root=shards[0])


def _bad(tmp_path, members):
    return write_tar(tmp_path / "bad.tar", members)


@pytest.mark.parametrize(
    "members, match",
    [
        (sample("a", 0) + [("a.jpg", JPEG)], r"bad.tar' has the key 'a' twice"),
        (sample("a", 0) + [("a.PNG", JPEG)], r"bad.tar' sample 'a' has 2 image members \(jpg, png\)"),
        ([("a.cls", b"1"), ("a.json", b"{}")], r"bad.tar' sample 'a' has no image member"),
        ([("a.jpg", JPEG), ("a.txt", b"x")], r"bad.tar' sample 'a' has no label: add a a.cls"),
        (
            [("a.jpg", JPEG), ("a.cls", b"cat")],
            r"bad.tar' sample 'a': its .cls member must hold the class index",
        ),
        ([("a.jpg", JPEG), ("a.cls", b"-1")], r"bad.tar' sample 'a': its .cls member"),
        (
            [("a.jpg", JPEG), ("a.json", b'{"y": 1}')],
            r"bad.tar' sample 'a': its .json member must hold a \"label\"",
        ),
        ([("README", b"x")], r"bad.tar' holds no sample"),
    ],
)
def test_each_bad_sample_names_the_shard_and_the_key(tmp_path, members, match):
    with pytest.raises(ShardError, match=match):
        create_listing([_bad(tmp_path, members)])


def test_a_truncated_shard_is_refused(tmp_path):
    path = _bad(tmp_path, sample("a", 0) + sample("b", 1))
    size = os.path.getsize(path)
    for cut in (3584, 1600, 1000):  # after sample a; inside the next header; inside a.jpg
        with open(path, "r+b") as handle:
            handle.truncate(cut)
        with pytest.raises(ShardError, match="bad.tar' is truncated"):
            scan_shard(path)
    assert size > cut


def test_a_header_that_lies_about_its_size_is_refused(tmp_path):
    path = _bad(tmp_path, sample("a", 0) + sample("b", 1))
    patch_member_size(path, "a.jpg", 100)  # the walk lands inside a's image
    with pytest.raises(
        ShardError, match=r"bad.tar' has a corrupt tar header at byte 1024 after member 'a.jpg'"
    ):
        scan_shard(path)
    path = _bad(tmp_path, sample("a", 0))
    patch_member_size(path, "a.json", 10**6)
    with pytest.raises(ShardError, match=r"truncated or the header of member 'a.json' lies about its size"):
        scan_shard(path)


def test_a_garbled_size_field_with_a_valid_checksum_is_refused(tmp_path):
    path = _bad(tmp_path, sample("a", 0))
    patch_member_size(path, "a.cls", b"zzzzzzzzzzz\0")
    with pytest.raises(ShardError, match=r"bad.tar' has a malformed tar header at byte 1536"):
        scan_shard(path)


def test_a_file_that_is_not_a_tar_or_cannot_be_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "noise.tar"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ShardError, match="noise.tar' has a corrupt tar header at byte 0"):
        scan_shard(str(path))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_tar_index.os, "open", refuse)
    with pytest.raises(ShardError, match=r"noise.tar' cannot be read \(Permission denied\)"):
        scan_shard(str(path))


def test_the_index_is_built_once_and_reused(shards, monkeypatch):
    root, paths = shards
    first = create_listing(root)
    cache = _tar_cache.index_path(paths)
    assert os.path.dirname(cache) == str(root) and os.path.isfile(cache)
    monkeypatch.setattr(_tar_cache, "scan_shard", lambda path: pytest.fail(f"rescanned {path}"))
    again = create_listing(root)
    assert again.files == first.files and np.array_equal(again.locations, first.locations)
    assert np.array_equal(again.labels, first.labels)


def test_a_stale_or_broken_index_is_rebuilt_for_the_shards_that_changed(shards, monkeypatch):
    root, paths = shards
    create_listing(root)
    write_tar(paths[1], sample("e", 5))
    os.utime(paths[1], ns=(0, 10**18))  # a new mtime even on a coarse clock
    scanned = []
    real = _tar_cache.scan_shard
    monkeypatch.setattr(_tar_cache, "scan_shard", lambda path: scanned.append(path) or real(path))
    listing = create_listing(root)
    assert scanned == [paths[1]] and listing.labels.tolist() == [1, 0, 5]
    with open(_tar_cache.index_path(paths), "wb") as handle:
        handle.write(b"not an npz")
    assert create_listing(root).labels.tolist() == [1, 0, 5] and len(scanned) == 3


def test_the_index_goes_to_the_cache_folder_when_the_shards_folder_is_read_only(
    shards, monkeypatch, tmp_path
):
    root, paths = shards
    monkeypatch.setenv("SADA_DALI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(_tar_cache.os, "access", lambda path, mode: False)
    create_listing(root)
    path = _tar_cache.index_path(paths)
    assert path.startswith(str(tmp_path / "cache" / "shard-index")) and os.path.isfile(path)


def test_photo_corpus_shards_hold_the_image_folder_bytes_in_timm_layout(tmp_path):
    kwargs = dict(num_images=5, num_classes=2, width=32, height=24, progress=False)
    folder = create_listing(create_photo_corpus(tmp_path / "f", **kwargs) / "train")
    wds = create_photo_corpus(tmp_path / "w", format="wds", shard_size=2, **kwargs) / "train"
    assert sorted(p for p in os.listdir(wds) if p.endswith(".tar")) == [
        f"corpus-train-000{k}.tar" for k in range(3)
    ]
    listing = create_listing(wds)
    by_stem = {os.path.basename(f)[:-4]: i for i, f in enumerate(folder.files)}
    a, b = SharedListing(folder, 5), SharedListing(listing, 5)
    try:
        for j, name in enumerate(listing.files):
            i = by_stem[name.rsplit(":", 1)[1]]
            assert read_member(b, j) == read_member(a, i)
            assert listing.labels[j] == folder.labels[i]
    finally:
        a.close()
        b.close()
    with pytest.raises(ValueError, match="`format` must be 'imagefolder' or 'wds'"):
        create_photo_corpus(tmp_path / "x", format="tar", **kwargs)
