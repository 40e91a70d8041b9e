"""The shared argument checks: integers, devices and the shape every saved state is checked for."""

import numpy as np
import pytest

from sada_dali._utils.checks import check_device, check_int, check_state_count, check_state_keys
from sada_dali.strength import StrengthTable


def test_check_int_returns_python_ints_for_python_and_numpy_integers():
    assert check_int(np.int64(3), "n", 1) == 3 and type(check_int(np.int64(3), "n", 1)) is int
    assert check_int(255, "fill", 0, maximum=255) == 255


@pytest.mark.parametrize(
    "value, kwargs, match",
    [
        (0, {}, r"The `n` must be an integer >= 1, got 0\.$"),
        (True, {}, r"The `n` must be an integer >= 1, got True\."),
        (2.0, {}, r"The `n` must be an integer >= 1, got 2\.0\."),
        (None, {}, r"The `n` must be an integer >= 1, got None\."),
        (9, {"maximum": 8}, r"The `n` must be an integer in \[1, 8\], got 9\.$"),
        (0, {"hint": "It counts rows."}, r"The `n` must be an integer >= 1, got 0\. It counts rows\.$"),
    ],
)
def test_check_int_names_the_argument_the_bound_and_the_value(value, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_int(value, "n", 1, **kwargs)


def test_check_device_accepts_gpu_and_cpu_only():
    assert check_device("cpu") == "cpu" and check_device("gpu") == "gpu"
    with pytest.raises(ValueError, match="The `device` must be 'gpu' or 'cpu', got 'cuda'"):
        check_device("cuda")


STATE = {"format": "x/1", "epoch": 2, "position": 3}


@pytest.mark.parametrize(
    "state, error, match",
    [
        ([1], TypeError, r"The loader `state_dict` must be a dict from Thing.state_dict\(\), got list\."),
        (
            STATE | {"format": "y/1"},
            ValueError,
            r"The loader `state_dict` must have format 'x/1', got 'y/1'\.",
        ),
        (
            {"format": "x/1"},
            ValueError,
            r"lacks the key\(s\) \['epoch', 'position'\]; pass an unmodified Thing",
        ),
    ],
)
def test_check_state_keys_rejects_another_type_format_or_missing_keys(state, error, match):
    with pytest.raises(error, match=match):
        check_state_keys(state, owner="Thing", fmt="x/1", keys=("epoch", "position"), prefix="loader ")


def test_check_state_keys_accepts_a_complete_state():
    check_state_keys(STATE, owner="Thing", fmt="x/1", keys=("epoch", "position"))


@pytest.mark.parametrize(
    "value, upper, match",
    [
        (-1, None, r"The `state_dict\['epoch'\]` must be a non-negative integer, got -1\."),
        (True, None, r"must be a non-negative integer, got True"),
        (1.5, None, r"must be a non-negative integer, got 1\.5"),
        (4, 4, r"The `state_dict\['epoch'\]` must be an integer in \[0, 4\), got 4\."),
    ],
)
def test_check_state_count_rejects_what_is_not_a_count_in_range(value, upper, match):
    with pytest.raises(ValueError, match=match):
        check_state_count({"epoch": value}, "epoch", upper=upper)
    assert check_state_count({"epoch": np.int32(3)}, "epoch", upper=4) == 3


@pytest.mark.parametrize("num_samples", [0, 2.5, True])
def test_strength_table_rejects_a_bad_size(num_samples):
    with pytest.raises(ValueError, match=rf"The `num_samples` must be an integer >= 1, got {num_samples!r}"):
        StrengthTable(num_samples)
