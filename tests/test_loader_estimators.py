"""SADALoader(estimator=...): one argument chooses the per-sample policy, by name or as an object."""

import numpy as np
import pytest
import torch
from _images import write_image_folder

from sada_dali.estimator import EntAugmentEstimator, SADAEstimator
from sada_dali.loader import SADALoader
from sada_dali.loader._build import create_loader_estimator

WHERE = dict(num_samples=20, num_classes=4, device="cpu", device_id=None, seed=9, batch_size=5)


@pytest.mark.parametrize(
    "choice, kind", [(True, SADAEstimator), ("sada", SADAEstimator), ("entaugment", EntAugmentEstimator)]
)
def test_a_name_or_true_creates_that_estimator_on_the_loaders_device_and_seed(choice, kind):
    est = create_loader_estimator(choice, **WHERE)
    assert type(est) is kind
    assert (est.config.num_samples, est.config.num_classes, est.config.seed) == (20, 4, 9)
    assert est.config.device == "cpu"


def test_none_false_and_an_object_pass_through():
    own = EntAugmentEstimator(20, 4, warmup_epochs=3)
    assert create_loader_estimator(None, **WHERE) is None and create_loader_estimator(False, **WHERE) is None
    assert create_loader_estimator(own, **WHERE) is own


def test_an_unknown_name_or_object_is_rejected_naming_the_choices():
    with pytest.raises(
        ValueError, match=r"The `estimator` must be 'sada', 'entaugment', True.*got 'trivial'"
    ):
        create_loader_estimator("trivial", **WHERE)
    with pytest.raises(TypeError, match=r"The `estimator` must be True, 'sada', 'entaugment'.*got int"):
        create_loader_estimator(3, **WHERE)


def test_loader_with_entaugment_feeds_it_and_reads_its_strengths_each_epoch(tmp_path):
    write_image_folder(tmp_path, num_classes=2, per_class=5, sizes=(32, 40), seed=1)
    loader = SADALoader(
        tmp_path, 5, device="cpu", image_size=16, workers=0, num_threads=1, seed=2, estimator="entaugment"
    )
    try:
        est = loader.estimator
        assert isinstance(est, EntAugmentEstimator) and est.config.num_classes == 2
        for epoch in range(2):
            loader.set_epoch(epoch)
            for _images, labels, _indices in loader:
                loader.feed(torch.nn.functional.one_hot(labels, 2).float() * 5.0)
        assert est.epoch == 1 and est.valid.all()
        np.testing.assert_array_equal(loader.strengths, est.strengths)
        assert np.all(est.strengths == est.strengths[0])  # the same confidence for every sample
    finally:
        loader.close()
