"""Every ``SADALoader`` argument a user can get wrong is refused by name before any image is read."""

import json

import pytest
from _images import write_image_folder

from sada_dali.loader import SADALoader
from sada_dali.op_space import OpSpec, check_op_space, create_op_space


def make_loader(root, **kwargs):
    return SADALoader(root, 4, device="cpu", image_size=16, workers=0, num_threads=1, **kwargs)


@pytest.mark.parametrize("name", ["train", "pairs", "fp16", "normalize"])
@pytest.mark.parametrize("value", ["no", 0, 1, None])
def test_a_flag_that_is_not_a_bool_is_refused_by_name(tmp_path, name, value):
    match = rf"The `{name}` must be a bool \(True or False\), got {value!r}\."
    with pytest.raises(TypeError, match=match):
        make_loader(tmp_path / "missing", **{name: value})


@pytest.mark.parametrize("bins", [0, 1, 2.5, True])
def test_fewer_than_two_magnitude_bins_are_refused_by_name(tmp_path, bins):
    match = rf"The `num_magnitude_bins` must be an integer >= 2, got {bins!r}\. Strengths in \[0, 1\]"
    with pytest.raises(ValueError, match=match):
        make_loader(tmp_path / "missing", num_magnitude_bins=bins)


@pytest.mark.parametrize("load", [-0.5, 1.5, "x", True])
def test_a_hw_decoder_load_outside_0_1_is_refused_by_name(tmp_path, load):
    match = rf"The `hw_decoder_load` must be a number in \[0, 1\], got {load!r}\. It is the share of JPEGs"
    with pytest.raises(ValueError, match=match):
        make_loader(tmp_path / "missing", hw_decoder_load=load)


@pytest.mark.parametrize(
    "op_space, error, match",
    [
        (5, TypeError, r"The `op_space` must be a sequence of OpSpec, got 5; build it with create_op_space"),
        ([1, 2], TypeError, r"The `op_space` holds 1, which is not an OpSpec; build it"),
        ((), ValueError, r"The `op_space` is empty; build it"),
        ([OpSpec("nope")], ValueError, r"The `op_space` must be one of identity, .*, got 'nope'\."),
    ],
)
def test_an_op_space_that_is_not_registered_op_specs_is_refused_by_name(tmp_path, op_space, error, match):
    with pytest.raises(error, match=match):
        make_loader(tmp_path / "missing", op_space=op_space)


def test_check_op_space_keeps_a_good_space_in_order():
    space = create_op_space()
    assert check_op_space(list(space)) == space


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("arguments")
    return root, write_image_folder(root, num_classes=2, per_class=2)


def test_an_exclude_that_is_not_a_report_or_paths_is_refused_by_name(folder):
    root, _ = folder
    with pytest.raises(
        TypeError, match=r"The `exclude` must be a `sada-dali check --json` report .*, got 5\."
    ):
        make_loader(root, exclude=5)


def test_an_exclude_list_holding_a_non_path_is_refused_naming_the_item(folder):
    root, paths = folder
    with pytest.raises(TypeError, match=r"The `exclude` list holds 3, which is not a file path; pass"):
        make_loader(root, exclude=[paths[0], 3])


def test_an_exclude_file_that_is_not_json_is_refused_naming_the_file(folder, tmp_path):
    root, _ = folder
    report = tmp_path / "report.json"
    report.write_text("not json")
    with pytest.raises(ValueError, match=rf"The `exclude` file '{report}' is not JSON \(Expecting value"):
        make_loader(root, exclude=str(report))


def test_an_exclude_report_of_another_format_is_refused(folder, tmp_path):
    root, _ = folder
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"format": "other", "files": []}))
    with pytest.raises(ValueError, match=r"The `exclude` report has format 'other', not "):
        make_loader(root, exclude=str(report))
