"""Exact mid-epoch resume of SADALoader (CPU pipeline), through an atomic checkpoint file."""

import numpy as np
import pytest
import torch
from _images import write_image_folder

from sada_dali.checkpoint import load_checkpoint, save_checkpoint
from sada_dali.estimator import SADAEstimator
from sada_dali.loader import SADALoader
from sada_dali.strength import StrengthTable

SIZE, BATCH, BINS, N = 32, 5, 11, 24


def make_loader(root, batch_size=BATCH, **kwargs):
    args = dict(
        device="cpu",
        image_size=SIZE,
        workers=0,
        num_threads=1,
        num_magnitude_bins=BINS,
        drop_last=False,
        seed=7,
    )
    args.update(kwargs)
    return SADALoader(root, batch_size, **args)


def fake_logits(indices, epoch):
    """Deterministic (B, 3) logits that change with the sample and the epoch."""
    idx = np.asarray(indices, dtype=np.float64)
    return torch.from_numpy(np.cos(np.outer(idx + 1, [1.0, 2.0, 3.0]) * (epoch + 1)))


def train_batches(batches, loader, estimator, epoch, limit=None):
    """Read ``batches`` of ``loader`` (all, or ``limit``), feeding each to ``estimator``."""
    out = []
    for images, labels, indices in batches:
        estimator.update(indices, fake_logits(indices, epoch))
        out.append((images, labels, indices, loader.choices(indices)))
        if limit is not None and len(out) == limit:
            break
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    write_image_folder(root, num_classes=3, per_class=8, sizes=(40, 64), seed=1)
    return root


@pytest.fixture(scope="module")
def loader(dataset):
    """A training loader the cheaper tests share (each loads the state it needs)."""
    return make_loader(dataset)


def test_resumed_run_matches_the_uninterrupted_run_to_the_pixel(dataset, tmp_path):
    estimator = SADAEstimator(N, 3)
    uninterrupted = make_loader(dataset, strengths=estimator)
    train_batches(uninterrupted, uninterrupted, estimator, 0)
    estimator.end_epoch()
    batches = iter(uninterrupted)
    first = train_batches(batches, uninterrupted, estimator, 1, limit=2)  # the "crash" comes after batch 2
    save_checkpoint(
        {"loader": uninterrupted.state_dict(), "estimator": estimator.state_dict()}, tmp_path / "ck.pt"
    )
    rest = train_batches(batches, uninterrupted, estimator, 1)  # the same pass goes on
    epoch1_strengths = uninterrupted.strengths.copy()

    saved = load_checkpoint(tmp_path / "ck.pt")
    restored = SADAEstimator(N, 3)
    restored.load_state_dict(saved["estimator"])
    resumed = make_loader(dataset, workers=1)  # another worker count: results must not change
    resumed.load_state_dict(saved["loader"])
    resumed.set_strengths(restored)
    assert resumed.epoch == 1 and saved["loader"]["position"] == 2
    replay = train_batches(resumed, resumed, restored, 1)

    assert [len(b[2]) for b in first + replay] == [5, 5, 5, 5, 4]
    for (images, labels, indices, choices), (images2, labels2, indices2, choices2) in zip(rest, replay):
        assert torch.equal(indices, indices2) and torch.equal(labels, labels2)
        for key in ("op", "magnitude_bin", "negate", "flip", "crop"):
            assert np.array_equal(choices[key], choices2[key]), key
        assert torch.equal(images, images2)  # random crop windows included
        assert len({tuple(window) for window in choices["crop"].tolist()}) == len(indices)
    seen = torch.cat([b[2] for b in first + replay]).tolist()
    assert sorted(seen) == list(range(N))
    assert np.array_equal(resumed.strengths, epoch1_strengths)
    assert len(np.unique(epoch1_strengths)) > 10  # per-sample warm-up draws, not a constant
    assert np.array_equal(estimator.end_epoch(), restored.end_epoch())
    assert np.array_equal(estimator.state_dict()["ring"], restored.state_dict()["ring"])
    assert resumed.epoch == uninterrupted.epoch == 2


def test_resume_uses_the_saved_strengths_and_new_ones_from_the_next_epoch(dataset, loader):
    first = np.linspace(0, 1, N, dtype=np.float32)
    donor = make_loader(dataset, strengths=first)
    iterator = iter(donor)
    next(iterator)
    state = donor.state_dict()
    loader.load_state_dict(state)
    loader.set_strengths(np.zeros(N, dtype=np.float32))
    batches = list(loader)
    assert np.array_equal(loader.strengths, first)  # the interrupted epoch keeps its strengths
    assert torch.cat([b[2] for b in batches]).tolist() == donor.sampler.indices(0)[BATCH:].tolist()
    next(iter(loader))
    assert float(loader.strengths.max()) == 0.0 and loader.epoch == 1


def test_state_after_an_epoch_points_to_the_start_of_the_next(loader):
    loader.set_epoch(3)
    iterator = iter(loader)
    for _ in range(len(loader)):
        next(iterator)
    assert (loader.state_dict()["epoch"], loader.state_dict()["position"]) == (4, 0)
    assert list(iterator) == [] and loader.epoch == 4
    assert (loader.state_dict()["epoch"], loader.state_dict()["position"]) == (4, 0)


def test_set_epoch_keeps_the_saved_position_only_for_the_saved_epoch(loader):
    state = loader.state_dict() | {"epoch": 2, "position": 3}
    loader.load_state_dict(state)
    assert (loader.state_dict()["epoch"], loader.state_dict()["position"]) == (2, 3)  # saved again unread
    loader.set_epoch(5)
    assert (loader.state_dict()["epoch"], loader.state_dict()["position"]) == (5, 0)
    assert next(iter(loader))[2].tolist() == loader.sampler.indices(5)[:BATCH].tolist()
    loader.load_state_dict(state)
    loader.set_epoch(2)
    assert next(iter(loader))[2].tolist() == loader.sampler.indices(2)[3 * BATCH : 4 * BATCH].tolist()


def test_validation_loader_resumes_in_listing_order(dataset):
    donor = make_loader(dataset, train=False, batch_size=7)
    iterator = iter(donor)
    next(iterator), next(iterator)
    resumed = make_loader(dataset, train=False, batch_size=7)
    resumed.load_state_dict(donor.state_dict())
    assert torch.cat([b[2] for b in resumed]).tolist() == list(range(14, N))
    assert donor.state_dict()["strengths"] is None and resumed.epoch == 1


def test_state_of_another_shard_layout_or_dataset_is_rejected(dataset, tmp_path, loader):
    state = loader.state_dict()
    with pytest.raises(ValueError, match="saved with num_shards=1 but this loader has num_shards=2"):
        make_loader(dataset, num_shards=2, shard_id=1).load_state_dict(state)
    write_image_folder(tmp_path, num_classes=3, per_class=7, sizes=(40, 40), seed=1)
    with pytest.raises(ValueError, match="saved with num_samples=24 but this loader has num_samples=21"):
        make_loader(tmp_path).load_state_dict(state)


@pytest.mark.parametrize("saved_train", [True, False])
def test_state_of_a_training_loader_is_refused_by_a_validation_loader_naming_train(dataset, saved_train):
    # with the default drop_last (True for training, False for validation) drop_last differs too:
    # `train` is the cause and is named first
    donor = make_loader(dataset, train=saved_train, drop_last=None)
    receiver = make_loader(dataset, train=not saved_train, drop_last=None)
    kind = "a training" if saved_train else "a validation"
    match = (
        rf"saved with train={saved_train} but this loader has train={not saved_train}; {kind} loader's "
        rf"state resumes only {kind} loader: create this one with train={saved_train}"
    )
    with pytest.raises(ValueError, match=match):
        receiver.load_state_dict(donor.state_dict())
    donor.close(), receiver.close()


def test_skipped_files_saved_twice_by_an_older_state_load_once(dataset, loader):
    state = loader.state_dict() | {"skipped_files": ["a/1.JPEG", "b/2.JPEG", "a/1.JPEG"], "num_skipped": 3}
    resumed = make_loader(dataset)
    resumed.load_state_dict(state)
    assert resumed.skipped_files == ["a/1.JPEG", "b/2.JPEG"] and resumed.num_skipped == 3
    assert resumed.state_dict()["skipped_files"] == ["a/1.JPEG", "b/2.JPEG"]
    resumed.close()


def test_the_state_of_rank_0_resumes_another_rank_of_the_same_layout(dataset):
    ranks = [make_loader(dataset, num_shards=2, shard_id=k) for k in (0, 1)]
    passes = [iter(rank) for rank in ranks]
    for running in passes:
        next(running)
    state = ranks[0].state_dict()  # scripts save on rank 0 only
    resumed = make_loader(dataset, num_shards=2, shard_id=1)
    resumed.load_state_dict(state)
    rest = [b[2].tolist() for b in passes[1]]
    assert [b[2].tolist() for b in resumed] == rest and len(rest) == len(ranks[1]) - 1


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("seed", 8, "saved with seed=8 but this loader has seed=7"),
        ("batch_size", 4, "saved with batch_size=4 but this loader has batch_size=5"),
        ("listing", "0" * 64, "saved with listing='0000"),
        ("num_magnitude_bins", 101, "saved with num_magnitude_bins=101"),
        ("drop_last", True, "saved with drop_last=True"),
        (
            "random_area",
            (0.5, 1.0),
            r"saved with random_area=\(0.5, 1.0\) but this loader has random_area=\(0.08, 1.0\)",
        ),
    ],
)
def test_state_with_another_fingerprint_is_rejected_naming_the_key(loader, key, value, match):
    state = loader.state_dict()
    state["config"] = dict(state["config"], **{key: value})
    epoch = loader.epoch
    with pytest.raises(ValueError, match=match):
        loader.load_state_dict(state)
    assert loader.epoch == epoch  # unchanged after a refused state


@pytest.mark.parametrize(
    "change,error,match",
    [
        ({"format": "other/1"}, ValueError, "must have format 'sada_dali.SADALoader/1', got 'other/1'"),
        ({"epoch": -1}, ValueError, r"state_dict\['epoch'\]` must be a non-negative integer, got -1"),
        ({"position": 5}, ValueError, r"state_dict\['position'\]` must be an integer in \[0, 5\), got 5"),
        (
            {"position": True},
            ValueError,
            r"state_dict\['position'\]` must be an integer in \[0, 5\), got True",
        ),
        ({"num_skipped": 1.5}, ValueError, r"state_dict\['num_skipped'\]` must be a non-negative integer"),
        ({"strengths": np.ones(3)}, ValueError, r"state_dict\['strengths'\]` must have shape \(24,\)"),
        (
            {"strengths": None},
            ValueError,
            r"state_dict\['strengths'\]` is None but this is a training loader",
        ),
        (
            {"pending_strengths": np.full(N, 2.0)},
            ValueError,
            r"state_dict\['pending_strengths'\]` must lie in \[0, 1\]",
        ),
        ({"skipped_files": "a.jpg"}, ValueError, r"state_dict\['skipped_files'\]` must be a list of paths"),
    ],
)
def test_state_with_a_bad_value_is_rejected(loader, change, error, match):
    with pytest.raises(error, match=match):
        loader.load_state_dict(loader.state_dict() | change)


def test_state_that_is_not_a_loader_state_is_rejected(loader):
    with pytest.raises(TypeError, match="must be a dict from SADALoader.state_dict"):
        loader.load_state_dict([1, 2])
    state = loader.state_dict()
    del state["position"]
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['position'\]"):
        loader.load_state_dict(state)


def test_choices_are_refused_on_a_validation_loader_and_negative_starts_by_the_table(dataset):
    with pytest.raises(ValueError, match="`choices` exist only on a training loader"):
        make_loader(dataset, train=False).choices([0])
    table = StrengthTable(4)
    with pytest.raises(ValueError, match="`start` must be a non-negative integer, got -5"):
        table.set_epoch(1, start=-5)
    table.set_epoch(2, start=10)
    assert (table.epoch, table.start) == (2, 10)
    table.close()
