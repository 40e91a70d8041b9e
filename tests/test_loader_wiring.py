"""The loader's wiring stays explicit: no module reaches through a collaborator to a third object,
``SADALoader.__init__`` only checks its options and builds, and the modules stay small."""

import ast
import inspect
import pickle
from pathlib import Path

import pytest
from _images import write_image_folder

from sada_dali.data._reader import SampleReader
from sada_dali.data._shared_listing import ReaderView
from sada_dali.loader import SADALoader

LOADER = Path(__file__).resolve().parents[1] / "sada_dali" / "loader"


def _chain(node: ast.Attribute) -> tuple[str | None, list[str]]:
    """The name an attribute chain starts from (None: a call or a subscript) and its attributes, in order."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return (node.id if isinstance(node, ast.Name) else None), names[::-1]


def _imported(tree) -> set[str]:
    """Names bound by imports: modules and classes, whose dotted paths are not collaborators."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


COLLABORATORS = {
    name
    for base in ("reader", "listing", "shared_listing", "table", "state", "epoch", "runner", "sampler")
    + ("probe", "ledger", "estimator", "view", "pipe", "iterator", "options")
    for name in (base, "_" + base)
}
"""The attributes that hold a loader's parts: a chain through one of them reaches another object's part."""


def reach_throughs(source: str) -> list[str]:
    """The attribute chains of ``source`` that reach through one object to a third: any chain of three
    attributes (``self.runner.reader.listing``, ``runner.reader.listing.mark_bad``), and a chain of two
    from another object than ``self`` through one of its parts (``runner.reader.on_error``,
    ``reader.sampler.batch_size``). A module path does not count, nor a method of a value
    (``runner.recoveries.get``, ``state.strengths.copy``)."""
    tree = ast.parse(source)
    modules, parents, found = _imported(tree), {}, []
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or isinstance(parents.get(node), ast.Attribute):
            continue  # only whole chains
        base, names = _chain(node)
        if base is None or base in modules:
            continue
        if len(names) >= 3 or (base != "self" and len(names) == 2 and names[0] in COLLABORATORS):
            found.append((node.lineno, f"line {node.lineno}: {'.'.join([base, *names])}"))
    return [text for _, text in sorted(found)]


def test_the_check_finds_reach_throughs_and_leaves_collaborators_and_modules_alone():
    source = """
import numpy as np
from nvidia.dali import fn
def f(self, runner, reader):
    runner.reader.listing.mark_bad([1])
    runner.reader.on_error
    x = self._runner.reader.listing
    self.sampler.batch_size, runner.read_ahead(3), reader.sample(1), runner.resume["epoch"].bit_length
    np.random.default_rng, fn.decoders.image, reader.sample(1).shape.count, runner.recoveries.get
    reader.sampler.batch_size, self._state.ledger.save()
"""
    assert reach_throughs(source) == [
        "line 5: runner.reader.listing.mark_bad",
        "line 6: runner.reader.on_error",
        "line 7: self._runner.reader.listing",
        "line 10: reader.sampler.batch_size",
        "line 10: self._state.ledger.save",
    ]


@pytest.mark.parametrize("path", sorted(LOADER.glob("*.py")), ids=lambda p: p.name)
def test_no_loader_module_reaches_through_a_collaborator(path):
    assert reach_throughs(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", sorted(LOADER.glob("*.py")), ids=lambda p: p.name)
def test_the_loader_modules_stay_small_and_documented(path):
    source = path.read_text(encoding="utf-8")
    lines = source.count("\n")
    public = ("loader.py", "iterator.py")  # their docstrings are the users' reference
    assert path.name in public or 40 <= lines <= 180 or path.name == "__init__.py", (
        f"{path.name}: {lines} lines"
    )
    assert ast.get_docstring(ast.parse(source)), f"{path.name} has no module docstring"
    assert path.name == "__init__.py" or "__all__ = [" in source


def test_the_loader_init_only_checks_its_options_and_builds():
    lines = inspect.getsource(SADALoader.__init__).rstrip("\n").count("\n") + 1
    assert lines <= 40, f"SADALoader.__init__ has {lines} lines"


def test_the_reader_gets_a_frozen_view_that_pickles_into_a_worker(tmp_path):
    write_image_folder(tmp_path, num_classes=2, per_class=3, sizes=(24, 32))
    loader = SADALoader(
        tmp_path, 2, device="cpu", image_size=16, workers=0, num_threads=1, num_magnitude_bins=3
    )
    try:
        reader = loader._reader
        assert isinstance(reader.view, ReaderView) and reader.on_error == "raise"
        with pytest.raises(AttributeError):
            reader.view.on_error = "skip"
        with pytest.raises(AttributeError):
            reader.on_error = "skip"
        copy = pickle.loads(pickle.dumps(reader))  # as DALI's "spawn" workers get it
        assert copy.listing.path(4) == loader.listing.files[4] and copy.table.num_samples == 6
        copy.listing.close()
        with pytest.raises(TypeError, match="takes the view's `table` and `on_error`"):
            SampleReader(reader.view, loader.sampler, on_error="skip", num_magnitude_bins=3, num_ops=14)
    finally:
        loader.close()
