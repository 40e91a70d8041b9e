"""The shared argument checks: integers, devices and the shape every saved state is checked for."""

import re

import numpy as np
import pytest

from sada_dali._utils.checks import (
    check_bool,
    check_device,
    check_image_size,
    check_int,
    check_state_count,
    check_state_keys,
)
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


@pytest.mark.parametrize("value", [224, np.int64(224), (224, 224), [224, 224], (np.int32(224), 224)])
def test_check_image_size_takes_an_integer_or_a_square_pair_as_one_python_int(value):
    size = check_image_size(value)
    assert size == 224 and type(size) is int


@pytest.mark.parametrize(
    "value, match",
    [
        (0, r"The `image_size` must be an integer >= 1, got 0\. It is the side S of the S x S output"),
        (-32, r"The `image_size` must be an integer >= 1, got -32\."),
        (32.5, r"The `image_size` must be an integer >= 1, got 32\.5\."),
        (True, r"The `image_size` must be an integer >= 1, got True\."),
        ("224", r"The `image_size` must be an integer >= 1, got '224'\."),
        (None, r"The `image_size` must be an integer >= 1, got None\."),
        (
            (32, 48),
            r"The `image_size` must be square: .* got \(H, W\) = \(32, 48\); "
            r"pass one integer, e.g\. `image_size=48`",
        ),
        ((32, 32, 3), r"The `image_size` must be one positive integer S .* got \(32, 32, 3\) \(3 values\)"),
        ((0, 0), r"The `image_size\[0\]` must be an integer >= 1, got 0\."),
        ((32, 32.5), r"The `image_size\[1\]` must be an integer >= 1, got 32\.5\."),
    ],
)
def test_check_image_size_names_the_argument_the_value_and_the_fix(value, match):
    with pytest.raises(ValueError, match=match):
        check_image_size(value)


def test_check_bool_takes_python_and_numpy_bools():
    assert check_bool(np.bool_(False), "flag") is False and check_bool(True, "flag") is True


@pytest.mark.parametrize("value", ["no", 0, 1, None, np.int64(1)])
def test_check_bool_refuses_what_is_not_a_bool_naming_the_argument(value):
    match = rf"The `flag` must be a bool \(True or False\), got {re.escape(repr(value))}\. Pass one\.$"
    with pytest.raises(TypeError, match=match):
        check_bool(value, "flag", hint="Pass one.")


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
