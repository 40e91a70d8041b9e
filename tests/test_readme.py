"""The README's quick start runs as written (only its configuration line pointed at test data)."""

import os
import re
import subprocess
import sys
from pathlib import Path

from _images import write_image_folder

README = Path(__file__).resolve().parent.parent / "README.md"
CONFIG = 'DATA, DEVICE, EPOCHS, BATCH = "/data/imagenet/train", "gpu", 90, 256'


def quick_start() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Quick start") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_quick_start_script_runs_as_written(tmp_path):
    write_image_folder(tmp_path / "train", num_classes=2, per_class=2, sizes=(40, 48), seed=3)
    code = quick_start()
    assert CONFIG in code and 'if __name__ == "__main__":' in code
    script = tmp_path / "quick_start.py"
    script.write_text(
        code.replace(CONFIG, f'DATA, DEVICE, EPOCHS, BATCH = {str(tmp_path / "train")!r}, "cpu", 1, 4')
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parent))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
