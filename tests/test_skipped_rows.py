"""A batch's skipped rows are looked for only once a reader has handed out a placeholder."""

import pickle

import pytest
import torch
from test_check_cache import N, listing_of, make_reader
from test_shard_loader import _jpeg, _write

from sada_dali.loader._pipe import split_rows


@pytest.fixture
def listed(tmp_path):
    file_list, _ = _write(tmp_path, [_jpeg(i) for i in range(N)], [0, 1, 0, 1])
    return listing_of(tmp_path, file_list)


def batch(valid):
    rows = len(valid)
    return {
        "images": torch.arange(rows, dtype=torch.float32).reshape(rows, 1),
        "labels": torch.arange(rows) + 10,
        "indices": torch.arange(rows) + 100,
        "valid": torch.tensor(valid, dtype=torch.uint8),
    }


def test_the_listing_says_no_placeholder_was_handed_out_until_a_file_is_skipped(listed):
    reader = make_reader(listed, on_error="skip")
    try:
        with open(reader.listing.path(2), "wb") as handle:
            handle.write(b"not an image")
        attached = pickle.loads(pickle.dumps(reader.listing))  # what a worker holds
        assert reader.sample(0)[1] and not reader.listing.replaced_any
        assert not reader.sample(2)[1]
        assert reader.listing.replaced_any and attached.replaced_any
    finally:
        reader.close()


def test_an_excluded_file_counts_as_a_placeholder_handed_out(listed):
    reader = make_reader(listed)
    try:
        reader.listing.mark_excluded([N - 1])
        assert not reader.listing.replaced_any
        assert not reader.sample(N - 1)[1]
        assert reader.listing.replaced_any
    finally:
        reader.close()


@pytest.mark.parametrize("rows", [4, 3])
def test_split_rows_drops_the_invalid_rows_when_a_row_may_be_skipped(rows):
    (images, labels, indices), skipped = split_rows(batch([1, 0, 1, 1]), rows, 4, maybe_skipped=True)
    kept = rows - 1
    assert skipped == [1]
    assert indices.tolist() == [100, 102, 103][:kept]
    assert labels.tolist() == [10, 12, 13][:kept] and images[:, 0].tolist() == [0, 2, 3][:kept]


def test_split_rows_keeps_every_row_unread_when_no_row_can_be_skipped():
    (images, labels, indices), skipped = split_rows(batch([1, 0, 1, 1]), 3, 4, maybe_skipped=False)
    assert skipped == [] and indices.tolist() == [100, 101, 102] and len(images) == len(labels) == 3
