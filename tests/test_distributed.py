"""DistributedEstimator over gloo in 2 and 3 spawned CPU processes, and the loader's default sharding.

Every rank feeds its own batches (unequal sizes, empty ranks, an all-empty step, NaN/Inf rows);
the replicas must end bit-identical to one process fed the union of the ranks' rows per step.
"""

import os
import re

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from _images import write_image_folder

from sada_dali.distributed import DistributedEstimator, _comm_device, resolve_shards, shard_info
from sada_dali.estimator import EntAugmentEstimator, SADAEstimator

N, K, CAP, EPOCHS, STEPS = 40, 7, 6, 4, 3
SETTINGS = dict(window=3, seed=5)
DTYPES = {2: torch.float16, 3: torch.bfloat16}


def make_schedule(world: int, dtype) -> list:
    """``schedule[epoch][step][rank] = (indices, logits)``, the same in every process."""
    rng = np.random.default_rng(world)
    schedule = []
    for epoch in range(EPOCHS):
        steps = []
        for step in range(STEPS):
            sizes = [CAP] * world
            if step == STEPS - 1:
                sizes = [max(CAP - 1 - 2 * r, 0) for r in range(world)]  # unequal last batches
            if (epoch, step) == (1, 0):
                sizes[0] = 0  # one empty rank
            if (epoch, step) == (2, 1):
                sizes = [0] * world  # every rank empty
            idx = [rng.integers(0, N, size) for size in sizes]  # duplicates within and across ranks
            logits = [rng.normal(0.0, 3.0, (size, K)) for size in sizes]
            unused = sorted(set(range(N)) - set(np.concatenate(idx).tolist()))
            if (epoch, step) == (1, 1):  # a NaN row on the last rank, with an index no other row has
                idx[-1][0], logits[-1][0, 2] = unused[0], np.nan
            if (epoch, step) == (2, 0):
                idx[0][2], logits[0][2, 0] = unused[1], np.inf
            steps.append([(torch.from_numpy(i), torch.from_numpy(x).to(dtype)) for i, x in zip(idx, logits)])
        schedule.append(steps)
    return schedule


def summarize(estimator, strengths) -> dict:
    state = estimator.state_dict()
    return {
        "strengths": np.stack(strengths),
        "variance": state["variance"],
        "log_prev": state["log_prev"],
        "seen": state["seen"],
        "num_skipped": np.int64(estimator.num_skipped),
    }


def _worker(rank: int, world: int, store: str, out: str, images) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        estimator = DistributedEstimator(SADAEstimator(N, K, **SETTINGS), CAP)
        strengths = []
        for epoch in make_schedule(world, DTYPES[world]):
            for batches in epoch:
                estimator.update(*batches[rank])
            strengths.append(np.asarray(estimator.end_epoch()))
        result = summarize(estimator, strengths)
        others = re.escape(f"rank(s) {list(range(1, world))} differ from rank 0's")
        with pytest.raises(ValueError, match=others):
            DistributedEstimator(SADAEstimator(N, K, window=3, seed=5 + rank), CAP)
        with pytest.raises(ValueError, match=others):
            DistributedEstimator(SADAEstimator(N, K, **SETTINGS), CAP + rank)
        result["resolved"] = np.array([resolve_shards(None, None), resolve_shards(1, 0), shard_info()])
        if images is not None:
            from sada_dali.loader import SADALoader

            loader = SADALoader(
                images,
                2,
                device="cpu",
                image_size=32,
                workers=0,
                num_threads=1,
                num_magnitude_bins=11,
                seed=3,
            )
            result["loader_shard"] = np.array([loader.sampler.num_shards, loader.sampler.shard_id])
            result["loader_indices"] = loader.sampler.indices()
            loader.close()
        np.savez(os.path.join(out, f"rank{rank}.npz"), **result)
    finally:
        dist.destroy_process_group()


def reference(world: int) -> dict:
    """One process fed, per step, the ranks' rows concatenated in rank order."""
    estimator, strengths = SADAEstimator(N, K, **SETTINGS), []
    for epoch in make_schedule(world, DTYPES[world]):
        for batches in epoch:
            idx, logits = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
            if len(idx):
                estimator.update(idx, logits)
        strengths.append(estimator.end_epoch().copy())
    return summarize(estimator, strengths)


@pytest.mark.slow
@pytest.mark.parametrize("world", [2, 3])
def test_replicas_agree_with_one_process_fed_the_union_of_all_ranks(tmp_path, world):
    images = None
    if world == 2:
        images = str(tmp_path / "images")
        write_image_folder(images, num_classes=2, per_class=6, sizes=(32, 40), seed=2)
    mp.spawn(_worker, args=(world, str(tmp_path / "store"), str(tmp_path), images), nprocs=world)
    results = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(world)]
    expected = reference(world)
    for rank, result in enumerate(results):
        for key, value in expected.items():
            np.testing.assert_array_equal(result[key], value, err_msg=f"{key} of rank {rank}")
        np.testing.assert_array_equal(result["resolved"], [[world, rank], [1, 0], [world, rank]])
    assert int(expected["num_skipped"]) == 2  # the NaN and the Inf row; padding is never counted
    last = expected["strengths"][-1]
    valid = expected["seen"] >= 3
    assert valid.sum() >= N // 2 and last[valid].min() == 0.0 and last[valid].max() == 1.0
    if images is not None:
        assert [tuple(r["loader_shard"]) for r in results] == [(2, 0), (2, 1)]
        indices = np.concatenate([r["loader_indices"] for r in results])
        assert sorted(indices.tolist()) == list(range(12))


ENT_SETTINGS = dict(warmup_epochs=1, seed=5)


def _ent_summary(estimator, strengths) -> dict:
    state = estimator.state_dict()
    return {"strengths": np.stack(strengths), "latest": state["latest"], "num_skipped": state["num_skipped"]}


def _ent_worker(rank: int, world: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        estimator = DistributedEstimator(EntAugmentEstimator(N, K, **ENT_SETTINGS), CAP)
        strengths = []
        for epoch in make_schedule(world, DTYPES[world]):
            for batches in epoch:
                estimator.update(*batches[rank])
            strengths.append(np.asarray(estimator.end_epoch()))
        result = _ent_summary(estimator, strengths)
        with pytest.raises(ValueError, match=re.escape("rank(s) [1] differ from rank 0's")):
            # the same fields but another estimator class on rank 1
            other = EntAugmentEstimator(N, K, **ENT_SETTINGS) if rank == 0 else SADAEstimator(N, K, seed=5)
            DistributedEstimator(other, CAP)
        np.savez(os.path.join(out, f"ent{rank}.npz"), **result)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_entaugment_replicas_on_two_gloo_ranks_are_bit_identical_to_one_process(tmp_path):
    mp.spawn(_ent_worker, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    plain, strengths = EntAugmentEstimator(N, K, **ENT_SETTINGS), []
    for epoch in make_schedule(2, DTYPES[2]):
        for batches in epoch:
            idx, logits = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
            if len(idx):
                plain.update(idx, logits)
        strengths.append(plain.end_epoch().copy())
    expected = _ent_summary(plain, strengths)
    for rank in range(2):
        result = dict(np.load(tmp_path / f"ent{rank}.npz"))
        for key, value in expected.items():
            np.testing.assert_array_equal(result[key], value, err_msg=f"{key} of rank {rank}")
    assert expected["num_skipped"] == 2 and (expected["latest"] >= 0).sum() >= N // 2
    seen = expected["latest"] >= 0
    np.testing.assert_array_equal(expected["strengths"][-1][seen], expected["latest"][seen])


@pytest.fixture
def group(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_single_rank_wrapper_matches_and_exposes_its_estimator(group):
    inner, plain = SADAEstimator(N, K, **SETTINGS), SADAEstimator(N, K, **SETTINGS)
    estimator = DistributedEstimator(inner, CAP)
    assert estimator.device == torch.device("cpu") and (estimator.world_size, estimator.rank) == (1, 0)
    for epoch in make_schedule(1, torch.float32):
        for ((idx, logits),) in epoch:
            estimator.update(idx.numpy(), logits.numpy())  # NumPy input is accepted too
            if len(idx):
                plain.update(idx, logits)
        np.testing.assert_array_equal(estimator.end_epoch(), plain.end_epoch())
    assert estimator.epoch == plain.epoch == EPOCHS and estimator.strengths is inner.strengths
    np.testing.assert_array_equal(estimator.variance, plain.variance)
    np.testing.assert_array_equal(estimator.valid, plain.valid)
    assert estimator.num_skipped == plain.num_skipped == 2 and estimator.nbytes == plain.nbytes
    saved = estimator.state_dict()
    np.testing.assert_array_equal(saved["log_prev"], plain.state_dict()["log_prev"])
    fresh = DistributedEstimator(SADAEstimator(N, K, **SETTINGS), CAP)
    fresh.load_state_dict(saved)
    assert fresh.epoch == EPOCHS
    np.testing.assert_array_equal(fresh.strengths, plain.strengths)


def test_distributed_estimator_rejects_a_non_estimator(group):
    with pytest.raises(TypeError, match="must be a SADAEstimator or an EntAugmentEstimator, got dict"):
        DistributedEstimator({}, CAP)


@pytest.mark.parametrize("batch_size", [0, True, 2.5])
def test_distributed_estimator_rejects_a_bad_batch_size(group, batch_size):
    with pytest.raises(
        ValueError, match=f"The `batch_size` must be an integer >= 1, got {batch_size!r}. It is the per-rank"
    ):
        DistributedEstimator(SADAEstimator(N, K), batch_size)


def test_distributed_estimator_needs_an_initialised_group():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="needs an initialised process group"):
        DistributedEstimator(SADAEstimator(N, K), CAP)


@pytest.mark.parametrize(
    "indices,logits,error,match",
    [
        (
            np.zeros(CAP + 1, np.int64),
            np.zeros((CAP + 1, K)),
            ValueError,
            "hold 7 rows but `batch_size` is 6",
        ),
        (
            np.zeros((2, 1), np.int64),
            np.zeros((2, K)),
            ValueError,
            r"The `indices` must be 1-D .*got shape \(2, 1\)",
        ),
        (
            np.zeros(2),
            np.zeros((2, K)),
            TypeError,
            "The `indices` must be an integer array .*got dtype torch.float64",
        ),
        (
            np.zeros(2, np.int64),
            np.zeros((2, K + 1)),
            ValueError,
            r"The `logits` must have shape \(batch, 7\), got \(2, 8\)",
        ),
        (
            np.zeros(2, np.int64),
            np.zeros(2),
            ValueError,
            r"The `logits` must have shape \(batch, 7\), got \(2,\)",
        ),
        (
            np.zeros(2, np.int64),
            np.zeros((2, K), np.int32),
            TypeError,
            "The `logits` must be a float array .*torch.int32",
        ),
        (np.zeros(2, np.int64), np.zeros((3, K)), ValueError, "same batch length, got 2 and 3"),
        ("abc", np.zeros((2, K)), TypeError, "The `indices` must be an array .*got str"),
    ],
)
def test_update_rejects_a_bad_batch_before_communicating(group, indices, logits, error, match):
    estimator = DistributedEstimator(SADAEstimator(N, K), CAP)
    with pytest.raises(error, match=match):
        estimator.update(indices, logits)
    assert not estimator.valid.any() and estimator.num_skipped == 0


def test_shard_resolution_without_a_group_is_one_shard_and_explicit_values_win():
    assert shard_info() == (1, 0) and resolve_shards(None, None) == (1, 0)
    assert resolve_shards(4, 3) == (4, 3)


@pytest.mark.parametrize("num_shards,shard_id", [(None, 1), (2, None)])
def test_shard_resolution_rejects_only_one_explicit_value(num_shards, shard_id):
    with pytest.raises(ValueError, match="must be given together or both left None"):
        resolve_shards(num_shards, shard_id)


def test_gathers_run_on_the_host_for_gloo_and_on_this_ranks_gpu_for_nccl(monkeypatch):
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert _comm_device("gloo", 1) == torch.device("cpu")
    assert _comm_device("nccl", -1) == _comm_device("nccl", 1) == torch.device("cuda", 1)
    assert _comm_device("cpu:gloo,cuda:nccl", 1) == torch.device("cuda", 1)
    with pytest.raises(
        ValueError, match=r"The `estimator` is on cuda:0 but this rank's CUDA device is cuda:1"
    ):
        _comm_device("nccl", 0)


@pytest.mark.gpu
def test_nccl_replica_on_the_gpu_matches_a_gpu_estimator_fed_the_same_rows(tmp_path):
    torch.cuda.set_device(0)
    dist.init_process_group("nccl", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        estimator = DistributedEstimator(SADAEstimator(N, K, device="cuda:0", **SETTINGS), CAP)
        plain = SADAEstimator(N, K, device="cuda:0", **SETTINGS)
        assert estimator.device == torch.device("cuda", 0)
        for epoch in make_schedule(1, torch.float16):
            for ((idx, logits),) in epoch:
                estimator.update(idx.cuda(), logits.cuda())
                if len(idx):
                    plain.update(idx.cuda(), logits.cuda())
            np.testing.assert_array_equal(estimator.end_epoch().get(), plain.end_epoch().get())
        assert estimator.num_skipped == plain.num_skipped == 2
        np.testing.assert_array_equal(estimator.state_dict()["log_prev"], plain.state_dict()["log_prev"])
    finally:
        dist.destroy_process_group()


def test_padding_rows_never_reach_the_estimator_even_after_an_out_of_range_row(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        estimator = DistributedEstimator(SADAEstimator(10, 3), batch_size=4)
        with pytest.raises(ValueError, match=r"The `indices` must lie in \[0, 10\), got 12 at batch row 1;"):
            estimator.update(torch.tensor([3, 12]), torch.zeros(2, 3))
        estimator.update(torch.tensor([3, 5]), torch.full((2, 3), 1.0))
        assert estimator.state_dict()["seen"].tolist() == [0, 0, 0, 1, 0, 1, 0, 0, 0, 0]
        assert estimator.num_skipped == 0
    finally:
        dist.destroy_process_group()
