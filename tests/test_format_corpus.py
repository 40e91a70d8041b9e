"""The format corpus: broken and odd files of every format among good JPEGs, read by training and
validation loaders at batch 64 and 128, under both ``on_error`` modes, inline and with 2 worker
processes. Each read runs in its own process, so that a crash fails its test, not the suite; the
doctor must flag exactly the files the loader refuses (plus those it reads but that decode only
with a warning)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from _broken_images import broken_images
from _images import write_image_folder
from _odd_images import REFUSED, odd_images

from sada_dali.data.doctor import check_listing
from sada_dali.data.source import create_listing

EXTENSIONS = {"jpeg": ".jpg", "png": ".png", "bmp": ".bmp", "tiff": ".tif", "webp": ".webp", "pnm": ".ppm"}
SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    from sada_dali.loader import SADALoader

    root, batch, train, on_error = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
    workers = int(sys.argv[5])
    loader = SADALoader(root, batch, device="cpu", train=train, image_size=16, workers=workers, num_threads=2,
                        on_error=on_error, drop_last=False, seed=4, max_skipped_share=1.0)  # most are bad
    seen, error = [], None
    try:
        for _, _, indices in loader:
            seen += indices.tolist()
    except (RuntimeError, ValueError) as exc:
        error = str(exc)
    print(json.dumps({"seen": seen, "skipped": loader.skipped_files, "error": error,
                      "order": [int(i) for i in loader.sampler.indices(0)], "files": loader.listing.files}))
    loader.close()
    """
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """200 small JPEGs and every odd and broken file, spread over two classes: ``(root, report,
    names)``, the doctor's report of the folder and ``{path: corpus name}`` of the extra files."""
    root = tmp_path_factory.mktemp("format_corpus")
    write_image_folder(root, num_classes=2, per_class=100, sizes=(24, 40), seed=6)
    extra = {
        **{f"odd_{k}": v for k, v in odd_images().items()},
        **{f"bad_{k}": v for k, v in broken_images().items()},
    }
    names = {}
    for k, (name, data) in enumerate(sorted(extra.items())):
        kind = name.split("_", 1)[1].split("/")[0]
        path = root / f"class_{k % 2}" / (f"x{k:03d}_" + name.replace("/", "_") + EXTENSIONS[kind])
        path.write_bytes(data)
        names[os.fspath(path)] = name
    report = check_listing(create_listing(os.fspath(root)), max_pixels=None)
    return root, report, names


def read_in_subprocess(root, batch, train, on_error, workers):
    argv = [os.fspath(root), str(batch), "1" if train else "0", on_error, str(workers)]
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"rc {result.returncode}: {result.stderr[-2000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def refused(report) -> set:
    """The files the doctor says the loader refuses (every kind but "damaged", which it reads)."""
    return {entry["path"] for entry in report["files"] if entry["kind"] != "damaged"}


CONFIGS = [(b, t, w) for b in (64, 128) for t in (True, False) for w in (0, 2)]
IDS = [f"batch{b}-{'train' if t else 'val'}-workers{w}" for b, t, w in CONFIGS]


@pytest.mark.parametrize("batch,train,workers", CONFIGS, ids=IDS)
def test_skip_survives_every_format_and_skips_exactly_what_the_doctor_flags(corpus, batch, train, workers):
    root, report, _ = corpus
    got = read_in_subprocess(root, batch, train, "skip", workers)
    assert got["error"] is None
    bad = refused(report)
    assert set(got["skipped"]) == bad
    assert got["seen"] == [i for i in got["order"] if got["files"][i] not in bad]


@pytest.mark.parametrize("batch,train,workers", CONFIGS, ids=IDS)
def test_raise_survives_every_format_and_names_a_file_the_doctor_flags(corpus, batch, train, workers):
    root, report, _ = corpus
    got = read_in_subprocess(root, batch, train, "raise", workers)
    named = [path for path in refused(report) if path in (got["error"] or "")]
    assert len(named) == 1, got["error"]


def test_the_doctor_flags_exactly_the_valid_files_in_modes_the_loader_refuses(corpus):
    _, report, names = corpus
    flagged = {names[entry["path"]] for entry in report["files"] if entry["path"] in names}
    assert {name for name in flagged if name.startswith("odd_")} == {f"odd_{name}" for name in REFUSED}
    assert all(
        entry["kind"] == "unsupported"
        for entry in report["files"]
        if names.get(entry["path"], "").startswith("odd_")
    )
