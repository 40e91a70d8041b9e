"""``sada-dali bench`` in its tiny CPU mode, its table and ratios, its errors, and the photo-like corpus."""

import json

import pytest
import torch
from PIL import Image

from sada_dali.cli.bench import compute_ratios, format_table
from sada_dali.cli.main import main
from sada_dali.data.source import create_listing
from sada_dali.data.synthetic import create_photo_corpus

HAS_GPU = torch.cuda.is_available()


def test_tiny_bench_writes_json_with_gpu_rows_skipped_and_the_cpu_ratio(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert (
        main(["bench", "--tiny", "--workers", "1", "--cache", str(tmp_path / "cache"), "--json", str(out)])
        == 0
    )
    report = json.loads(out.read_text())
    rows = {row["row"]: row for row in report["rows"]}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6, 7, 8]
    for row in (1, 2, 5):
        assert (rows[row]["status"] == "ok") is HAS_GPU
        if not HAS_GPU:
            assert rows[row]["status"] == "skipped: no GPU" and rows[row]["images_per_s"] is None
    for row in (3, 4, 6, 7, 8):
        assert rows[row]["status"] == "ok" and rows[row]["images_per_s"] > 0
        assert rows[row]["images_per_epoch"] == 16
    assert "bench-shards" in report["config"]["shards"]
    for name, a, b in (
        ("sada_cpu/native_dali_cpu", 3, 6),
        ("sada_cpu/native_dali_sada_ops", 3, 8),
        ("shards/files", 7, 3),
    ):
        assert report["ratios"][name] == pytest.approx(rows[a]["images_per_s"] / rows[b]["images_per_s"])
    ratio = report["ratios"]["row3/row4"]
    assert ratio == pytest.approx(rows[3]["images_per_s"] / rows[4]["images_per_s"])
    assert (report["ratios"]["row1/row2"] is None) is not HAS_GPU
    assert report["config"]["image_size"] == 32 and report["config"]["num_samples"] == 16
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"ratio row3/row4: {ratio:.2f}x" in capsys.readouterr().out


def test_ratios_divide_images_per_second_and_are_none_for_skipped_rows():
    rows = [
        {"row": 1, "images_per_s": 900.0},
        {"row": 2, "images_per_s": 1000.0},
        {"row": 3, "images_per_s": None},
        {"row": 4, "images_per_s": 300.0},
    ]
    assert compute_ratios(rows) == {
        "row1/row2": 0.9,
        "row1/row4": 3.0,
        "row3/row4": None,
        "sada_cpu/native_dali_cpu": None,
        "sada_cpu/native_dali_sada_ops": None,
        "shards/files": None,
    }


def test_table_shows_rates_skips_and_the_estimator_fraction():
    rows = [
        {"row": 3, "name": "cpu", "status": "ok", "images_per_s": 123.45},
        {"row": 1, "name": "gpu", "status": "skipped: no GPU", "images_per_s": None},
        {"row": 5, "name": "est", "status": "ok", "images_per_s": None, "fraction_of_step": 0.0123},
    ]
    table = format_table(rows, {"row3/row4": None, "row1/row4": 2.5})
    assert "123.5" in table and "skipped: no GPU" in table and "1.23% of step" in table
    assert "ratio row3/row4: n/a (a row was skipped)" in table and "ratio row1/row4: 2.50x" in table


def test_photo_corpus_writes_deterministic_jpegs_round_robin_over_classes(tmp_path):
    first = create_photo_corpus(
        tmp_path / "a", num_images=6, num_classes=3, width=64, height=48, progress=False
    )
    second = create_photo_corpus(
        tmp_path / "b", num_images=6, num_classes=3, width=64, height=48, progress=False
    )
    listing = create_listing(first / "train")
    assert listing.classes == ("class_000", "class_001", "class_002")
    assert list(listing.labels) == [0, 0, 1, 1, 2, 2]
    with Image.open(listing.files[0]) as image:
        assert image.size == (64, 48) and image.format == "JPEG" and image.mode == "RGB"
    for path in listing.files:
        assert (second / "train" / path.split("/train/")[1]).read_bytes() == open(path, "rb").read()


def test_photo_corpus_is_not_white_noise(tmp_path):
    root = create_photo_corpus(tmp_path, num_images=1, num_classes=1, width=120, height=90, progress=False)
    with Image.open(create_listing(root / "train").files[0]) as image:
        pixels = torch.tensor(list(image.convert("L").getdata()), dtype=torch.float32).reshape(90, 120)
    neighbours = torch.corrcoef(torch.stack([pixels[:, :-1].flatten(), pixels[:, 1:].flatten()]))[0, 1]
    assert neighbours > 0.5  # smooth content: neighbouring pixels correlate, unlike noise


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_images": 0}, r"The `num_images` must be an integer >= 1, got 0."),
        ({"num_classes": 2.5}, r"The `num_classes` must be an integer >= 1, got 2.5."),
        ({"width": 8}, r"The `width` must be an integer >= 16, got 8."),
    ],
)
def test_photo_corpus_rejects_bad_sizes(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        create_photo_corpus(tmp_path, **kwargs)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--rows", "1,9"], "The `--rows` must be a comma-separated subset of 1,...,8, got '1,9'."),
        (["--rows", "x"], "The `--rows` must be a comma-separated subset of 1,...,8, got 'x'."),
        (["--data", "/no/such/corpus"], "The `--data` '/no/such/corpus' does not exist"),
        (["--repeats", "0"], "The `--repeats` must be an integer >= 1, got '0'."),
        (["--images", "-5"], "The `--images` must be an integer >= 1, got '-5'."),
    ],
)
def test_bench_rejects_bad_input_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(["bench", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_bench_rejects_a_batch_larger_than_the_corpus(tmp_path, capsys):
    create_photo_corpus(tmp_path / "c", num_images=3, num_classes=1, width=32, height=32, progress=False)
    with pytest.raises(SystemExit):
        main(["bench", "--data", str(tmp_path / "c"), "--batch-size", "8", "--rows", "3"])
    assert "The `--batch-size` (8) must not exceed the images read (3)" in capsys.readouterr().err


def _import_reader_benchmark(monkeypatch):
    import os

    monkeypatch.syspath_prepend(os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
    import reader

    return reader


@pytest.mark.parametrize(("val", "shards"), [(False, False), (True, False), (False, True)])
def test_reader_benchmark_times_the_batch_call_and_writes_json(tmp_path, monkeypatch, val, shards):
    reader = _import_reader_benchmark(monkeypatch)
    out = tmp_path / "reader.json"
    argv = ["--num-images", "16", "--batch-size", "8", "--repeats", "2", "--json", str(out)]
    result = reader.main(argv + (["--val"] if val else []) + (["--shards"] if shards else []))
    series = ("batches_us", "calls_us", "files_us", "first_files_us")
    assert all(len(result[name]) == 2 for name in series)
    assert (
        result["batch_us"] > 0
        and result["call_us"] > 0
        and result["file_us"] > 0
        and result["first_file_us"] > 0
    )
    config = json.loads(out.read_text())["config"]
    assert config["val"] is val and config["shards"] is shards


def test_reader_benchmark_refuses_a_batch_larger_than_the_corpus(monkeypatch, capsys):
    reader = _import_reader_benchmark(monkeypatch)
    with pytest.raises(SystemExit):
        reader.main(["--num-images", "16", "--batch-size", "64"])
    assert "the `--batch-size` (64) must be in [1, --num-images (16)]" in capsys.readouterr().err


def test_bench_reads_shards_given_as_data_and_skips_the_rows_that_need_files(tmp_path):
    kwargs = dict(num_images=8, num_classes=2, width=64, height=48, progress=False)
    shards = create_photo_corpus(tmp_path / "w", format="wds", shard_size=4, **kwargs) / "train"
    out = tmp_path / "bench.json"
    argv = [
        "bench",
        "--tiny",
        "--workers",
        "1",
        "--data",
        str(shards),
        "--rows",
        "3,6,7,8",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    rows = {row["row"]: row for row in json.loads(out.read_text())["rows"]}
    assert rows[3]["status"] == "ok" and rows[3]["images_per_epoch"] == 8
    assert rows[6]["status"] == rows[8]["status"] == "skipped: reads files"
    assert rows[7]["status"] == "skipped: --data is tar shards (row 3 reads them)"


def test_native_dali_row_refuses_an_unknown_op_space():
    from sada_dali.cli._bench_native import prepare_native_dali

    with pytest.raises(
        ValueError, match=r"The `op_space` must be 'trivial_augment_wide' or 'sada', got 'ra'\."
    ):
        prepare_native_dali([], [], batch_size=1, image_size=8, threads=1, op_space="ra")


def test_native_dali_row_over_sadas_op_space_draws_its_step_from_sadas_fourteen_ops(tmp_path, monkeypatch):
    from nvidia.dali.auto_aug import trivial_augment

    from sada_dali.cli._bench_native import prepare_native_dali
    from sada_dali.op_space import DEFAULT_NUM_MAGNITUDE_BINS, create_op_space

    seen = {}
    apply = trivial_augment.apply_trivial_augment

    def spy(augmentations, data, **kwargs):
        seen["names"], seen["bins"] = [aug.name for aug in augmentations], kwargs["num_magnitude_bins"]
        return apply(augmentations, data, **kwargs)

    monkeypatch.setattr(trivial_augment, "apply_trivial_augment", spy)
    root = create_photo_corpus(tmp_path, num_images=8, num_classes=2, width=64, height=48, progress=False)
    listing = create_listing(root / "train")
    run_epoch = prepare_native_dali(
        listing.files, listing.labels, batch_size=4, image_size=16, threads=1, op_space="sada"
    )
    assert run_epoch(0) == 8
    assert seen["names"] == [spec.name for spec in create_op_space()] and len(seen["names"]) == 14
    assert seen["bins"] == DEFAULT_NUM_MAGNITUDE_BINS


def test_count_images_counts_every_batch_and_sleeps_after_each_only_when_paced(monkeypatch):
    from sada_dali.cli import _bench_timing

    sleeps = []
    monkeypatch.setattr(_bench_timing.time, "sleep", sleeps.append)
    batches = [torch.zeros(4, 3), torch.zeros(2, 3)]
    assert _bench_timing.count_images(iter(batches)) == 6 and sleeps == []
    assert _bench_timing.count_images(iter(batches), 0.25) == 6 and sleeps == [0.25, 0.25]
