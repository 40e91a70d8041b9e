"""save_json: the CLI's summaries and reports are written atomically, like checkpoints."""

import json

import pytest

from sada_dali.checkpoint import save_json


def test_save_json_replaces_the_file_and_leaves_no_temporary_behind(tmp_path):
    path = tmp_path / "summary.json"
    save_json({"epoch": 1}, path)
    save_json({"epoch": 2, "rows": [1.5, 2]}, str(path))
    assert json.loads(path.read_text()) == {"epoch": 2, "rows": [1.5, 2]}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_save_json_that_cannot_serialise_keeps_the_previous_file(tmp_path):
    path = tmp_path / "summary.json"
    save_json({"epoch": 1}, path)
    with pytest.raises(TypeError, match="not JSON serializable"):
        save_json({"epoch": object()}, path)
    assert json.loads(path.read_text()) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_save_json_creates_the_missing_folders_above_the_file(tmp_path):
    path = tmp_path / "runs" / "bench" / "report.json"
    save_json({"rows": 8}, path)
    assert json.loads(path.read_text()) == {"rows": 8}
