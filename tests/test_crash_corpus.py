"""The crash corpus: every JPEG and PNG header damage that crashed DALI 2.4's CPU decoder (a
segmentation fault from batch 32 on) and the decode failures, read at batch 64 and 128 by training and
validation loaders under both ``on_error`` modes. Each read runs in its own process, so that a
crash fails its test, not the suite."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from _bad_files import BAD_CONTENT, DECODER_REJECTS, HEADER_DAMAGE, write_bad_file
from _images import write_image_folder

NUM_FILES = 150
KINDS = {**HEADER_DAMAGE, **{kind: BAD_CONTENT[kind] for kind in ("truncated_png", *DECODER_REJECTS)}}

SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    from sada_dali.loader import SADALoader

    root, batch, train, on_error = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
    loader = SADALoader(root, batch, device="cpu", train=train, image_size=16, workers=0, num_threads=2,
                        on_error=on_error, drop_last=False, seed=4)
    seen, error = [], None
    try:
        for _, _, indices in loader:
            seen += indices.tolist()
    except RuntimeError as exc:
        error = str(exc)
    print(json.dumps({"seen": seen, "skipped": loader.skipped_files, "error": error,
                      "order": [int(i) for i in loader.sampler.indices(0)]}))
    """
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """150 small JPEGs, one bad file of each kind among indices 50-146 (validation reads them in
    the last third of its batches, which DALI's calling thread parses): ``(root, {index: path})``."""
    root = tmp_path_factory.mktemp("crash_corpus")
    paths = write_image_folder(root, num_classes=2, per_class=NUM_FILES // 2, sizes=(24, 40), seed=5)
    positions = [50 + 6 * k for k in range(len(KINDS))]
    return root, {p: write_bad_file(paths[p], kind) for p, kind in zip(positions, KINDS)}


def read_in_subprocess(root, batch, train, on_error):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, os.fspath(root), str(batch), "1" if train else "0", on_error],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"rc {result.returncode}: {result.stderr[-2000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("batch", [64, 128])
@pytest.mark.parametrize("train", [True, False], ids=["train", "val"])
def test_skip_survives_the_crash_corpus_and_yields_every_good_file_once(corpus, batch, train):
    root, bad = corpus
    got = read_in_subprocess(root, batch, train, "skip")
    assert got["error"] is None
    assert got["seen"] == [i for i in got["order"] if i not in bad]
    assert sorted(got["skipped"]) == sorted(bad.values())


@pytest.mark.parametrize("batch", [64, 128])
@pytest.mark.parametrize("train", [True, False], ids=["train", "val"])
def test_raise_survives_the_crash_corpus_and_names_a_bad_file(corpus, batch, train):
    root, bad = corpus
    got = read_in_subprocess(root, batch, train, "raise")
    named = [path for path in bad.values() if path in (got["error"] or "")]
    assert len(named) == 1, got["error"]
