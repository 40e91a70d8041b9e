"""Per-rank thread and worker defaults, the main-guard error, device ids and the shared listing."""

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _images import write_image_folder

from sada_dali._utils.checks import resolve_device_id
from sada_dali.data._shared_listing import SharedListing
from sada_dali.data.source import Listing
from sada_dali.loader import SADALoader, _defaults
from sada_dali.loader._main_guard import _guarded


@pytest.fixture
def cpus(monkeypatch):
    def restrict(n):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)

    return restrict


def test_defaults_divide_the_usable_cpus_by_the_local_ranks(cpus, monkeypatch):
    cpus(128)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    assert _defaults.cpu_share() == 16
    assert _defaults.default_num_threads("gpu") == 8 and _defaults.default_num_threads("cpu") == 16
    assert _defaults.default_workers() == 4


def test_defaults_follow_a_restricted_affinity_mask(cpus, monkeypatch):
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    cpus(3)
    assert _defaults.usable_cpus() == 3
    assert _defaults.default_num_threads("gpu") == 3 and _defaults.default_workers() == 1


def test_defaults_never_go_below_one(cpus, monkeypatch):
    cpus(2)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    assert _defaults.default_num_threads("cpu") == 1 and _defaults.default_workers() == 1


def test_a_loader_built_with_defaults_uses_the_per_rank_share(tmp_path, cpus, monkeypatch):
    write_image_folder(tmp_path, num_classes=2, per_class=3, sizes=(24, 32))
    cpus(16)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    loader = SADALoader(tmp_path, 2, device="cpu", image_size=16, num_magnitude_bins=3)
    try:
        pipe = loader._runner.pipe
        assert pipe.num_threads == 2 and pipe.py_num_workers == 1
    finally:
        loader.close()


@pytest.mark.parametrize("value", ["0", "-2", "eight"])
def test_a_bad_local_world_size_is_named(monkeypatch, value):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", value)
    with pytest.raises(ValueError, match="LOCAL_WORLD_SIZE must be a positive integer"):
        _defaults.local_world_size()


@pytest.mark.parametrize("name,value", [("num_threads", 0), ("workers", -1), ("workers", 1.5)])
def test_bad_thread_and_worker_counts_are_named(tmp_path, name, value):
    write_image_folder(tmp_path, num_classes=2, per_class=2, sizes=(24, 32))
    with pytest.raises(ValueError, match=f"The `{name}` must be an integer"):
        SADALoader(tmp_path, 2, device="cpu", **{name: value})


def test_device_id_is_none_on_the_cpu_and_validated_on_the_gpu():
    assert resolve_device_id("cpu", 3) is None
    assert resolve_device_id("gpu", 1) == 1
    with pytest.raises(ValueError, match="The `device_id` must be a non-negative integer"):
        resolve_device_id("gpu", -1)


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from sada_dali import SADALoader
{body}
"""


def run_script(tmp_path, body):
    write_image_folder(tmp_path / "data", num_classes=2, per_class=2, sizes=(24, 32))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(tests=os.path.dirname(__file__), body=textwrap.dedent(body)))
    return subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )


def test_an_unguarded_script_with_workers_ends_with_the_fix_on_its_last_line(tmp_path):
    done = run_script(
        tmp_path,
        """
        loader = SADALoader("data", 2, device="cpu", workers=2, image_size=16, num_magnitude_bins=3)
        print(sum(len(b[2]) for b in loader))
    """,
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert 'if __name__ == "__main__":' in last and "workers=0" in last
    assert "Workers initialization failed" not in done.stderr and "train.py (line" in done.stderr


def test_a_guarded_script_with_workers_runs(tmp_path):
    done = run_script(
        tmp_path,
        """
        def main():
            loader = SADALoader("data", 2, device="cpu", workers=1, image_size=16, num_magnitude_bins=3)
            print("read", sum(len(b[2]) for b in loader))

        if __name__ == "__main__":
            main()
    """,
    )
    assert done.returncode == 0, done.stderr
    assert "read 4" in done.stdout


@pytest.mark.parametrize(
    "source,line,guarded",
    [
        ("x = 1\nif __name__ == '__main__':\n    y = 2\n", 3, True),
        ("x = 1\nif '__main__' == __name__:\n    y = 2\n", 3, True),
        ("x = 1\nif __name__ == '__main__':\n    y = 2\n", 1, False),
        ("if __name__ != '__main__':\n    y = 2\n", 2, False),
        ("if __name__ == '__main__':\n    if True:\n        y = 2\n", 3, True),
    ],
)
def test_the_guard_is_found_only_around_the_running_line(source, line, guarded):
    assert _guarded(source, line) is guarded


def test_the_shared_listing_round_trips_paths_labels_and_order_through_pickle():
    files = tuple(f"/data/train/n{k:08d}/img_{k}_é.JPEG" for k in range(50))
    listing = Listing(files, np.arange(50, dtype=np.int64) % 7, tuple("0123456"), "/data/train")
    shared = SharedListing(listing, shard_size=25)
    try:
        assert shared.order_epoch == -1
        shared.set_order(3, np.arange(25)[::-1])
        copy = pickle.loads(pickle.dumps(shared))
        assert len(pickle.dumps(shared)) < 200  # the name travels, not the paths
        assert [copy.path(i) for i in range(50)] == list(files)
        assert np.array_equal(copy.labels, listing.labels)
        assert copy.order_epoch == 3 and copy.order.tolist() == list(range(24, -1, -1))
        copy.close()
        assert shared.path(7) == files[7]  # a worker detaching leaves the owner's block alone
    finally:
        shared.close()
    with pytest.raises(RuntimeError, match="was closed"):
        pickle.dumps(shared)


def test_the_listing_memory_benchmark_shows_workers_share_the_listing(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(
        os.path.join(os.path.dirname(__file__), "..", "benchmarks")
    )  # spawn needs it too
    import listing_memory

    result = listing_memory.main(["--num-samples", "60000", "--json", str(tmp_path / "m.json")])
    assert result["pickled_reader_bytes"] < 4096
    assert (
        result["shared_listing_worker"]["above_baseline_mb"]
        < result["pickled_tuple_worker"]["above_baseline_mb"]
    )
    assert (tmp_path / "m.json").exists()


@pytest.mark.gpu
def test_gpu_pipelines_build_on_the_current_cuda_device():
    import torch

    import sada_dali

    last = torch.cuda.device_count() - 1
    with torch.cuda.device(last):
        assert resolve_device_id("gpu") == last
        image = np.full((16, 16, 3), 100, np.uint8)
        (out,) = sada_dali.augment([image], "brightness", 0.5, device="gpu")
    assert out.shape == image.shape and abs(int(out.mean()) - 150) <= 2
    (same,) = sada_dali.augment([image], "brightness", 0.5, device="gpu", device_id=0)
    assert np.array_equal(out, same)
