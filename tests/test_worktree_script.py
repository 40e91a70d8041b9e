"""scripts/worktree.sh: a worktree for before/after runs that imports its own pipelines and kernels."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "worktree.sh"

pytestmark = pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout")


@pytest.fixture
def worktree(tmp_path):
    where = tmp_path / "before"
    done = subprocess.run(["bash", str(SCRIPT), "HEAD", str(where)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    yield where, done.stdout
    subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=ROOT, check=True)


def test_a_worktree_on_pythonpath_imports_its_own_pipelines_and_kernels(worktree):
    where, said = worktree
    code = (
        "import sada_dali.pipelines._stages as s, sada_dali.kernels as k\n"
        "print(s.__file__)\nprint(k.__path__[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=where,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    stages, kernels = done.stdout.split()
    assert Path(stages).resolve() == (where / "pipelines" / "_stages.py").resolve()
    assert Path(kernels).resolve() == (where / "kernels").resolve()
    assert said.startswith(f"{where}: ")


def test_the_script_without_two_arguments_prints_its_usage():
    done = subprocess.run(["bash", str(SCRIPT), "HEAD"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "usage: bash scripts/worktree.sh COMMIT DIR" in done.stderr
