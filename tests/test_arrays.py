"""Any trainer's arrays reach the estimator and the strength table: torch, NumPy and bare DLPack producers."""

import numpy as np
import pytest
import torch

from sada_dali import SADAEstimator
from sada_dali._utils.arrays import as_host_array, is_device_array
from sada_dali.strength import validate_strengths


class DLPackOnly:
    """Exposes nothing but the DLPack protocol, as JAX or TensorFlow arrays do."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_bare_dlpack_producer_is_read_without_copy_on_the_host():
    base = np.arange(6, dtype=np.float32)
    view = as_host_array(DLPackOnly(base), name="x")
    assert np.shares_memory(view, base) and not is_device_array(DLPackOnly(base))


def test_estimator_gives_the_same_state_for_dlpack_torch_and_numpy_inputs():
    rng = np.random.default_rng(0)
    steps = [(rng.permutation(12)[:5], rng.normal(size=(5, 4)).astype(np.float32)) for _ in range(9)]
    feeds = {
        "numpy": lambda i, x: (i, x),
        "torch": lambda i, x: (torch.from_numpy(i), torch.from_numpy(x)),
        "dlpack": lambda i, x: (DLPackOnly(i), DLPackOnly(x)),
    }
    variances = {}
    for name, feed in feeds.items():
        est = SADAEstimator(12, 4, window=3, seed=1)
        for indices, logits in steps:
            est.update(*feed(indices, logits))
        variances[name] = np.asarray(est.variance).copy()
    assert variances["numpy"].max() > 0
    np.testing.assert_array_equal(variances["dlpack"], variances["numpy"])
    np.testing.assert_array_equal(variances["torch"], variances["numpy"])


def test_strengths_from_torch_bfloat16_and_dlpack_are_validated_and_widened():
    values = torch.linspace(0, 1, 5, dtype=torch.bfloat16)
    np.testing.assert_allclose(validate_strengths(values, 5), values.float().numpy())
    assert validate_strengths(DLPackOnly(np.full(3, 0.5, np.float64)), 3).dtype == np.float32


def test_non_numeric_input_is_rejected_naming_the_argument():
    with pytest.raises(TypeError, match="The `strengths` must be a numeric array"):
        validate_strengths(["a", "b"], 2)
    with pytest.raises(TypeError, match="The `x` must be a numeric array"):
        as_host_array({"not": "an array"}, name="x")


class FakeCuda:
    """A DLPack producer that reports CUDA memory on ``device``; CuPy never reads it here."""

    def __init__(self, device: int):
        self.device_index = device

    def __dlpack__(self, **kwargs):
        raise NotImplementedError("bfloat16 needs ml_dtypes")

    def __dlpack_device__(self):
        return (2, self.device_index)


def test_cuda_device_index_reads_the_device_from_metadata_only():
    from sada_dali._utils.arrays import cuda_device_index

    assert cuda_device_index(FakeCuda(1)) == 1
    assert cuda_device_index(DLPackOnly(np.zeros(2))) is None
    assert cuda_device_index(torch.zeros(2)) is None and cuda_device_index(np.zeros(2)) is None


def test_dlpack_import_failure_becomes_a_type_error_naming_the_argument(monkeypatch):
    cupy = pytest.importorskip("cupy")
    from sada_dali._utils.arrays import as_device_array

    monkeypatch.setattr(cupy, "from_dlpack", lambda x: x.__dlpack__())  # CuPy 14's path, minus the driver

    with pytest.raises(
        TypeError,
        match=r"The `logits` \(FakeCuda\) cannot be imported by CuPy through DLPack "
        r"\(bfloat16 needs ml_dtypes\).*pip install ml_dtypes",
    ):
        as_device_array(FakeCuda(0), name="logits")
