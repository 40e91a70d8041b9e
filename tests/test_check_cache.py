"""A file that passed the reader's checks is not checked again until it changes."""

import io
import os
import pickle
import subprocess
import sys
import time
import types

import numpy as np
import pytest
from PIL import Image
from test_shard_loader import _jpeg, _write

import sada_dali.data._reader as reader_module
from sada_dali.data._check_cache import CheckCache, check_tag, file_stamp
from sada_dali.data._shared_listing import ReaderView, SharedListing
from sada_dali.data.source import create_listing
from sada_dali.sampler import ShardSampler
from sada_dali.strength import StrengthTable

N = 4


@pytest.fixture
def files(tmp_path):
    file_list, shards = _write(tmp_path, [_jpeg(i) for i in range(N)], [0, 1, 0, 1])
    return tmp_path, file_list, shards


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = reader_module.inspect_encoded

    def inspect(data, **kwargs):
        calls.append(len(data))
        return real(data, **kwargs)

    monkeypatch.setattr(reader_module, "inspect_encoded", inspect)
    return calls


def make_reader(listing, *, view=None, **kwargs):
    kwargs = dict(num_magnitude_bins=11, num_ops=14, augments=False) | kwargs
    source = listing if view is None else view
    return reader_module.SampleReader(source, ShardSampler(N, 2, shuffle=False), **kwargs)


def listing_of(root, file_list):
    return create_listing(file_list, file_root=str(root), progress=False)


def test_a_file_that_passed_the_checks_is_read_but_not_checked_again_while_unchanged(files, counted):
    root, file_list, _ = files
    table = StrengthTable(N)
    reader = make_reader(listing_of(root, file_list), table=table, augments=True)
    try:
        first = reader.read(1)
        again = reader.read(1)
        assert counted == [len(_jpeg(1))]  # checked once
        assert again[1] and again[2] == first[2] == Image.open(io.BytesIO(_jpeg(1))).size  # kept
        assert bytes(again[0]) == bytes(first[0]) == _jpeg(1)  # the file is still read each time
    finally:
        reader.close()
        table.close()


def assert_checked_again_and_refused(reader, index, counted, change):
    """Sample ``index`` passes once; after ``change()`` breaks its first segment's length, the
    next read checks it again and refuses it."""
    try:
        assert reader.read(index)[1]
        time.sleep(0.02)  # past a coarse clock tick, where the kernel's timestamps have one
        change()
        with pytest.raises(ValueError, match=rf"Sample {index} .*corrupt JPEG headers"):
            reader.read(index)
        assert len(counted) == 2
    finally:
        reader.close()


def break_in_place(path, offset: int = 0) -> None:
    with open(path, "r+b") as handle:  # same inode, same length
        handle.seek(offset + 4)
        handle.write(b"\x00\x00")


def test_a_file_replaced_by_a_broken_one_is_checked_again_and_refused(files, counted):
    root, file_list, _ = files
    reader = make_reader(listing_of(root, file_list))
    path = reader.listing.path(0)

    def replace():
        with open(path + ".new", "wb") as handle:
            handle.write(_jpeg(0))
        break_in_place(path + ".new")
        os.replace(path + ".new", path)  # a new inode

    assert_checked_again_and_refused(reader, 0, counted, replace)


def test_a_file_rewritten_in_place_to_the_same_length_is_checked_again(files, counted):
    root, file_list, _ = files
    reader = make_reader(listing_of(root, file_list))
    assert_checked_again_and_refused(reader, 2, counted, lambda: break_in_place(reader.listing.path(2)))


def test_a_tar_member_is_checked_once_until_its_shard_changes(files, counted):
    _, _, shards = files
    reader = make_reader(create_listing(shards, progress=False))
    shard, offset, _ = (int(v) for v in reader.listing._locations[1])
    assert reader.read(1)[1] and len(counted) == 1  # checked once, then read without a check below
    assert_checked_again_and_refused(reader, 1, counted, lambda: break_in_place(shards[shard], offset))


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"formats": ("png",)}, "a format this loader does not accept"),
        ({"max_pixels": 100}, "more than max_pixels=100"),
    ],
    ids=["formats", "max_pixels"],
)
def test_a_pass_under_other_settings_is_not_taken_for_one_under_these(files, settings, problem):
    root, file_list, _ = files
    shared = SharedListing(listing_of(root, file_list), N)
    try:
        view = ReaderView(shared, None, "raise")
        assert make_reader(None, view=view).read(3)[1]  # recorded under the default settings
        with pytest.raises(ValueError, match=rf"Sample 3 .*{problem}"):
            make_reader(None, view=view, **settings).read(3)
    finally:
        shared.close()


def test_what_one_process_recorded_another_attached_to_the_listing_sees(files):
    root, file_list, _ = files
    shared = SharedListing(listing_of(root, file_list), N)
    try:
        attached = pickle.loads(pickle.dumps(shared))  # what a DALI worker unpickles
        shared.checks.put(2, 1234, -5, (640, 480))
        assert attached.checks.get(2, 1234, -5) == (True, (640, 480))
        assert attached.checks.get(2, 1235, -5) == (False, None)  # another length
        assert attached.checks.get(1, 1234, -5) == (False, None)  # another sample
    finally:
        shared.close()


def test_a_record_keeps_an_unknown_size_and_skips_one_too_large_for_its_word():
    cache = CheckCache(np.zeros(3 * 2, dtype=np.int64).data)
    assert cache.get(0, 0, 0) == (False, None)  # a blank record matches nothing, an empty file included
    cache.put(0, 99, 7, None)
    assert cache.get(0, 99, 7) == (True, None)
    cache.put(1, 99, 7, (1 << 31, 5))
    assert cache.get(1, 99, 7) == (False, None)


def test_the_stamp_changes_with_the_change_time_the_inode_and_the_settings():
    tag = check_tag(True, ("jpeg",), 100)
    status = types.SimpleNamespace(st_ctime_ns=1_796_638_116_510_843_870, st_ino=2**40 + 3)
    stamp = file_stamp(status, tag)
    assert -(2**63) <= stamp < 2**63
    later = types.SimpleNamespace(st_ctime_ns=status.st_ctime_ns + 1, st_ino=status.st_ino)
    moved = types.SimpleNamespace(st_ctime_ns=status.st_ctime_ns, st_ino=status.st_ino + 1)
    assert stamp not in (file_stamp(later, tag), file_stamp(moved, tag), file_stamp(status, tag ^ 1))
    assert tag != check_tag(False, ("jpeg",), 100)


def test_the_settings_tag_is_the_same_in_a_process_with_another_hash_seed():
    code = "from sada_dali.data._check_cache import check_tag; print(check_tag(True, ('jpeg',), 100))"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) == check_tag(True, ("jpeg",), 100)
