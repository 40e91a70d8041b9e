"""The GPU twin of test_recovery: nvJPEG (hardware decoder included) rejects the crafted files;
the loader goes on."""

import pytest
from _bad_files import DECODER_REJECTS, write_bad_file
from _images import write_image_folder

from sada_dali.loader import SADALoader

pytestmark = pytest.mark.gpu


def make_loader(root, **kwargs):
    return SADALoader(
        root,
        3,
        device="gpu",
        image_size=16,
        workers=0,
        num_threads=1,
        num_magnitude_bins=3,
        drop_last=False,
        seed=2,
        **kwargs,
    )


@pytest.mark.parametrize("train", [True, False])
def test_skip_on_the_gpu_drops_exactly_the_files_the_decoder_rejects(tmp_path, train):
    paths = write_image_folder(tmp_path, num_classes=3, per_class=8, sizes=(40, 48), seed=3)
    loader = make_loader(tmp_path, train=train, on_error="skip")
    order = [int(i) for i in loader.sampler.indices(0)]
    bad = {order[p]: write_bad_file(paths[order[p]], kind) for kind, p in zip(DECODER_REJECTS, (4, 16))}
    seen = [i for _, labels, indices in loader for i in indices.tolist()]
    assert seen == [i for i in order if i not in bad]
    assert sorted(loader.skipped_files) == sorted(bad.values())


def test_raise_on_the_gpu_names_exactly_the_rejected_file(tmp_path):
    paths = write_image_folder(tmp_path, num_classes=3, per_class=8, sizes=(40, 48), seed=3)
    loader = make_loader(tmp_path)
    index = int(loader.sampler.indices(0)[13])
    write_bad_file(paths[index], "truncated_png")
    with pytest.raises(RuntimeError, match="the image decoder rejected 1 file") as info:
        list(loader)
    assert f"batch 4: sample {index} ({paths[index]})" in str(info.value)
    assert [p for p in paths if p in str(info.value)] == [paths[index]]
