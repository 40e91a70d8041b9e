"""Leaving an epoch early costs a few batches of reading, not the rest of the epoch."""

import pytest
from _images import write_image_folder

from sada_dali import SADAClassificationIterator
from sada_dali.data._reader import SampleReader
from sada_dali.loader import SADALoader

BATCH, DEPTH = 4, 2


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("many")
    write_image_folder(root, num_classes=4, per_class=50, sizes=(24, 32), seed=5)  # 50 batches of 4
    return root


@pytest.fixture
def reads(monkeypatch):
    """Counts the files the reader opens (workers=0 reads in this process)."""
    count = [0]
    original = SampleReader.read

    def counting(self, index, *packer):
        count[0] += 1
        return original(self, index, *packer)

    monkeypatch.setattr(SampleReader, "read", counting)
    return count


def make(cls, root, **kwargs):
    return cls(
        root,
        BATCH,
        device="cpu",
        image_size=16,
        workers=0,
        num_threads=1,
        num_magnitude_bins=3,
        prefetch_queue_depth=DEPTH,
        **kwargs,
    )


def break_after(loader, steps):
    """Leave a ``for`` loop over ``loader`` after ``steps + 1`` batches, as a training script would."""
    for step, _ in enumerate(loader):
        if step == steps:
            break


def test_breaking_out_then_starting_the_next_epoch_reads_at_most_depth_plus_one_batches(dataset, reads):
    loader = make(SADALoader, dataset)
    break_after(loader, 5)
    before = reads[0]
    loader.set_epoch(1)
    batch = next(iter(loader))
    assert len(batch[2]) == BATCH
    # the abandoned epoch's leftovers plus the new epoch's first batch and its read-ahead
    assert reads[0] - before <= 2 * (DEPTH + 1) * BATCH
    assert loader.epoch == 1


def test_abandoning_reads_no_file_of_the_rest_of_the_epoch(dataset, reads):
    loader = make(SADALoader, dataset)
    it = iter(loader)
    for _ in range(3):
        next(it)
    before = reads[0]
    loader._runner.abandon()
    assert reads[0] - before <= (DEPTH + 1) * BATCH
    assert not loader._runner.in_epoch and not loader._table.stop


def test_the_next_epoch_after_an_early_exit_is_complete(dataset):
    loader = make(SADALoader, dataset, seed=1)
    break_after(loader, 2)
    loader.set_epoch(4)
    indices = [i for _, _, batch in loader for i in batch.tolist()]
    assert sorted(indices) == list(range(200)) and indices == loader.sampler.indices(4).tolist()


def test_reset_in_the_middle_of_an_epoch_ends_it_cheaply_and_moves_on(dataset, reads):
    loader = make(SADAClassificationIterator, dataset)
    break_after(loader, 3)
    before = reads[0]
    loader.reset()
    assert reads[0] - before <= (DEPTH + 1) * BATCH
    assert loader.epoch == 1
    assert sum(len(b[0]["index"]) for b in loader) == 200
