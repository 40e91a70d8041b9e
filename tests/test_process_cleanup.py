"""Nothing outlives a loader: workers die with a killed trainer, dropped loaders free what they hold."""

import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest
from _images import write_image_folder

from sada_dali._utils.parent import die_with_parent
from sada_dali._utils.shm import SHM_DIR, remove_orphans
from sada_dali.loader import SADALoader
from sada_dali.strength import StrengthTable

LOADER_SCRIPT = """
import os
import sys
import time

from sada_dali.loader import SADALoader


def main(root):
    loader = SADALoader(root, 3, device="cpu", image_size=32, workers=2, num_threads=1, num_magnitude_bins=11,
                        drop_last=False)
    print("READY", flush=True)
    while True:
        for _ in loader:
            time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1])
"""


@pytest.fixture
def script(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, num_classes=3, per_class=8, sizes=(40, 48), seed=4)
    path = tmp_path / "read.py"
    path.write_text(LOADER_SCRIPT)
    return [sys.executable, str(path), str(root)]


def process_table():
    """``{pid: (parent pid, state)}`` of every process, from ``/proc/<pid>/stat``."""
    table = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(entry)] = (int(fields[1]), fields[0].decode())
    return table


def descendants(pid):
    table, found, todo = process_table(), [], [pid]
    while todo:
        parent = todo.pop()
        children = [p for p, (ppid, _) in table.items() if ppid == parent]
        found += children
        todo += children
    return found


def shm_mapped_by(pids):
    """Names of the /dev/shm segments (sada_* blocks, sem.mp-* semaphores) the processes map."""
    names = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps") as handle:
                names.update(
                    line.split(SHM_DIR + "/")[1].split()[0] for line in handle if SHM_DIR + "/" in line
                )
        except OSError:
            pass
    return names


def spawned_workers(pid):
    """The descendants of ``pid`` started by multiprocessing's "spawn" (not its resource tracker)."""
    found = []
    for child in descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as handle:
                if b"spawn_main" in handle.read():
                    found.append(child)
        except OSError:
            pass
    return found


def running(pid):
    state = process_table().get(pid)
    return state is not None and state[1] != "Z"  # a zombie has exited; only its reaper's wait is missing


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def start(command, **kwargs):
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    line = child.stdout.readline()
    if line.strip() != "READY":
        child.kill()
        raise AssertionError(f"the loader did not start: {line!r} {child.communicate()[1][-2000:]}")
    return child


@pytest.mark.skipif(not os.path.isdir(SHM_DIR), reason="needs /proc and /dev/shm (Linux)")
def test_sigkilled_loader_leaves_no_process_and_no_segment_behind(script):
    child = start(script)
    try:
        wait_until(lambda: len(descendants(child.pid)) >= 3, 30)  # two DALI workers, the resource tracker
        spawned = descendants(child.pid)
        segments = shm_mapped_by([child.pid, *spawned])
        assert len(spawned) >= 3 and any(name.startswith("sada_") for name in segments), (spawned, segments)
        assert any(name.startswith("sem.mp-") for name in segments), segments
    finally:
        child.kill()
        child.wait()
    gone = wait_until(
        lambda: (
            not any(map(running, spawned)) and not any(os.path.exists(f"{SHM_DIR}/{n}") for n in segments)
        ),
        10,
    )
    left = [pid for pid in spawned if running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert gone, (left, [n for n in segments if os.path.exists(f"{SHM_DIR}/{n}")])


def test_ctrl_c_prints_one_traceback(script):
    child = start(script, start_new_session=True)  # its own process group, as a terminal's job
    time.sleep(1.0)  # let the workers read a few batches
    os.killpg(child.pid, signal.SIGINT)
    try:
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert err.count("Traceback (most recent call last)") == 1 and "KeyboardInterrupt" in err, err[-3000:]


@pytest.mark.skipif(not os.path.isdir(SHM_DIR), reason="needs /dev/shm (Linux)")
def test_a_new_block_removes_the_segments_of_owners_that_died(tmp_path):
    dead = multiprocessing.get_context("spawn").Process(target=int)
    dead.start()
    dead.join()
    namespace = os.stat("/proc/self/ns/pid").st_ino
    names = {
        "orphan": f"sada_{dead.pid}_{namespace}_0123456789ab",
        "live": f"sada_{os.getpid()}_{namespace}_0123456789ab",
        "other_namespace": f"sada_{dead.pid}_{namespace + 1}_0123456789ab",
        "unowned_name": "sada_0123456789abcdef",
    }
    for name in names.values():
        open(f"{SHM_DIR}/{name}", "wb").close()
    try:
        table = StrengthTable(4)
        table.close()
        assert [k for k, name in names.items() if os.path.exists(f"{SHM_DIR}/{name}")] == [
            "live",
            "other_namespace",
            "unowned_name",
        ]
        assert remove_orphans() == []
    finally:
        for name in names.values():
            if os.path.exists(f"{SHM_DIR}/{name}"):
                os.unlink(f"{SHM_DIR}/{name}")


def test_die_with_parent_does_nothing_outside_a_worker_process():
    assert multiprocessing.parent_process() is None
    assert die_with_parent() is False


def test_loader_dropped_without_close_frees_its_workers_and_segments_at_once(tmp_path):
    root = tmp_path / "data"
    write_image_folder(root, num_classes=2, per_class=4, sizes=(40, 48), seed=1)
    mine = lambda: {n for n in os.listdir(SHM_DIR) if n.startswith(f"sada_{os.getpid()}_")}  # noqa: E731
    before = mine()
    gc.disable()  # only reference counting may free the loader
    try:
        loader = SADALoader(
            root, 2, device="cpu", image_size=32, workers=1, num_threads=1, num_magnitude_bins=11
        )
        next(iter(loader))
        workers = spawned_workers(os.getpid())
        assert len(workers) == 1 and len(mine() - before) == 2
        del loader
        assert mine() == before
        assert wait_until(lambda: not any(map(running, workers)), 10)
    finally:
        gc.enable()


AUTOGRAPH_SCRIPT = """
import inspect
import linecache
import os
import signal
import sys

from sada_dali.loader import SADALoader


def main(root, end):
    loader = SADALoader(root, 3, device="cpu", image_size=32, workers=0, num_threads=1, num_magnitude_bins=11)
    next(iter(loader))
    generated = [m for name, m in list(sys.modules.items()) if name.startswith("__autograph_generated_file")]
    assert generated, "no AutoGraph module: the conditional train pipeline was not converted"
    for module in generated:
        assert not os.path.exists(module.__file__), module.__file__
        assert "def " in inspect.getsource(module)
        assert linecache.updatecache(module.__file__, module.__dict__)  # what AutoGraph's own lookup runs
    print(len(generated), flush=True)
    if end == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    loader.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
"""


@pytest.mark.parametrize("end", ["close", "kill"])
def test_a_loader_leaves_no_autograph_file_in_the_temp_folder_even_when_killed(tmp_path, end):
    root, temp = tmp_path / "data", tmp_path / "tmp"
    write_image_folder(root, num_classes=2, per_class=3, sizes=(40, 48), seed=2)
    temp.mkdir()
    (tmp_path / "autograph.py").write_text(AUTOGRAPH_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "autograph.py"), str(root), end],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TMPDIR=str(temp)),
    )
    assert done.returncode == (-signal.SIGKILL if end == "kill" else 0), done.stderr[-3000:]
    assert int(done.stdout.split()[0]) >= 5  # the modules were there, in memory
    assert [p.name for p in temp.rglob("__autograph_generated_file*")] == []
