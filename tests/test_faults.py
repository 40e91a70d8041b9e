"""Faults without data loss: dead data workers, corrupt files mid-epoch, crashes while checkpointing."""

import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from _images import truncate_file, write_image_folder

from sada_dali.checkpoint import load_checkpoint, save_checkpoint
from sada_dali.estimator import SADAEstimator
from sada_dali.loader import SADALoader

N, BATCH = 24, 3

WORKER_SCRIPT = """
import sys
import time

from sada_dali.loader import SADALoader


def main(root):
    loader = SADALoader(root, 3, device="cpu", image_size=32, workers=2, num_threads=1, num_magnitude_bins=11,
                        drop_last=False)
    batches = iter(loader)
    next(batches)
    print("READY", flush=True)
    sys.stdin.readline()  # the test kills a worker meanwhile
    start = time.monotonic()
    try:
        for _ in batches:
            pass
    except RuntimeError as exc:
        print(f"ERROR after {time.monotonic() - start:.1f} s: {exc}", flush=True)
    else:
        print("NO ERROR", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
"""


def make_loader(root, **kwargs):
    args = dict(
        device="cpu", image_size=32, workers=1, num_threads=1, num_magnitude_bins=11, drop_last=False, seed=2
    )
    args.update(kwargs)
    return SADALoader(root, BATCH, **args)


def child_pids(pid):
    """Pids whose parent is ``pid``, read from ``/proc/<pid>/stat``."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        if int(stat[stat.rindex(b")") + 2 :].split()[1]) == pid:
            children.append(int(entry))
    return children


def is_spawned_worker(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"spawn_main" in handle.read()
    except OSError:
        return False


def read_line(stream, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([stream], [], [], 1.0)[0]:
            return stream.readline()
    raise TimeoutError("no line from the child process")


def test_killed_data_worker_raises_a_clear_error_naming_the_loader(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, num_classes=3, per_class=8, sizes=(40, 48), seed=4)
    script = tmp_path / "read.py"
    script.write_text(WORKER_SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = []
    try:
        assert read_line(child.stdout, 120).strip() == "READY"
        workers = [pid for pid in child_pids(child.pid) if is_spawned_worker(pid)]
        assert len(workers) == 2  # DALI's two Python workers; the resource tracker is left alone
        os.kill(workers[0], signal.SIGKILL)
        out, err = child.communicate("go\n", timeout=60)  # a hang fails here instead of blocking CI
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in workers[1:]:
            if pid in child_pids(child.pid):
                os.kill(pid, signal.SIGKILL)
    assert "ERROR after" in out, err[-2000:]
    assert f"A data worker of SADALoader(num_samples={N}" in out and repr(str(root)) in out
    assert f"worker pid {workers[0]} killed by SIGKILL" in out
    assert "load_state_dict() resumes the epoch" in out


@pytest.fixture
def dataset(tmp_path):
    return tmp_path, write_image_folder(tmp_path, num_classes=3, per_class=8, sizes=(40, 48), seed=3)


def corrupt_later_files(loader, paths):
    """After the first batch, break two files the epoch reads near its end: one truncated, one garbage."""
    order = loader.sampler.indices(0)
    bad = [int(order[19]), int(order[22])]
    truncate_file(paths[bad[0]])
    with open(paths[bad[1]], "wb") as handle:
        handle.write(b"<html>not an image</html>" * 8)
    return bad


def test_corrupt_files_found_mid_epoch_are_skipped_and_never_reach_the_estimator(dataset):
    root, paths = dataset
    loader = make_loader(root, on_error="skip")
    estimator = SADAEstimator(N, 3)
    seen, bad = [], []
    for step, (images, labels, indices) in enumerate(loader):
        if step == 0:
            bad = corrupt_later_files(loader, paths)
        estimator.update(indices, torch.randn(len(indices), 3, generator=torch.Generator().manual_seed(step)))
        seen.extend(indices.tolist())
        assert len(images) == len(labels) == len(indices)
    assert not set(bad) & set(seen)
    assert sorted(seen + bad) == list(range(N)) and len(seen) == N - 2
    assert loader.num_skipped == 2 and loader.skipped_files == [paths[i] for i in bad]
    counts = estimator.state_dict()["seen"]
    assert counts[bad].tolist() == [0, 0] and int(counts.sum()) == N - 2


def test_corrupt_file_found_mid_epoch_raises_naming_the_file_and_batch(dataset):
    root, paths = dataset
    loader = make_loader(root)
    batches = iter(loader)
    next(batches)
    bad = corrupt_later_files(loader, paths)  # position 19: batch 6
    with pytest.raises(
        RuntimeError, match=r"Reading batch \d \(or up to 2 ahead\) of epoch 0 failed: Sample"
    ) as info:
        list(batches)
    assert (
        4 <= int(re.search(r"batch (\d)", str(info.value)).group(1)) <= 6
    )  # DALI reads up to 2 batches ahead
    assert f"Sample {bad[0]} ({paths[bad[0]]}): truncated JPEG" in str(info.value)
    assert "These batches hold" not in str(info.value)  # the reader named the file already


def test_save_checkpoint_round_trips_and_replaces_without_leftovers(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint({"step": 1, "weights": torch.arange(4.0), "strengths": np.linspace(0, 1, 5)}, path)
    save_checkpoint({"step": 2, "weights": torch.arange(3.0), "strengths": np.zeros(2)}, str(path))
    loaded = load_checkpoint(path)
    assert loaded["step"] == 2 and torch.equal(loaded["weights"], torch.arange(3.0))
    assert np.array_equal(loaded["strengths"], np.zeros(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]


def test_serializer_failing_halfway_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    save_checkpoint({"step": 1}, path)
    before = path.read_bytes()

    def half_then_fail(obj, handle, *args, **kwargs):
        handle.write(before[: len(before) // 2])
        raise MemoryError("simulated failure halfway through serialising")

    monkeypatch.setattr(torch, "save", half_then_fail)
    with pytest.raises(MemoryError, match="halfway"):
        save_checkpoint({"step": 2}, path)
    assert path.read_bytes() == before and load_checkpoint(path) == {"step": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck.pt"]  # the temporary file is gone


def test_writer_killed_mid_write_never_leaves_a_truncated_checkpoint(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint({"step": 1}, path)
    before = path.read_bytes()
    script = textwrap.dedent(f"""
        import os, signal, torch
        from sada_dali.checkpoint import save_checkpoint

        def half_then_die(obj, handle, *args, **kwargs):
            handle.write(b"PK-partial-bytes")
            handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)

        torch.save = half_then_die
        save_checkpoint({{"step": 2}}, {str(path)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]
    assert path.read_bytes() == before and load_checkpoint(path) == {"step": 1}
    leftovers = [p for p in tmp_path.iterdir() if p.name != "ck.pt"]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".ck.pt.")
    assert leftovers[0].read_bytes() == b"PK-partial-bytes"  # the partial write went to the temporary file


@pytest.mark.parametrize(
    "content,match",
    [
        (None, "does not exist"),
        (b"", r"\(0 bytes\) is truncated or corrupt \(EOFError"),
        ("half", r"is truncated or corrupt \(RuntimeError: PytorchStreamReader"),
        (b"<html>proxy error</html>", "is truncated or corrupt"),
    ],
)
def test_load_checkpoint_names_a_missing_truncated_or_corrupt_file(tmp_path, content, match):
    path = tmp_path / "ck.pt"
    if content == "half":
        save_checkpoint({"weights": torch.arange(100.0)}, path)
        content = path.read_bytes()[: path.stat().st_size // 2]
    if content is not None:
        path.write_bytes(content)
    error = FileNotFoundError if content is None else ValueError
    with pytest.raises(error, match=match) as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_save_checkpoint_rejects_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="The checkpoint folder .*missing.* does not exist"):
        save_checkpoint({"step": 1}, tmp_path / "missing" / "ck.pt")
