"""``benchmarks/op_cost.py`` times the ops it is asked for in both op spaces and refuses bad arguments."""

import json
import os

import pytest

BENCHMARKS = os.path.join(os.path.dirname(__file__), "..", "benchmarks")


@pytest.fixture
def op_cost(monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)
    import op_cost

    return op_cost


def test_the_op_cost_benchmark_times_each_asked_op_in_both_spaces_and_writes_json(op_cost, tmp_path, capsys):
    out = tmp_path / "nested" / "op_cost.json"
    argv = [
        "--batch-size",
        "4",
        "--image-size",
        "32",
        "--runs",
        "1",
        "--rounds",
        "2",
        "--ops",
        "rotate",
        "identity",
    ]
    result = op_cost.main([*argv, "--json", str(out)])
    assert list(result["ops"]) == ["rotate", "identity"]
    for op in result["ops"].values():
        assert op["sada_us"] > 0 and op["wide_us"] > 0
        assert len(op["sada_rounds_us"]) == len(op["wide_rounds_us"]) == 2
    assert result["mean_sada_us"] == pytest.approx(
        (result["ops"]["rotate"]["sada_us"] + result["ops"]["identity"]["sada_us"]) / 2
    )
    assert json.loads(out.read_text())["config"]["ops"] == ["rotate", "identity"]
    assert "mean over 2 ops" in capsys.readouterr().out


def test_every_op_of_sadas_space_has_a_namesake_in_trivial_augment_wides_suite(op_cost):
    from sada_dali.op_space import create_op_space

    assert op_cost.shared_ops() == [spec.name for spec in create_op_space()]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ops", "rotate", "blur"], "the `--ops` ['blur'] are not ops of both spaces; choose from ["),
        (["--runs", "0"], "the `--runs` must be at least 1, got 0"),
        (["--batch-size", "-2"], "the `--batch-size` must be at least 1, got -2"),
    ],
)
def test_the_op_cost_benchmark_refuses_bad_arguments(op_cost, capsys, argv, message):
    with pytest.raises(SystemExit):
        op_cost.main(argv)
    assert message in capsys.readouterr().err
