"""Files DALI's decoder rejects: skipped exactly (the epoch goes on) or blamed exactly; the pixel guard."""

import re

import pytest
import torch
from _bad_files import BAD_CONTENT, write_bad_file, write_png16
from _images import write_image_folder

from sada_dali.data._headers import image_size
from sada_dali.data._reader import SampleReader
from sada_dali.loader import SADALoader
from sada_dali.loader._epoch import EpochRunner

N, BATCH = 24, 3
BAD_POSITIONS = dict(zip(BAD_CONTENT, (2, 7, 8, 12, 13, 17, 22, 19, 0)))  # two batches hold two bad files
PNG16_POSITION = 10


def make_loader(root, **kwargs):
    args = dict(
        device="cpu", image_size=16, workers=0, num_threads=1, num_magnitude_bins=3, drop_last=False, seed=2
    )
    args.update(kwargs)
    return SADALoader(root, BATCH, **args)


def read_epoch(loader):
    return [(images.clone(), labels.clone(), indices.tolist()) for images, labels, indices in loader]


@pytest.fixture
def paths(tmp_path):
    return write_image_folder(tmp_path, num_classes=3, per_class=8, sizes=(40, 48), seed=3)


def corrupt(loader, paths, positions):
    """Write each kind of bad file at its epoch-0 position; return the paths by sample index."""
    order = loader.sampler.indices(0)
    bad = {int(order[p]): write_bad_file(paths[int(order[p])], kind) for kind, p in positions.items()}
    return bad


@pytest.mark.parametrize("train", [True, False])
def test_skip_yields_every_good_sample_once_in_order_with_the_same_pixels_and_counts_each_bad_file(
    tmp_path, paths, train
):
    reference = make_loader(tmp_path, train=train)
    png16 = int(reference.sampler.indices(0)[PNG16_POSITION])
    write_png16(paths[png16])  # a legal 16-bit PNG: DALI decodes it, so it is a good file
    expected = read_epoch(reference)
    # batches of 3 that hold two bad files each: past the default max_skipped_share on purpose
    loader = make_loader(tmp_path, train=train, on_error="skip", max_skipped_share=1.0)
    bad = corrupt(loader, paths, BAD_POSITIONS)
    got = read_epoch(loader)
    assert len(got) == len(loader) == len(expected)
    pixels = {i: image for images, _, indices in expected for i, image in zip(indices, images)}
    for (images, labels, indices), (_, _, clean) in zip(got, expected):
        assert indices == [i for i in clean if i not in bad]
        assert labels.tolist() == [int(loader.listing.labels[i]) for i in indices]
        for i, image in zip(indices, images):
            assert torch.equal(image, pixels[i]), f"sample {i} changed"
    assert png16 in {i for _, _, indices in got for i in indices}
    assert sorted(loader.skipped_files) == sorted(bad.values()) and loader.num_skipped == len(bad)
    assert loader._runner.recoveries  # at least one pipeline failure was recovered from


def test_raise_names_exactly_the_file_the_decoder_rejects_with_its_epoch_and_batch(tmp_path, paths):
    loader = make_loader(tmp_path)
    ((index, path),) = corrupt(loader, paths, {"png_bad_data": 13}).items()
    with pytest.raises(RuntimeError, match=r"Epoch 0: the image decoder rejected 1 file\(s\)") as info:
        read_epoch(loader)
    message = str(info.value)
    assert f"batch 4: sample {index} ({path})" in message
    assert [p for p in paths if p in message] == [path]  # none of the batch's good files


def test_a_bad_file_read_ahead_of_an_abandoned_epoch_is_named_exactly_when_an_epoch_reaches_it(
    tmp_path, paths
):
    loader = make_loader(tmp_path, prefetch_queue_depth=2)
    ((index, path),) = corrupt(loader, paths, {"png_bad_data": 4}).items()  # batch 1, read ahead of batch 0
    for _ in loader:
        break
    with pytest.raises(RuntimeError, match=r"the image decoder rejected 1 file\(s\)") as info:
        for _ in range(3):
            read_epoch(loader)
    assert f"sample {index} ({path})" in str(info.value)


@pytest.mark.parametrize("kind", ["gif", "empty", "bomb_header"])
def test_raise_names_a_file_the_reader_rejects_before_decoding(tmp_path, paths, kind):
    loader = make_loader(tmp_path)
    ((index, path),) = corrupt(loader, paths, {kind: 4}).items()
    with pytest.raises(RuntimeError, match=rf"Sample {index} \({re.escape(path)}\)"):
        read_epoch(loader)


def test_a_bad_file_up_to_the_queue_depth_plus_one_batches_ahead_is_found(tmp_path, paths):
    loader = make_loader(tmp_path, on_error="skip", prefetch_queue_depth=2)
    ((index, _),) = corrupt(loader, paths, {"progressive_bad_scan": 13}).items()  # batch 4
    runner = loader._runner
    found = {batch: runner.culprits(runner.read_ahead(batch)) for batch in range(6)}
    assert found == {0: [], 1: [(13, index)], 2: [(13, index)], 3: [(13, index)], 4: [(13, index)], 5: []}


def test_known_bad_files_survive_the_state_dict_and_are_never_read_again(tmp_path, paths, monkeypatch):
    loader = make_loader(tmp_path, on_error="skip")
    bad = corrupt(loader, paths, {"png_bad_data": 4, "progressive_bad_scan": 20, "gif": 9})
    read_epoch(loader)
    state = loader.state_dict()
    assert sorted(state["bad_files"]) == sorted(bad.values()) and state["epoch"] == 1
    reads = []
    real_read = SampleReader.read

    def counted(self, index, *packer):
        reads.append(index)
        return real_read(self, index, *packer)

    monkeypatch.setattr(SampleReader, "read", counted)
    resumed = make_loader(tmp_path, on_error="skip")
    resumed.load_state_dict(state)
    seen = [i for _, _, indices in read_epoch(resumed) for i in indices]
    assert sorted(seen) == sorted(set(range(N)) - set(bad)) and reads
    assert not set(reads) & set(bad)
    assert resumed.num_skipped == 2 * len(bad) and resumed.epoch == 2


def test_a_state_saved_without_bad_files_still_loads(tmp_path, paths):
    loader = make_loader(tmp_path, on_error="skip")
    state = loader.state_dict()
    del state["bad_files"]
    loader.load_state_dict(state)
    assert loader.state_dict()["bad_files"] == []


@pytest.mark.parametrize(
    "value,match",
    [
        ("a.JPEG", r"state_dict\['bad_files'\]` must be a list of paths"),
        (["/elsewhere/class_9/img_000.JPEG"], r"names '/elsewhere/class_9/img_000.JPEG', which is not in"),
    ],
)
def test_load_state_dict_rejects_bad_files_that_are_not_this_datasets(tmp_path, paths, value, match):
    loader = make_loader(tmp_path)
    state = loader.state_dict() | {"bad_files": value}
    with pytest.raises(ValueError, match=match):
        loader.load_state_dict(state)


def test_bad_files_match_a_dataset_moved_to_another_folder(tmp_path, paths):
    loader = make_loader(tmp_path)
    state = loader.state_dict() | {"bad_files": [paths[5].replace(str(tmp_path), "/old/mount/data")]}
    loader.load_state_dict(state)
    assert loader.state_dict()["bad_files"] == [paths[5]]


def test_a_failure_no_probe_explains_is_raised_with_the_suspect_files(tmp_path, paths, monkeypatch):
    loader = make_loader(tmp_path, on_error="skip")
    corrupt(loader, paths, {"png_bad_data": 13})
    monkeypatch.setattr(EpochRunner, "culprits", lambda runner, ahead: [])
    with pytest.raises(RuntimeError, match=r"(?s)of epoch 0 failed: .*These batches hold the files"):
        read_epoch(loader)


def test_a_shard_whose_every_row_is_rejected_still_yields_len_batches(tmp_path, paths):
    loader = make_loader(tmp_path, on_error="skip", num_shards=2, shard_id=1, max_skipped_share=1.0)
    bad = corrupt(loader, paths, {"png_bad_data": 3, "progressive_bad_scan": 4, "header_corrupt": 5})
    got = read_epoch(loader)
    assert len(got) == len(loader) and [len(indices) for _, _, indices in got][1] == 0
    assert sorted(loader.skipped_files) == sorted(bad.values())


def test_skip_recovers_with_spawned_workers(tmp_path, paths):
    loader = make_loader(tmp_path, on_error="skip", workers=1)
    bad = corrupt(loader, paths, {"png_bad_data": 7, "progressive_bad_scan": 16})
    seen = [i for _, _, indices in read_epoch(loader) for i in indices]
    assert seen == [int(i) for i in loader.sampler.indices(0) if int(i) not in bad]
    assert sorted(loader.skipped_files) == sorted(bad.values())
    loader.close()


def test_max_pixels_rejects_a_header_over_the_limit_before_decoding(tmp_path, paths):
    limit = 44 * 44
    pixels = [image_size(open(path, "rb").read()) for path in paths]
    over = [i for i, (width, height) in enumerate(pixels) if width * height > limit]
    assert 0 < len(over) < N
    loaders = [
        make_loader(tmp_path, max_pixels=m, on_error=e)
        for m, e in ((limit, "skip"), (limit, "raise"), (None, "raise"))
    ]
    skipping, raising, unguarded = (loader._reader for loader in loaders)  # a dropped loader frees its reader
    assert [i for i in range(N) if not skipping.read(i)[1]] == over
    width, height = pixels[over[0]]
    with pytest.raises(
        ValueError, match=rf"declares {width} x {height} pixels, more than max_pixels={limit}"
    ):
        raising.read(over[0])
    assert all(unguarded.read(i)[1] for i in range(N))


def test_the_default_max_pixels_skips_a_decompression_bomb(tmp_path, paths):
    loader = make_loader(tmp_path, on_error="skip")
    bad = corrupt(loader, paths, {"bomb_header": 5})
    seen = [i for _, _, indices in read_epoch(loader) for i in indices]
    assert sorted(seen) == sorted(set(range(N)) - set(bad)) and loader.skipped_files == list(bad.values())
    assert not loader._runner.recoveries  # rejected from its header, never decoded


@pytest.mark.parametrize("value", [0, -5, 1.5, True, "1e8"])
def test_max_pixels_must_be_a_positive_integer_or_none(tmp_path, paths, value):
    with pytest.raises(
        ValueError,
        match=r"The `max_pixels` must be an integer >= 1, got " + re.escape(repr(value)) + r"\. .*None turns",
    ):
        make_loader(tmp_path, max_pixels=value)
