"""The shard sampler: deterministic epochs, exact coverage, DistributedSampler-like sharding."""

import numpy as np
import pytest
import torch
from torch.utils.data import DistributedSampler

from sada_dali.sampler import ShardSampler


def test_epoch_visits_every_sample_exactly_once():
    sampler = ShardSampler(103, 8, drop_last=False)
    for epoch in range(3):
        assert np.array_equal(np.sort(sampler.indices(epoch)), np.arange(103))


def test_order_is_a_function_of_seed_and_epoch():
    a, b = ShardSampler(50, 4, seed=3), ShardSampler(50, 4, seed=3)
    assert np.array_equal(a.indices(2), b.indices(2))
    assert not np.array_equal(a.indices(0), a.indices(1))
    assert not np.array_equal(a.indices(0), ShardSampler(50, 4, seed=4).indices(0))


def test_set_epoch_selects_the_default_epoch():
    sampler = ShardSampler(30, 4, seed=1)
    sampler.set_epoch(5)
    assert np.array_equal(sampler.indices(), sampler.indices(5))
    assert sampler.epoch == 5


@pytest.mark.parametrize("num_samples,num_shards", [(40, 4), (43, 4), (5, 3)])
def test_padded_shards_are_equal_and_cover_the_dataset(num_samples, num_shards):
    shards = [
        ShardSampler(num_samples, 2, num_shards=num_shards, shard_id=k, seed=9, drop_last=False).indices(1)
        for k in range(num_shards)
    ]
    size = -(-num_samples // num_shards)
    assert all(len(s) == size for s in shards)
    assert np.array_equal(np.unique(np.concatenate(shards)), np.arange(num_samples))
    assert all(len(np.unique(s)) == len(s) for s in shards)


def test_dropping_shards_are_disjoint_and_equal():
    shards = [
        ShardSampler(43, 2, num_shards=4, shard_id=k, seed=9, drop_last=True).indices(0) for k in range(4)
    ]
    assert all(len(s) == 43 // 4 for s in shards)
    union = np.concatenate(shards)
    assert len(np.unique(union)) == len(union) == 40


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("num_samples,num_shards", [(10, 3), (12, 4), (7, 2)])
def test_unshuffled_shards_match_distributed_sampler(num_samples, num_shards, drop_last):
    for rank in range(num_shards):
        reference = DistributedSampler(
            range(num_samples), num_replicas=num_shards, rank=rank, shuffle=False, drop_last=drop_last
        )
        ours = ShardSampler(
            num_samples, 1, num_shards=num_shards, shard_id=rank, shuffle=False, drop_last=drop_last
        )
        assert ours.indices().tolist() == list(reference)


def test_batches_and_padding_follow_drop_last():
    keep = ShardSampler(23, 5, drop_last=False)
    assert (len(keep), keep.padded_positions(), keep.rows_in_batch(4)) == (5, 25, 3)
    drop = ShardSampler(23, 5, drop_last=True)
    assert (len(drop), drop.padded_positions(), drop.rows_in_batch(3)) == (4, 20, 5)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"num_samples": 0}, r"`num_samples` must be an integer >= 1, got 0"),
        ({"batch_size": 0}, r"`batch_size` must be an integer >= 1, got 0"),
        ({"batch_size": 2.5}, r"`batch_size` must be an integer >= 1, got 2.5"),
        ({"num_shards": 0}, r"`num_shards` must be an integer >= 1"),
        ({"shard_id": -1}, r"`shard_id` must be an integer >= 0"),
        ({"shard_id": 2, "num_shards": 2}, r"`shard_id` must be < `num_shards` \(2\), got 2"),
        ({"seed": -3}, r"`seed` must be an integer >= 0"),
        ({"seed": True}, r"`seed` must be an integer >= 0, got True"),
        ({"batch_size": 11, "drop_last": True}, r"`batch_size` 11 is larger than a shard"),
    ],
)
def test_sampler_rejects_bad_arguments(kwargs, match):
    args = {"num_samples": 10, "batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        ShardSampler(args.pop("num_samples"), args.pop("batch_size"), **args)


def test_set_epoch_rejects_negative_epoch():
    with pytest.raises(ValueError, match=r"`epoch` must be an integer >= 0, got -1"):
        ShardSampler(10, 2).set_epoch(-1)


def test_batch_larger_than_shard_is_allowed_without_drop_last():
    sampler = ShardSampler(3, 8, drop_last=False)
    assert (len(sampler), sampler.rows_in_batch(0)) == (1, 3)
    assert torch.tensor(sampler.indices()).sort().values.tolist() == [0, 1, 2]


@pytest.mark.parametrize("num_samples,num_shards,batch_size", [(25, 3, 4), (32, 3, 24), (7, 2, 3), (5, 5, 2)])
def test_unpadded_shards_read_every_sample_once_in_equally_many_batches(num_samples, num_shards, batch_size):
    shards = [
        ShardSampler(
            num_samples,
            batch_size,
            num_shards=num_shards,
            shard_id=k,
            shuffle=False,
            drop_last=False,
            pad=False,
        )
        for k in range(num_shards)
    ]
    assert sorted(np.concatenate([s.indices() for s in shards]).tolist()) == list(range(num_samples))
    assert len({len(s) for s in shards}) == 1  # per-batch collectives stay in step
    for s in shards:
        rows = [s.rows_in_batch(b) for b in range(len(s))]
        assert sum(rows) == s.shard_size == len(s.indices())


def test_unpadded_shards_end_with_an_empty_batch_where_the_layout_forces_one():
    rows = [
        [
            ShardSampler(25, 4, num_shards=3, shard_id=k, drop_last=False, pad=False).rows_in_batch(b)
            for b in range(3)
        ]
        for k in range(3)
    ]
    assert rows == [[4, 4, 1], [4, 4, 0], [4, 4, 0]]


def test_unpadded_shards_need_at_least_one_sample_each():
    with pytest.raises(ValueError, match="Shard 3 of 4 would hold no sample of 3 without padding"):
        ShardSampler(3, 1, num_shards=4, shard_id=3, drop_last=False, pad=False)
