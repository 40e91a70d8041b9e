"""``sada-dali shards``: an ImageFolder packed into timm-layout shards that list as the same samples."""

import json
import os
import tarfile

import numpy as np
import pytest
from _images import write_image, write_image_folder
from _tars import read_member

from sada_dali.cli.bench import compute_cpu_ratios, compute_round_ratios
from sada_dali.cli.main import main
from sada_dali.data._shared_listing import SharedListing
from sada_dali.data.source import create_listing


def test_packed_shards_hold_the_folder_samples_in_its_order_in_timm_layout(tmp_path, capsys):
    write_image_folder(tmp_path / "src", num_classes=2, per_class=3, sizes=(8, 12))
    assert main(["shards", str(tmp_path / "src"), str(tmp_path / "dst"), "--shard-size", "4"]) == 0
    assert "wrote 2 shard(s)" in capsys.readouterr().out
    names = sorted(n for n in os.listdir(tmp_path / "dst") if n.endswith(".tar"))
    assert names == ["imagenet1k-train-0000.tar", "imagenet1k-train-0001.tar"]
    with tarfile.open(tmp_path / "dst" / names[0]) as tar:
        members = tar.getnames()
        meta = json.loads(tar.extractfile(members[2]).read())
    assert members[:3] == [
        "class_0/img_000.jpg",
        "class_0/img_000.cls",
        "class_0/img_000.json",
    ]  # stems repeat
    assert meta == {"label": 0, "class": "class_0", "filename": "class_0/img_000.JPEG"}
    folder, shards = create_listing(tmp_path / "src"), create_listing(tmp_path / "dst")
    assert np.array_equal(folder.labels, shards.labels) and len(shards) == 6
    a, b = SharedListing(folder, 6), SharedListing(shards, 6)
    try:
        assert all(read_member(a, i) == read_member(b, i) for i in range(6))
    finally:
        a.close()
        b.close()


def test_unique_stems_become_the_keys(tmp_path):
    for name, label in (("a", "x"), ("b", "y")):
        write_image(tmp_path / "src" / label / f"{name}.png", 8, 8, fmt="PNG")
    main(["shards", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert [f.rsplit(":", 1)[1] for f in create_listing(tmp_path / "dst").files] == ["a", "b"]


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda root: write_image(root / "src" / "c" / "x.bmp", 8, 8, fmt="BMP"), "not JPEG, PNG or WebP"),
        (lambda root: (root / "dst").mkdir() or (root / "dst" / "old.tar").write_bytes(b""), "already holds"),
    ],
)
def test_shards_refuses_other_formats_and_a_destination_with_shards(tmp_path, setup, message, capsys):
    write_image(tmp_path / "src" / "c" / "ok.jpg", 8, 8)
    setup(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["shards", str(tmp_path / "src"), str(tmp_path / "dst")])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_round_and_cpu_ratios_compare_rows_round_by_round_and_by_cpu_per_image():
    rows = [
        {"row": 3, "repeats_images_per_s": [100.0, 300.0, 200.0], "cpu_ms_per_image": 5.0},
        {"row": 6, "repeats_images_per_s": [200.0, 300.0, 250.0], "cpu_ms_per_image": 4.0},
        {"row": 7, "repeats_images_per_s": None, "cpu_ms_per_image": None},
    ]
    assert compute_round_ratios(rows)["sada_cpu/native_dali_cpu"] == pytest.approx(0.8)
    assert compute_cpu_ratios(rows)["sada_cpu/native_dali_cpu"] == pytest.approx(0.8)
    assert (
        compute_round_ratios(rows)["shards/files"] is None
        and compute_cpu_ratios(rows)["shards/files"] is None
    )
