"""Transient read errors are retried and skip a sample for one epoch only; files flagged bad may be
removed or replaced without breaking resume, and every other sample keeps its index."""

import os

import pytest
from _bad_files import write_bad_file
from _images import write_image

import sada_dali.data._reader as reader_module
from sada_dali.loader import SADALoader

N, BATCH = 12, 3


def make_loader(root, **kwargs):
    args = dict(device="cpu", image_size=16, workers=0, num_threads=1, num_magnitude_bins=3, seed=1)
    args.update(kwargs)
    return SADALoader(root, BATCH, **args)


def seen(loader, limit=None):
    out = []
    for batch, (_, _, indices) in enumerate(loader):
        out += indices.tolist()
        if limit is not None and batch + 1 == limit:
            break
    return out


@pytest.fixture
def paths(tmp_path):
    return [write_image(tmp_path / f"class_{i % 2}" / f"img_{i:02d}.JPEG", 24, 32, seed=i) for i in range(N)]


def test_a_file_missing_for_one_epoch_is_skipped_then_read_again_when_it_is_back(tmp_path, paths):
    loader = make_loader(tmp_path, on_error="skip")
    index = loader.listing.files.index(paths[4])
    os.rename(paths[4], paths[4] + ".away")
    assert index not in seen(loader)
    assert loader.skipped_files == [paths[4]] and loader.state_dict()["bad_files"] == []
    os.rename(paths[4] + ".away", paths[4])
    assert sorted(seen(loader)) == list(range(N)) and loader.num_skipped == 1


def test_a_read_that_fails_is_tried_again_after_a_pause(tmp_path, paths, monkeypatch):
    loader = make_loader(tmp_path, on_error="raise", train=False)
    os.rename(paths[7], paths[7] + ".away")
    pauses = []

    def pause(seconds):  # the file comes back during the second pause
        pauses.append(seconds)
        if len(pauses) == 2:
            os.rename(paths[7] + ".away", paths[7])

    monkeypatch.setattr(reader_module.time, "sleep", pause)
    data, valid, _ = loader._reader.read(loader.listing.files.index(paths[7]))
    assert valid and len(data) == os.path.getsize(paths[7])
    assert pauses == list(reader_module.READ_RETRIES[:2])


def test_a_read_error_that_persists_is_raised_after_every_retry(tmp_path, paths, monkeypatch):
    loader = make_loader(tmp_path, on_error="raise", train=False)
    pauses = []
    monkeypatch.setattr(reader_module.time, "sleep", pauses.append)
    os.remove(paths[2])
    with pytest.raises(ValueError, match=r"img_02.JPEG\): cannot be read \(No such file or directory\)"):
        loader._reader.read(loader.listing.files.index(paths[2]))
    assert pauses == list(reader_module.READ_RETRIES)


@pytest.mark.parametrize("change", ["remove", "replace"])
def test_resume_after_removing_or_replacing_a_bad_file_keeps_every_index(tmp_path, paths, change):
    expected = seen(make_loader(tmp_path))
    loader = make_loader(tmp_path, on_error="skip")
    bad = int(loader.sampler.indices(0)[1])  # read in the first batch
    path = write_bad_file(loader.listing.files[bad], "two_components")
    first = seen(loader, limit=2)
    state = loader.state_dict()
    loader.close()
    assert state["bad_files"] == [path] and state["position"] == 2
    if change == "remove":
        os.remove(path)
    else:
        write_image(path, 24, 32, seed=99)
    resumed = make_loader(tmp_path, on_error="skip")
    resumed.load_state_dict(state)
    assert resumed.num_samples == N and resumed.listing.files[bad] == path
    assert first + seen(resumed) == [i for i in expected if i != bad]
    assert resumed.state_dict()["bad_files"] == [path] and resumed.num_skipped == 1
    resumed.close()


def test_a_removed_file_the_state_did_not_flag_bad_still_blocks_resume(tmp_path, paths):
    loader = make_loader(tmp_path, on_error="skip")
    state = loader.state_dict()
    os.remove(paths[3])
    with pytest.raises(ValueError, match=r"saved with num_samples=12 but this loader has num_samples=11"):
        make_loader(tmp_path, on_error="skip").load_state_dict(state)


def test_an_iterator_resumes_after_a_bad_file_was_removed_and_keeps_its_protocol(tmp_path, paths):
    from sada_dali import SADAClassificationIterator

    args = dict(device="cpu", image_size=16, workers=0, num_threads=1, num_magnitude_bins=3, seed=1)
    loader = SADAClassificationIterator(tmp_path, BATCH, on_error="skip", last_batch_policy="DROP", **args)
    bad = int(loader.sampler.indices(0)[1])
    path = write_bad_file(loader.listing.files[bad], "two_components")
    next(loader)
    state = loader.state_dict()
    loader.close()
    os.remove(path)
    resumed = SADAClassificationIterator(tmp_path, BATCH, on_error="skip", last_batch_policy="DROP", **args)
    resumed.load_state_dict(state)
    assert resumed.num_samples == N and resumed.listing.files[bad] == path
    rows = [batch[0]["index"].tolist() for batch in resumed]
    assert bad not in sum(rows, []) and len(rows) == len(resumed) - 1
    assert resumed.last_batch_policy.name == "DROP" and resumed.size == N
    resumed.close()
