"""``benchmarks/_replay.py``: a loader built inside ``replaying_reads`` replays its first epoch."""

import os

import pytest

from sada_dali.data._reader import SampleReader
from sada_dali.data.synthetic import create_photo_corpus

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")


@pytest.fixture
def replaying_reads(monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)
    from _replay import replaying_reads

    return replaying_reads


def _epoch_indices(loader, epoch):
    loader.set_epoch(epoch)
    return [batch[2].tolist() for batch in loader]


@pytest.mark.slow
def test_a_loader_built_while_replaying_hands_dali_its_first_epoch_again(replaying_reads, tmp_path):
    from sada_dali.loader import SADALoader

    root = create_photo_corpus(tmp_path, num_images=24, num_classes=2, width=40, height=30, progress=False)
    source = os.path.join(root, "train")
    real = SampleReader.read_batch

    def build():
        return SADALoader(source, 8, device="cpu", image_size=16, num_threads=1, workers=0, seed=3)

    with replaying_reads():
        replaying = build()
    assert SampleReader.read_batch is real
    plain = build()
    try:
        first = _epoch_indices(replaying, 0)
        assert _epoch_indices(replaying, 1) == first
        assert sorted(sum(first, [])) == list(range(24))
        assert _epoch_indices(plain, 0) == first
        assert _epoch_indices(plain, 1) != first
    finally:
        replaying.close()
        plain.close()
