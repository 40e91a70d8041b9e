"""What real training scripts read and pass: validation coverage, num_classes, the torch attributes,
normalize=False, soft targets, the owned estimator in state_dict, and DALI's iterator keywords."""

import numpy as np
import pytest
import torch
import torchvision
from _images import write_image_folder
from nvidia.dali.plugin.base_iterator import LastBatchPolicy

from sada_dali import SADAClassificationIterator
from sada_dali.loader import SADALoader

SIZE, BINS = 32, 11
COMMON = dict(device="cpu", image_size=SIZE, workers=0, num_threads=1, num_magnitude_bins=BINS, seed=3)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("val32")
    write_image_folder(root, num_classes=4, per_class=8, sizes=(40, 56), seed=5)
    return root


def indices_of(loader):
    return [b[2] for b in loader]


def test_validation_over_32_images_at_batch_24_yields_every_image_once(dataset):
    loader = SADALoader(dataset, 24, train=False, **COMMON)
    batches = indices_of(loader)
    assert [len(b) for b in batches] == [24, 8] and len(loader) == 2
    assert torch.cat(batches).tolist() == list(range(32))  # listing order, nothing dropped


@pytest.mark.parametrize("num_shards,rows", [(2, [[16], [16]]), (3, [[11], [11], [10]])])
def test_validation_shards_together_yield_every_image_once_with_uneven_last_batches(
    dataset, num_shards, rows
):
    seen, sizes = [], []
    for shard in range(num_shards):
        loader = SADALoader(dataset, 24, train=False, num_shards=num_shards, shard_id=shard, **COMMON)
        batches = indices_of(loader)
        sizes.append([len(b) for b in batches])
        seen.extend(torch.cat(batches).tolist())
        loader.close()
    assert sizes == rows  # as many batches on every rank; the shorter shard's last batch is shorter
    assert sorted(seen) == list(range(32))


def test_validation_with_several_batches_per_shard_keeps_the_batch_count_equal_across_shards(dataset):
    sizes, seen = [], []
    for shard in range(3):
        loader = SADALoader(dataset, 5, train=False, num_shards=3, shard_id=shard, **COMMON)
        batches = indices_of(loader)
        sizes.append([len(b) for b in batches])
        seen.extend(torch.cat(batches).tolist())
    assert sizes == [[5, 5, 1], [5, 5, 1], [5, 5, 0]]  # DALI's PARTIAL gives the same shapes
    assert sorted(seen) == list(range(32))


def test_an_explicit_drop_last_still_drops_on_a_validation_loader(dataset):
    loader = SADALoader(dataset, 24, train=False, drop_last=True, **COMMON)
    assert [len(b) for b in indices_of(loader)] == [24]


def test_num_classes_sizes_the_owned_estimator_for_a_1000_class_head(dataset):
    loader = SADALoader(dataset, 8, pairs=True, estimator=True, num_classes=1000, **COMMON)
    assert loader.estimator.config.num_classes == 1000
    for _, target in loader:
        loader.feed(torch.randn(target.shape[0], 1000), target)
    assert np.all(loader.estimator.state_dict()["seen"] == 1)


def test_logits_wider_than_the_class_count_name_num_classes(dataset):
    loader = SADAClassificationIterator(dataset, 8, estimator=True, **COMMON)
    (batch,) = next(loader)
    with pytest.raises(ValueError, match=r"1000 wide but the estimator counts num_classes=4.*=1000"):
        loader.feed(torch.randn(8, 1000), batch["label"].squeeze(-1))


def test_num_classes_must_be_a_positive_integer(dataset):
    with pytest.raises(ValueError, match=r"`num_classes` must be an integer >= 1, got 0"):
        SADALoader(dataset, 8, estimator=True, num_classes=0, **COMMON)


def test_dataset_reads_like_torchvisions_image_folder(dataset):
    loader = SADALoader(dataset, 8, train=False, **COMMON)
    reference = torchvision.datasets.ImageFolder(str(dataset))
    ours = loader.dataset
    assert len(ours) == len(reference) == 32
    assert list(ours.classes) == reference.classes and ours.class_to_idx == reference.class_to_idx
    assert ours.samples == reference.samples == ours.imgs and ours.targets == reference.targets


def timm_style_set_loader_epoch(loader, epoch):
    """What timm's train.py does before each epoch: set_epoch on whichever of these has it."""
    for name in ("dataset", "batch_sampler", "sampler"):
        part = getattr(loader, name, None)
        if hasattr(part, "set_epoch"):
            part.set_epoch(epoch)


def test_timms_set_loader_epoch_sets_the_epoch_the_loader_reads(dataset):
    loader = SADALoader(dataset, 8, drop_last=False, **COMMON)
    reference = SADALoader(dataset, 8, drop_last=False, **COMMON)
    for epoch in (3, 1):
        timm_style_set_loader_epoch(loader, epoch)
        reference.set_epoch(epoch)
        assert loader.epoch == epoch
        order = torch.cat(indices_of(loader)).tolist()
        assert order == torch.cat(indices_of(reference)).tolist()
        assert order == loader.sampler.indices(epoch).tolist()
    assert loader.batch_sampler is loader.sampler


def test_sampler_set_epoch_discards_a_loaded_position_like_loader_set_epoch(dataset):
    donor = SADALoader(dataset, 8, train=False, **COMMON)
    it = iter(donor)
    next(it)
    state = donor.state_dict()
    assert (state["epoch"], state["position"]) == (0, 1)
    loader = SADALoader(dataset, 8, train=False, **COMMON)
    loader.load_state_dict(state)
    loader.sampler.set_epoch(0)  # the saved epoch: the position is kept
    assert loader.state_dict()["position"] == 1
    loader.sampler.set_epoch(2)  # another epoch: discarded, as loader.set_epoch(2) does
    assert (loader.state_dict()["epoch"], loader.state_dict()["position"]) == (2, 0)
    loader.set_epoch(0)
    assert len(indices_of(loader)) == 4


@pytest.mark.parametrize("train", [True, False])
def test_normalize_false_yields_uint8_nchw_images(dataset, train):
    loader = SADALoader(dataset, 8, train=train, normalize=False, **COMMON)
    images, _, _ = next(iter(loader))
    assert images.dtype == torch.uint8 and images.shape == (8, 3, SIZE, SIZE)
    assert int(images.max()) > 1  # pixel values, not normalised ones


def test_uint8_images_normalised_by_hand_equal_the_default_float_output(dataset):
    raw = next(iter(SADALoader(dataset, 8, train=False, normalize=False, **COMMON)))[0]
    normalised = next(iter(SADALoader(dataset, 8, train=False, **COMMON)))[0]
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    torch.testing.assert_close((raw.float() - mean) / std, normalised, atol=1e-4, rtol=1e-4)


def test_normalize_false_with_fp16_is_refused(dataset):
    with pytest.raises(ValueError, match="`fp16` option applies to normalised images"):
        SADALoader(dataset, 8, normalize=False, fp16=True, **COMMON)


class Recorder:
    def __init__(self, num_samples):
        self.strengths = np.ones(num_samples, np.float32)
        self.updates = []

    def update(self, indices, logits):
        self.updates.append(torch.as_tensor(indices).clone())

    def end_epoch(self):
        return self.strengths


def test_soft_targets_are_paired_by_their_row_count(dataset):
    recorder = Recorder(32)
    loader = SADALoader(dataset, 8, pairs=True, estimator=recorder, **COMMON)
    for _, target in loader:
        soft = torch.nn.functional.one_hot(target, 4).float() * 0.8 + 0.05  # mixup-like (B, K)
        loader.feed(torch.randn(8, 4), soft.flip(0))  # mixed rows: no labels to compare
    assert torch.cat(recorder.updates).tolist() == loader.sampler.indices(0).tolist()


@pytest.mark.parametrize(
    "make_target,match",
    [
        (lambda t: torch.ones(5, 4), r"has shape \(5, 4\), but the oldest unfed batch has 8 rows"),
        (lambda t: t[:5].clone(), r"has shape \(5,\), but the oldest unfed batch has 8 rows"),
        (lambda t: torch.ones(8, 4, 2), r"has shape \(8, 4, 2\)"),
        (lambda t: (t.clone() + 1) % 4, "not the labels of the oldest unfed batch"),
    ],
)
def test_feed_tells_a_shape_problem_from_an_order_mismatch(dataset, make_target, match):
    loader = SADALoader(dataset, 8, pairs=True, estimator=Recorder(32), **COMMON)
    _, target = next(iter(loader))
    with pytest.raises(ValueError, match=match):
        loader.feed(torch.randn(8, 4), make_target(target))


def run_epoch(loader, stop=None):
    for step, (images, target) in enumerate(loader, 1):
        loader.feed(torch.nn.functional.one_hot(target, 4).float() * (1 + images.mean()), target)
        if step == stop:
            return


def test_state_dict_carries_the_owned_estimator_and_load_restores_both(dataset):
    trained = SADALoader(dataset, 8, pairs=True, estimator=True, **COMMON)
    run_epoch(trained)
    state = trained.state_dict()  # end of epoch 0: its end_epoch() is still due
    assert state["estimator"]["end_epoch_due"] is True and (state["epoch"], state["position"]) == (1, 0)
    resumed = SADALoader(dataset, 8, pairs=True, estimator=True, **COMMON)
    resumed.load_state_dict(state)
    for name, value in trained.estimator.state_dict().items():
        assert np.array_equal(np.asarray(resumed.estimator.state_dict()[name]), np.asarray(value)), name
    run_epoch(trained, stop=2)
    run_epoch(resumed, stop=2)
    assert np.array_equal(trained.strengths, resumed.strengths)  # both finished epoch 0 the same way
    assert trained.estimator.epoch == resumed.estimator.epoch == 1


def test_the_state_survives_torch_load_with_its_default_weights_only(dataset, tmp_path):
    loader = SADALoader(dataset, 8, pairs=True, estimator=True, **COMMON)
    run_epoch(loader, stop=2)
    torch.save({"epoch": 1, "sada": loader.state_dict()}, tmp_path / "checkpoint.pth.tar")
    state = torch.load(tmp_path / "checkpoint.pth.tar")["sada"]  # what the peer scripts call
    resumed = SADALoader(dataset, 8, pairs=True, estimator=True, **COMMON)
    resumed.load_state_dict(state)
    assert (resumed.state_dict()["epoch"], resumed.state_dict()["position"]) == (0, 2)
    assert np.array_equal(resumed.estimator.state_dict()["seen"], loader.estimator.state_dict()["seen"])


def test_a_state_without_the_estimator_is_refused_by_a_loader_that_owns_one(dataset):
    plain = SADALoader(dataset, 8, pairs=True, **COMMON)
    owner = SADALoader(dataset, 8, pairs=True, estimator=True, **COMMON)
    with pytest.raises(ValueError, match=r"state_dict\['estimator'\]` is None but this loader owns one"):
        owner.load_state_dict(plain.state_dict())
    with pytest.raises(ValueError, match=r"is a state but this loader owns no estimator"):
        plain.load_state_dict(owner.state_dict())
    broken = {**owner.state_dict(), "estimator": {"state_dict": {}, "end_epoch_due": "yes"}}
    with pytest.raises(ValueError, match=r"a bool 'end_epoch_due'"):
        owner.load_state_dict(broken)


VAL = dict(COMMON, train=False)


@pytest.mark.parametrize(
    "kwargs,sizes",
    [
        (dict(reader_name="Reader"), [5] * 7),
        (dict(reader_name="Reader", last_batch_policy=LastBatchPolicy.PARTIAL), [5] * 6 + [2]),
        (dict(last_batch_padded=False, last_batch_policy=LastBatchPolicy.DROP), [5] * 6),
        (dict(dynamic_shape=True), [5] * 7),
        (dict(prepare_first_batch=False), [5] * 7),
        (dict(size=32, last_batch_policy=LastBatchPolicy.PARTIAL), [5] * 6 + [2]),
        (dict(size=-1), [5] * 7),
    ],
)
def test_dali_iterator_keywords_are_accepted_with_dalis_meaning(dataset, kwargs, sizes):
    loader = SADAClassificationIterator(dataset, 5, **kwargs, **VAL)
    assert [len(b[0]["index"]) for b in loader] == sizes and loader.size == 32


@pytest.mark.parametrize("fill,sizes", [(True, [5] * 7), (False, [5] * 6 + [2])])
def test_fill_last_batch_is_dalis_deprecated_alias_and_overrides_the_policy(dataset, fill, sizes):
    with pytest.warns(DeprecationWarning, match="`fill_last_batch` is deprecated"):
        loader = SADAClassificationIterator(
            dataset, 5, fill_last_batch=fill, last_batch_policy=LastBatchPolicy.DROP, **VAL
        )
    assert [len(b[0]["index"]) for b in loader] == sizes


def test_auto_reset_keyword_reads_the_next_epoch_in_the_next_loop(dataset):
    loader = SADAClassificationIterator(dataset, 8, auto_reset=True, **VAL)
    assert len(list(loader)) == len(list(loader)) == 4 and loader.epoch == 2


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(last_batch_padded=True), ValueError, r"`last_batch_padded=True`.*LastBatchPolicy.PARTIAL"),
        (dict(size=30), ValueError, r"`size` 30 is not this shard's sample count \(32\).*drop `size=`"),
        (dict(reader_name="Reader", size=32), ValueError, "`size` and `reader_name` are mutually exclusive"),
        (dict(reader_name=3), TypeError, "`reader_name` must be a str"),
        (dict(prepare_first_batch="yes"), TypeError, "`prepare_first_batch` must be a bool"),
    ],
)
def test_dali_iterator_keywords_without_an_equivalent_are_refused_naming_the_replacement(
    dataset, kwargs, error, match
):
    with pytest.raises(error, match=match):
        SADAClassificationIterator(dataset, 5, **kwargs, **VAL)
