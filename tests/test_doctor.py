"""``sada-dali check`` finds every crafted bad file, flags no good one, and its report feeds ``exclude=``."""

import json
import os

import numpy as np
import pytest
from _bad_files import BAD_CONTENT, write_bad_file, write_png16
from _images import write_image

from sada_dali.cli.main import main
from sada_dali.data.doctor import check_listing, excluded_indices
from sada_dali.data.source import list_image_folder
from sada_dali.loader import SADALoader

EXPECTED = {
    "header_corrupt": "undecodable",
    "random_framed": "undecodable",
    "empty": "undecodable",
    "gif": "unexpected_format",
    "truncated_png": "undecodable",
    "tables_corrupt": "undecodable",
    "bomb_header": "too_large",
    "progressive_bad_scan": "undecodable",
    "png_bad_data": "undecodable",
    "scan_flipped": "undecodable",
    "scan_truncated": "damaged",  # decodes; only libjpeg's "Corrupt JPEG data" warning tells
    "html": "unexpected_format",
    "dangling_link": "unreadable",
}
REASONS = {"scan_truncated": "libjpeg warns: Corrupt JPEG data", "bomb_header": "30000 x 30000 pixels"}


@pytest.fixture
def corpus(tmp_path):
    """An ImageFolder of good files of every legal kind and one file per crafted fault."""
    root = tmp_path / "data"
    good, bad = [], {}
    for label, name in enumerate(("a", "b")):
        for k, mode in enumerate(("RGB", "L", "CMYK")):
            good.append(write_image(root / name / f"{mode}{k}.JPEG", mode=mode, seed=label * 10 + k))
        good.append(write_image(root / name / "png_named.JPEG", fmt="PNG", seed=label))
    good.append(write_png16(root / "b" / "png16.png"))
    for kind in BAD_CONTENT:
        bad[kind] = write_bad_file(root / "a" / f"bad_{kind}.JPEG", kind)
    bad["html"] = str(root / "b" / "bad_html.JPEG")
    (root / "b" / "bad_html.JPEG").write_bytes(b"<html>proxy error</html>" * 8)
    bad["dangling_link"] = str(root / "b" / "bad_link.JPEG")
    os.symlink(root / "nowhere.JPEG", bad["dangling_link"])
    return root, good, bad


def test_check_finds_every_crafted_kind_and_flags_no_good_file(corpus):
    root, good, bad = corpus
    listing = list_image_folder(root)
    report = check_listing(listing, max_pixels=178_956_970)
    found = {entry["path"]: entry for entry in report["files"]}
    assert {path: found[path]["kind"] for path in bad.values() if path in found} == {
        bad[kind]: kind_found for kind, kind_found in EXPECTED.items()
    }
    assert not set(good) & set(found)
    for kind, text in REASONS.items():
        assert text in found[bad[kind]]["reason"]
    assert all(listing.files[entry["index"]] == entry["path"] for entry in report["files"])
    assert report["num_files"] == len(good) + len(bad) and sum(report["counts"].values()) == len(bad)


def test_check_command_prints_the_table_and_writes_json_in_parallel(corpus, tmp_path, capsys):
    root, good, bad = corpus
    out = tmp_path / "report.json"
    assert main(["check", str(root), "--jobs", "2", "--json", str(out), "--no-progress"]) == 1
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert sorted(entry["path"] for entry in report["files"]) == sorted(bad.values())
    assert all(path in printed for path in bad.values()) and not any(path in printed for path in good)
    assert f"{len(good) + len(bad)} files checked, {len(bad)} flagged (" in printed
    assert "too_large 1" in printed and "damaged 1" in printed and f"exclude={str(out)!r}" in printed


def test_check_command_exits_0_on_a_clean_dataset(tmp_path, capsys):
    write_image(tmp_path / "a" / "x.JPEG")
    assert main(["check", str(tmp_path), "--jobs", "0", "--no-progress"]) == 0
    assert "1 files checked, 0 flagged." in capsys.readouterr().out


def test_check_command_names_a_missing_source(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["check", str(tmp_path / "missing"), "--no-progress"])
    assert "does not exist" in capsys.readouterr().err


def test_excluded_files_are_skipped_unread_and_every_other_index_is_kept(corpus, tmp_path):
    root, good, bad = corpus
    out = tmp_path / "report.json"
    main(["check", str(root), "--jobs", "0", "--json", str(out), "--no-progress"])
    for path in bad.values():  # reading any of them now raises: it must not be read
        os.unlink(path)
        os.symlink(root / "nowhere.JPEG", path)
    loader = SADALoader(
        root, 3, device="cpu", image_size=32, workers=0, num_threads=1, num_magnitude_bins=11,
        drop_last=False, on_error="raise", exclude=str(out), max_skipped_share=1.0,  # most files are bad
    )  # fmt: skip
    listing = list_image_folder(root)
    assert loader.listing.files == listing.files  # same files, same indices
    seen, labels = [], []
    for _, batch_labels, indices in loader:
        seen += indices.tolist()
        labels += batch_labels.tolist()
    assert sorted(seen) == sorted(listing.files.index(path) for path in good)
    assert labels == listing.labels[seen].tolist()
    assert loader.num_skipped == len(bad) and loader.state_dict()["bad_files"] == []
    loader.close()


def test_exclude_accepts_paths_and_rejects_what_is_not_in_the_dataset(corpus):
    root, good, bad = corpus
    listing = list_image_folder(root)
    moved = ["/mnt/elsewhere/" + os.path.relpath(bad["gif"], root)]  # the dataset moved to another mount
    assert excluded_indices(moved + [bad["gif"]], listing).tolist() == [listing.files.index(bad["gif"])]
    assert excluded_indices([], listing).dtype == np.int64
    with pytest.raises(ValueError, match=r"The `exclude` names '/elsewhere/x.JPEG', which is not a file"):
        excluded_indices(["/elsewhere/x.JPEG"], listing)
    with pytest.raises(ValueError, match=r"The `exclude` report has format 'other/1'"):
        excluded_indices({"format": "other/1", "files": []}, listing)
