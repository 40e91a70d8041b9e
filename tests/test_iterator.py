"""SADAClassificationIterator under DALI's example loops, pairs mode behind a prefetcher, and feed()."""

import math

import numpy as np
import pytest
import torch
import torchvision
from _images import write_image_folder
from nvidia.dali.plugin.base_iterator import LastBatchPolicy

from sada_dali import SADAClassificationIterator, SADAEstimator
from sada_dali.loader import SADALoader
from sada_dali.loader._feed import MAX_UNFED

SIZE, BATCH, BINS = 32, 5, 11
COMMON = dict(device="cpu", image_size=SIZE, workers=0, num_threads=1, num_magnitude_bins=BINS, seed=3)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("imagenet")
    write_image_folder(root, num_classes=3, per_class=8, sizes=(40, 64), seed=2)
    return root


class RecordingEstimator:
    """Stands in for SADAEstimator where a test must see exactly which indices arrive."""

    def __init__(self, num_samples):
        self.strengths = np.ones(num_samples, np.float32)
        self.updates, self.epochs = [], 0

    def update(self, indices, logits):
        self.updates.append((torch.as_tensor(indices).clone(), torch.as_tensor(logits).clone()))

    def end_epoch(self):
        self.epochs += 1
        return self.strengths


def dali_example_train(train_loader, model, batch_size):
    """The body of DALI's ResNet-50 example ``train()``, plus the one line that feeds SADA."""
    seen = []
    for i, data in enumerate(train_loader):
        input = data[0]["data"]
        target = data[0]["label"].squeeze(-1).long()
        train_loader_len = int(math.ceil(train_loader._size / batch_size))
        output = model(input)
        train_loader.feed(output.detach(), target)  # added for SADA
        seen.append((data[0]["index"], target, train_loader_len))
    return seen


def dali_example_validate(val_loader, model, batch_size):
    correct = total = 0
    for i, data in enumerate(val_loader):
        input = data[0]["data"]
        target = data[0]["label"].squeeze(-1).long()
        with torch.no_grad():
            output = model(input)
        correct += int((output.argmax(1) == target).sum())
        total += input.size(0)
    return total


def tiny_model(num_classes=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(48, num_classes)
    )


def test_dali_example_loops_run_three_epochs_with_reset_and_feed_the_estimator(dataset):
    train_loader = SADAClassificationIterator(
        dataset, BATCH, last_batch_policy=LastBatchPolicy.PARTIAL, estimator=True, **COMMON
    )
    val_loader = SADAClassificationIterator(
        dataset, BATCH, train=False, last_batch_policy=LastBatchPolicy.PARTIAL, **COMMON
    )
    reference = torchvision.datasets.ImageFolder(str(dataset))
    model = tiny_model()
    assert train_loader._size == train_loader.size == 24 and train_loader.batch_size == BATCH
    assert len(train_loader) == 5
    for epoch in range(3):
        seen = dali_example_train(train_loader, model, BATCH)
        indices = torch.cat([s[0] for s in seen])
        labels = torch.cat([s[1] for s in seen])
        assert sorted(indices.tolist()) == list(range(24)), f"epoch {epoch} coverage"
        assert labels.tolist() == [reference.samples[i][1] for i in indices.tolist()]
        assert {s[2] for s in seen} == {5} and seen[0][0].shape == (BATCH,)
        assert dali_example_validate(val_loader, model, BATCH) == 24
        train_loader.reset()
        val_loader.reset()
    estimator = train_loader.estimator
    assert isinstance(estimator, SADAEstimator)
    assert estimator.epoch == 2  # end_epoch() ran at the start of epochs 1 and 2
    assert np.all(estimator.state_dict()["seen"] == 3)  # every sample fed once per epoch
    assert train_loader.epoch == 3


def test_labels_come_out_with_shape_b_by_1_as_dali_gives_them(dataset):
    loader = SADAClassificationIterator(dataset, BATCH, **COMMON)
    (batch,) = next(loader)
    assert set(batch) == {"data", "label", "index"}
    assert batch["label"].shape == (BATCH, 1) and batch["index"].shape == (BATCH,)
    assert batch["data"].shape == (BATCH, 3, SIZE, SIZE)
    assert loader.next()[0]["data"].shape[0] == BATCH


@pytest.mark.parametrize(
    "policy,sizes",
    [
        (LastBatchPolicy.FILL, [5] * 5),
        (LastBatchPolicy.PARTIAL, [5, 5, 5, 5, 4]),
        (LastBatchPolicy.DROP, [5] * 4),
    ],
)
def test_last_batch_policy_keeps_dali_meaning(dataset, policy, sizes):
    loader = SADAClassificationIterator(dataset, BATCH, last_batch_policy=policy, **COMMON)
    batches = [b[0]["index"] for b in loader]
    assert [len(b) for b in batches] == sizes and len(loader) == len(sizes)
    if policy == LastBatchPolicy.FILL:  # padding repeats the shard's first samples, as DALI's FILL wraps
        assert batches[-1][-1].item() == batches[0][0].item()


def test_without_auto_reset_the_iterator_stays_exhausted_until_reset(dataset):
    loader = SADAClassificationIterator(dataset, BATCH, **COMMON)
    assert len(list(loader)) == 5 and list(loader) == []
    loader.reset()
    assert len(list(loader)) == 5 and loader.epoch == 2


def test_auto_reset_starts_the_next_epoch_in_the_next_loop(dataset):
    loader = SADAClassificationIterator(dataset, BATCH, auto_reset="yes", **COMMON)
    first = torch.cat([b[0]["index"] for b in loader])
    second = torch.cat([b[0]["index"] for b in loader])
    assert len(first) == len(second) == 25 and not torch.equal(first, second) and loader.epoch == 2


class OneAheadPrefetcher:
    """Like timm's PrefetchLoader: holds the next batch while the loop works on the current one."""

    def __init__(self, loader):
        self.loader = loader

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        it = iter(self.loader)
        try:
            ahead = next(it)
        except StopIteration:
            return
        for nxt in it:
            yield ahead[0].float(), ahead[1].to("cpu", non_blocking=True)  # same-device .to() keeps storage
            ahead = nxt
        yield ahead[0].float(), ahead[1].to("cpu")


def test_pairs_behind_a_one_ahead_prefetcher_feed_exactly_the_right_indices(dataset):
    estimator = RecordingEstimator(24)
    loader = SADALoader(dataset, BATCH, pairs=True, drop_last=False, estimator=estimator, **COMMON)
    labels_of = torch.as_tensor(loader.listing.labels)
    for epoch in range(2):
        for images, target in OneAheadPrefetcher(loader):
            assert images.shape[0] == target.shape[0]
            logits = torch.nn.functional.one_hot(
                target, 3
            ).float()  # row r encodes the label it was made from
            loader.feed(logits, target)
        fed = estimator.updates[-5:]
        indices = torch.cat([i for i, _ in fed])
        assert indices.tolist() == loader.sampler.indices(epoch).tolist()
        for idx, logits in fed:
            assert torch.equal(logits.argmax(1), labels_of[idx])
    assert estimator.epochs == 1  # finished at the start of epoch 1; epoch 1 ends at the next start


def test_feed_raises_for_a_later_batchs_target(dataset):
    loader = SADALoader(dataset, BATCH, pairs=True, estimator=RecordingEstimator(24), **COMMON)
    it = iter(loader)
    next(it)
    _, second = next(it)
    with pytest.raises(ValueError, match="belongs to a later batch"):
        loader.feed(torch.zeros(BATCH, 3), second)


def test_feed_raises_for_copied_labels_with_other_values(dataset):
    loader = SADALoader(dataset, BATCH, pairs=True, estimator=RecordingEstimator(24), **COMMON)
    _, target = next(iter(loader))
    with pytest.raises(ValueError, match="not the labels of the oldest unfed batch"):
        loader.feed(torch.zeros(BATCH, 3), (target.clone() + 1) % 3)


def test_feed_accepts_a_copy_of_the_labels_with_the_same_values(dataset):
    estimator = RecordingEstimator(24)
    loader = SADALoader(dataset, BATCH, pairs=True, estimator=estimator, **COMMON)
    _, target = next(iter(loader))
    loader.feed(torch.zeros(BATCH, 3), target.numpy().copy())
    assert len(estimator.updates) == 1


def test_feed_raises_for_logits_with_the_wrong_row_count(dataset):
    loader = SADALoader(dataset, BATCH, pairs=True, estimator=RecordingEstimator(24), **COMMON)
    next(iter(loader))
    with pytest.raises(ValueError, match="The `logits` have 4 rows"):
        loader.feed(torch.zeros(4, 3))


def test_feed_raises_when_called_more_often_than_batches_were_yielded(dataset):
    loader = SADALoader(dataset, BATCH, pairs=True, estimator=RecordingEstimator(24), **COMMON)
    next(iter(loader))
    loader.feed(torch.zeros(BATCH, 3))
    with pytest.raises(RuntimeError, match="more often than the loader yielded"):
        loader.feed(torch.zeros(BATCH, 3))


def test_feed_raises_when_too_many_batches_went_unfed(tmp_path):
    write_image_folder(tmp_path, num_classes=2, per_class=20, sizes=(32, 40), seed=4)
    loader = SADALoader(tmp_path, 2, pairs=True, estimator=RecordingEstimator(40), **COMMON)
    it = iter(loader)
    for _ in range(MAX_UNFED + 1):
        next(it)
    with pytest.raises(RuntimeError, match=f"More than {MAX_UNFED} batches"):
        loader.feed(torch.zeros(2, 3))


def test_feed_without_an_estimator_says_how_to_get_one(dataset):
    loader = SADALoader(dataset, BATCH, pairs=True, **COMMON)
    next(iter(loader))
    with pytest.raises(RuntimeError, match="create the loader with estimator=True"):
        loader.feed(torch.zeros(BATCH, 3))


def test_an_estimator_on_a_validation_loader_is_refused(dataset):
    with pytest.raises(ValueError, match="The `estimator` applies only to a training loader"):
        SADALoader(dataset, BATCH, train=False, estimator=True, **COMMON)


def test_an_estimator_without_update_is_refused(dataset):
    with pytest.raises(TypeError, match="The `estimator` must be True"):
        SADALoader(dataset, BATCH, estimator=object(), **COMMON)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(last_batch_policy="SOMETIMES"), ValueError, "The `last_batch_policy` must be"),
        (dict(auto_reset="maybe"), ValueError, "The `auto_reset` must be True, False"),
        (dict(drop_last=True), TypeError, "takes no `drop_last`"),
        (dict(pairs=True), TypeError, "takes no `pairs`"),
    ],
)
def test_iterator_arguments_are_validated(dataset, kwargs, error, match):
    with pytest.raises(error, match=match):
        SADAClassificationIterator(dataset, BATCH, **kwargs, **COMMON)
