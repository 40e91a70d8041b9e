"""``sada-dali demo`` end to end in its shortened mode, its input errors, and the digits builder."""

import json

import numpy as np
import pytest

from sada_dali.cli.main import main
from sada_dali.data.source import create_listing
from sada_dali.data.synthetic import create_digits_dataset

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return create_digits_dataset(tmp_path_factory.mktemp("cache") / "digits", image_size=16, progress=False)


def test_digits_dataset_splits_all_1797_scans_into_ten_classes(digits):
    train, val = create_listing(digits / "train"), create_listing(digits / "val")
    assert len(train) + len(val) == 1797
    assert train.classes == val.classes == tuple(str(k) for k in range(10))
    assert 0.18 < len(val) / 1797 < 0.22
    assert set(np.unique(val.labels)) == set(range(10))


def test_digits_dataset_is_reused_when_complete_and_rebuilt_when_a_file_is_missing(digits):
    victim = sorted((digits / "val" / "3").glob("*.jpg"))[0]
    stamp_time = (digits / ".complete.json").stat().st_mtime_ns
    create_digits_dataset(digits, image_size=16, progress=False)
    assert (digits / ".complete.json").stat().st_mtime_ns == stamp_time
    victim.unlink()
    create_digits_dataset(digits, image_size=16, progress=False)
    assert victim.is_file()


def test_digits_dataset_rejects_a_bad_val_fraction(tmp_path):
    with pytest.raises(ValueError, match=r"The `val_fraction` must lie in \(0, 1\), got 1.5"):
        create_digits_dataset(tmp_path, val_fraction=1.5)


def _demo(digits, out, *extra):
    return main(
        [
            "demo",
            "--epochs",
            "1",
            "--limit",
            "64",
            "--batch-size",
            "32",
            "--image-size",
            "16",
            "--cache",
            str(digits),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--workers",
            "0",
            "--threads",
            "1",
            *extra,
        ]
    )


def test_demo_short_run_writes_summary_and_strength_figure(digits, tmp_path, capsys):
    out = tmp_path / "out"
    assert _demo(digits, out) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"config", "runs", "final_accuracy", "elapsed_s"}
    assert summary["config"]["epochs"] == 1 and summary["config"]["limit"] == 64
    assert summary["config"]["policies"] == ["sada", "trivial"] and summary["config"]["seeds"] == 1
    for name in ("sada", "trivial"):
        (run,) = summary["runs"][name]
        assert run["seed"] == 0 and run["train_samples"] == 64 and run["val_samples"] == 16
        (epoch,) = run["epochs"]
        assert 0.0 <= epoch["val_accuracy"] <= 1.0 and epoch["train_loss"] > 0 and epoch["images_per_s"] > 0
        s = epoch["strength"]
        assert 0.0 <= s["min"] <= s["q25"] <= s["median"] <= s["q75"] <= s["max"] <= 1.0
        final = summary["final_accuracy"][name]
        assert final == {"mean": epoch["val_accuracy"], "std": 0.0, "n": 1, "values": [epoch["val_accuracy"]]}
    # Before any variance is valid SADA uses the warm-up draw, which is the baseline's draw.
    assert (
        summary["runs"]["sada"][0]["epochs"][0]["strength"]
        == summary["runs"]["trivial"][0]["epochs"][0]["strength"]
    )
    assert (out / "strength_evolution.png").read_bytes()[:8] == PNG_MAGIC
    assert len((out / "lists" / "train.txt").read_text().splitlines()) == 64
    printed = capsys.readouterr().out
    assert "[sada] epoch 1/1" in printed and "mean ± std" in printed


@pytest.mark.slow
def test_demo_runs_every_policy_over_two_seeds_and_reports_mean_and_std(digits, tmp_path, capsys):
    out = tmp_path / "many"
    policies = ["sada", "sada-rank", "entaugment", "trivial", "constant"]
    assert _demo(digits, out, "--policies", *policies, "--seeds", "2", "--magnitude", "0.3") == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["final_accuracy"]) == policies == summary["config"]["policies"]
    for name in policies:
        runs = summary["runs"][name]
        assert [r["seed"] for r in runs] == [0, 1]
        values = [r["final_val_accuracy"] for r in runs]
        final = summary["final_accuracy"][name]
        assert final["n"] == 2 and final["values"] == values
        assert final["mean"] == pytest.approx(np.mean(values))
        assert final["std"] == pytest.approx(np.std(values, ddof=1))
    constant = summary["runs"]["constant"][0]["epochs"][0]["strength"]
    assert constant["min"] == constant["max"] == pytest.approx(0.3)
    printed = capsys.readouterr().out
    assert "[entaugment seed 1] epoch 1/1" in printed
    assert all(f"  {name}" in printed for name in policies) and printed.count(" ± ") >= 5
    assert (out / "strength_evolution.png").read_bytes()[:8] == PNG_MAGIC


def test_demo_rejects_a_limit_below_the_batch_size(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--limit", "8", "--batch-size", "32", "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "The `--limit` (8) must be at least the `--batch-size` (32)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "The `--epochs` must be an integer >= 1, got '0'."),
        (["--lr", "fast"], "The `--lr` must be a positive number, got 'fast'."),
        (["--lr", "-1"], "The `--lr` must be a positive number, got '-1'."),
        (["--image-size", "4"], "The `--image-size` must be an integer >= 8, got '4'."),
        (["--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
        (["--policies", "randaugment"], "argument --policies/--policy: invalid choice: 'randaugment'"),
        (["--policy"], "argument --policies/--policy: expected at least one argument"),
        (["--seeds", "0"], "The `--seeds` must be an integer >= 1, got '0'."),
        (["--magnitude", "1.5"], "The `--magnitude` must be a number in [0, 1], got '1.5'."),
        (["--magnitude", "big"], "The `--magnitude` must be a number in [0, 1], got 'big'."),
    ],
)
def test_demo_rejects_bad_numbers_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the error raised without a GPU")
def test_demo_refuses_the_gpu_device_without_cuda(tmp_path):
    with pytest.raises(
        SystemExit, match=r"The `--device gpu` needs a CUDA GPU, but torch sees none; use --device cpu."
    ):
        main(["demo", "--device", "gpu", "--out", str(tmp_path)])
