"""SADALoader over WebDataset tar shards gives what it gives over the same bytes as files."""

import io
import os

import numpy as np
import pytest
import torch
from _images import make_image
from _tars import write_tar
from PIL import Image

from sada_dali.loader import SADALoader

N, BATCH, SIZE = 12, 4, 24


def _jpeg(index: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(make_image(30 + 3 * index, 50 - 2 * index, seed=index)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _write(root, images, labels, per_shard=5, prefix="data"):
    """The same samples as a file list (``root/files.txt``) and as shards; returns both sources."""
    lines, shards = [], []
    for i, (data, label) in enumerate(zip(images, labels)):
        (root / "imgs").mkdir(exist_ok=True)
        (root / "imgs" / f"img_{i:02d}.jpg").write_bytes(data)
        lines.append(f"imgs/img_{i:02d}.jpg {label}")
    (root / "files.txt").write_text("\n".join(lines) + "\n")
    for first in range(0, len(images), per_shard):
        members = []
        for i in range(first, min(first + per_shard, len(images))):
            members += [(f"img_{i:02d}.jpg", images[i]), (f"img_{i:02d}.cls", str(labels[i]).encode())]
        shards.append(write_tar(root / "shards" / f"{prefix}-{first // per_shard:04d}.tar", members))
    return root / "files.txt", shards


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("wds")
    return _write(root, [_jpeg(i) for i in range(N)], [i % 3 for i in range(N)])


def make_loader(source, n=N, **kwargs):
    args = dict(device="cpu", image_size=SIZE, workers=0, num_threads=1, drop_last=False, seed=3)
    args["strengths"] = np.linspace(0, 1, n, dtype=np.float32) if kwargs.get("train", True) else None
    args.update(kwargs)
    if isinstance(source, os.PathLike) and str(source).endswith(".txt"):
        args["file_root"] = os.path.dirname(source)
    return SADALoader(source, BATCH, **args)


def read_epoch(loader, epoch, limit=None):
    loader.set_epoch(epoch)
    out = []
    for images, labels, indices in loader:
        out.append((images, labels, indices, loader.choices(indices)))
        if limit is not None and len(out) == limit:
            break
    return out


def assert_same(batches, others):
    assert len(batches) == len(others)
    for (images, labels, indices, choices), (images2, labels2, indices2, choices2) in zip(batches, others):
        assert torch.equal(indices, indices2) and torch.equal(labels, labels2)
        for key in ("op", "magnitude_bin", "negate", "flip", "crop"):
            assert np.array_equal(choices[key], choices2[key]), key
        assert torch.equal(images, images2)


def test_shards_give_the_indices_labels_choices_and_pixels_of_the_same_files_for_two_epochs(sources):
    files, shards = sources
    from_files = make_loader(files)
    from_shards = make_loader(str(shards[0]).replace("0000", "{0000..0002}"), workers=1)
    assert from_shards.listing.shards == tuple(shards)
    for epoch in (0, 1):
        batches = read_epoch(from_shards, epoch)
        assert_same(batches, read_epoch(from_files, epoch))
        assert sorted(torch.cat([b[2] for b in batches]).tolist()) == list(range(N))


def test_ranks_read_the_same_disjoint_halves_from_shards_as_from_files(sources):
    files, shards = sources
    seen = []
    for rank in (0, 1):
        batches = read_epoch(make_loader(shards, num_shards=2, shard_id=rank), 0)
        assert_same(batches, read_epoch(make_loader(files, num_shards=2, shard_id=rank), 0))
        seen += torch.cat([b[2] for b in batches]).tolist()
    assert sorted(seen) == list(range(N))


def test_a_resumed_epoch_over_shards_matches_the_uninterrupted_one_and_file_states_are_refused(sources):
    files, shards = sources
    uninterrupted = make_loader(shards)
    read_epoch(uninterrupted, 0)
    uninterrupted.set_epoch(1)
    batches = iter(uninterrupted)
    next(batches)  # the "crash" comes after batch 1
    state = uninterrupted.state_dict()
    rest = [(images, labels, indices, uninterrupted.choices(indices)) for images, labels, indices in batches]
    resumed = make_loader(shards)
    resumed.load_state_dict(state)
    replay = []
    for images, labels, indices in resumed:
        replay.append((images, labels, indices, resumed.choices(indices)))
    assert state["position"] == 1
    assert_same(rest, replay)
    with pytest.raises(ValueError, match="saved with listing="):
        make_loader(files).load_state_dict(state)


@pytest.fixture(scope="module")
def corrupt(tmp_path_factory):
    images = [_jpeg(i) for i in range(8)]
    images[2] = images[2][: len(images[2]) // 2]  # a truncated JPEG member: no end-of-image marker
    _, shards = _write(tmp_path_factory.mktemp("corrupt"), images, [0, 1] * 4, per_shard=4, prefix="bad")
    return shards


def test_a_corrupt_member_raises_or_is_skipped_naming_the_shard_and_key(corrupt):
    with pytest.raises(RuntimeError, match=r"bad-0000.tar:img_02\): truncated JPEG"):
        for _ in make_loader(corrupt, on_error="raise", train=False):
            pass
    loader = make_loader(corrupt, on_error="skip", train=False)
    indices = torch.cat([batch[2] for batch in loader]).tolist()
    assert indices == [0, 1, 3, 4, 5, 6, 7] and loader.skipped_files == [f"{corrupt[0]}:img_02"]


def test_max_pixels_applies_to_shard_members(corrupt):
    with pytest.raises(RuntimeError, match=r"bad-0000.tar:img_00\): its header declares 50 x 30 pixels"):
        for _ in make_loader(corrupt, n=8, max_pixels=100):
            pass
