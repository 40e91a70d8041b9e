"""The precomputed parameter tables of the SADA ops (``sada_dali.pipelines._tables``).

The tables must hold exactly what DALI's ``Augmentation`` computed while tracing, for every op
and bin, and a pipeline must look each sample's parameter up at ``2 * bin + negate``.
"""

import numpy as np
import pytest
from nvidia.dali import fn, pipeline_def, types
from nvidia.dali.auto_aug.core import augmentation
from nvidia.dali.auto_aug.core._augmentation import _SignedMagnitudeBin

from sada_dali.op_space import OPS, create_op_space
from sada_dali.pipelines._tables import SignedBin, TabledAugmentation, parameter_table, signed_bins, tabulate
from sada_dali.pipelines.dali_ops import apply_sada_op, create_augmentation, create_augmentations


def _dali_table(aug, num_bins):
    """The parameters DALI's own ``Augmentation._get_param`` builds its constant from."""
    magnitudes = aug._get_magnitudes(num_bins)
    if magnitudes is None:
        return None
    if aug.randomly_negate:
        magnitudes = _SignedMagnitudeBin._remap_to_signed_magnitudes(magnitudes)
    return aug._map_mags_to_params(magnitudes)


@pytest.mark.parametrize("num_bins", [101, 31, 2])
@pytest.mark.parametrize("relative", [None, 0.2])
def test_every_op_and_bin_gets_exactly_the_parameter_dali_computed(num_bins, relative):
    for spec in create_op_space(translate_relative=relative):
        aug = create_augmentation(spec)
        want, got = _dali_table(aug, num_bins), parameter_table(aug, num_bins)
        if want is None:
            assert got is None, spec.name
            continue
        assert got.dtype == want.dtype and got.shape == want.shape, spec.name
        assert np.array_equal(got, want), spec.name
        assert len(got) == (2 if aug.randomly_negate else 1) * num_bins


def test_signed_rows_interleave_each_magnitude_with_its_negation():
    rotate = create_augmentation(create_op_space()[OPS.index("rotate")])
    table = parameter_table(rotate, 4)
    np.testing.assert_array_equal(table, np.float32([0, -0, 10, -10, 20, -20, 30, -30]))


def test_explicit_magnitudes_are_used_as_the_grid():
    @augmentation(mag_range=np.float32([1, 4, 9]))
    def explicit(data, param):
        return data

    np.testing.assert_array_equal(parameter_table(explicit, 3), np.float32([1, 4, 9]))


def test_explicit_magnitudes_of_another_count_are_rejected():
    @augmentation(mag_range=np.float32([1, 4, 9]))
    def explicit(data, param):
        return data

    with pytest.raises(ValueError, match="has 3 explicit magnitudes, but `num_magnitude_bins` is 5"):
        parameter_table(explicit, 5)


def test_parameters_of_different_shapes_are_rejected():
    @augmentation(mag_range=(0, 2), mag_to_param=lambda m: np.zeros(int(m) + 1))
    def ragged(data, param):
        return data

    with pytest.raises(ValueError, match="must give parameters of one shape and dtype"):
        parameter_table(ragged, 3)


def test_signed_bins_index_row_two_bin_plus_negate():
    assert signed_bins(3, 1) == SignedBin(3, 7)
    assert signed_bins(0, 0).signed_magnitude_idx == 0


def test_tabulate_keeps_each_op_and_its_name():
    augs = create_augmentations()
    tabled = tabulate(augs, 11)
    assert [t.op for t in tabled] == [a.op for a in augs]
    assert all(isinstance(t, TabledAugmentation) for t in tabled)
    assert repr(tabled[OPS.index("rotate")]) == "TabledAugmentation(rotate)"


# --- in a pipeline: each sample's parameter is its row, the op gets only its keywords -------

BINS = 6


@augmentation(mag_range=(0, 10), randomly_negate=True)
def _emit_signed(data, param, fill_value=None):  # takes one of the keywords apply_sada_op passes
    return fn.cast(param, dtype=types.FLOAT)


@augmentation(mag_range=(0, 5))
def _emit_unsigned(data, param):  # takes none of them
    return fn.cast(param, dtype=types.FLOAT)


@pipeline_def(enable_conditionals=True, batch_size=8, num_threads=1, device_id=None, prefetch_queue_depth=1)
def _emit_pipeline():
    images = fn.external_source(name="images", dtype=types.UINT8, layout="HWC")
    op_idx, magnitude_bin, negate = (
        fn.external_source(name=n, dtype=types.INT32) for n in ("op_idx", "magnitude_bin", "negate")
    )
    return apply_sada_op(
        images,
        op_idx,
        magnitude_bin,
        negate,
        augmentations=[_emit_signed, _emit_unsigned],
        num_magnitude_bins=BINS,
    )


def test_a_pipeline_looks_each_sample_parameter_up_at_its_bin_and_sign():
    pipe = _emit_pipeline()
    pipe.build()
    ops, bins, negate = [0, 0, 0, 1, 1, 0, 1, 0], [0, 5, 2, 3, 5, 4, 0, 1], [0, 1, 1, 1, 0, 0, 1, 1]
    # the ops never read the images, so DALI prunes their input
    for name, values in (("op_idx", ops), ("magnitude_bin", bins), ("negate", negate)):
        pipe.feed_input(name, [np.int32(v) for v in values])
    (out,) = pipe.run()
    got = [float(np.array(out[i])) for i in range(8)]
    want = [(-1.0 if n else 1.0) * 2.0 * b if op == 0 else 1.0 * b for op, b, n in zip(ops, bins, negate)]
    np.testing.assert_allclose(got, want, rtol=1e-6)
