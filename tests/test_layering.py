"""The package's layers import top-down only, and the lower ones load neither DALI nor torch.

Layers, top to bottom (see each package's ``__init__`` docstring)::

    cli -> (loader, baseline, augment) -> (pipelines, data, estimator, distributed)
        -> root backend-free modules (op_space, sampler, strength, checkpoint, kernels) -> _utils

A module may import its own unit (``loader._build`` imports ``loader._epoch``) and any unit of a
lower layer; never a unit of a higher layer, and never a sibling of its own layer, except the
edges listed in ``SIDEWAYS``. Inside a unit the imports form no loop either (``data.source`` may
import ``data._tar_shards`` or the reverse, not both), lazy imports included.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"sada_dali": REPO / "sada_dali", "sada_dali.pipelines": REPO / "pipelines"}
PACKAGES["sada_dali.kernels"] = REPO / "kernels"
LAYERS = (
    ("sada_dali._utils",),
    (
        "sada_dali.op_space",
        "sada_dali.sampler",
        "sada_dali.strength",
        "sada_dali.checkpoint",
        "sada_dali.kernels",
    ),
    ("sada_dali.pipelines", "sada_dali.data", "sada_dali.estimator", "sada_dali.distributed"),
    ("sada_dali.loader", "sada_dali.baseline", "sada_dali.augment"),
    ("sada_dali.cli",),
)
SIDEWAYS = {
    ("sada_dali.distributed", "sada_dali.estimator"),  # the estimator, replicated over ranks
}


def module_files() -> dict[str, Path]:
    """Every module of the installed package, by its dotted name (pipelines/ and kernels/ included)."""
    modules = {}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if package == "sada_dali" and parts[0] in ("pipelines", "kernels"):
                continue  # not part of the source tree's sada_dali/ folder
            name = ".".join((package, *parts)).removesuffix(".__init__")
            modules[name] = path
    return modules


MODULES = module_files()


def imports_of(name: str, path: Path) -> set[str]:
    """The sada_dali modules ``name`` imports, at any depth of its code (lazy imports included)."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # `from . import bench` imports the module sada_dali.cli.bench
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in MODULES else target)
    return {module for module in found if module == "sada_dali" or module.startswith("sada_dali.")}


def unit_of(module: str) -> tuple[int, str] | None:
    """(layer, unit) of a module; None for the package root ``sada_dali`` itself."""
    for layer, units in enumerate(LAYERS):
        for unit in units:
            if module == unit or module.startswith(unit + "."):
                return layer, unit
    return None


def allowed(source: str, target: str) -> bool:
    """Whether module ``source`` may import module ``target`` (the root package: the CLI only)."""
    layer, unit = unit_of(source)
    if target == "sada_dali":
        return unit == "sada_dali.cli"
    dest_layer, dest_unit = unit_of(target)
    return dest_unit == unit or dest_layer < layer or (unit, dest_unit) in SIDEWAYS


def back_arrows() -> list[str]:
    return [
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if name != "sada_dali"  # its lazy names are checked below
        for target in sorted(imports_of(name, path))
        if not allowed(name, target)
    ]


def import_loops(graph: dict[str, list[str]]) -> list[list[str]]:
    """The loops of ``graph`` (module -> modules it imports): each strongly connected set of two or
    more modules, sorted, and each module that imports itself (Tarjan's algorithm)."""
    index, low, stack, on_stack, loops = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            members = []
            while not members or members[-1] != node:
                members.append(stack.pop())
                on_stack.discard(members[-1])
            if len(members) > 1 or node in graph.get(node, ()):
                loops.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(loops)


def import_graph() -> dict[str, list[str]]:
    """Every module of the package -> the modules of the package it imports (lazy imports included)."""
    return {name: sorted(t for t in imports_of(name, path) if t in MODULES) for name, path in MODULES.items()}


def test_every_module_belongs_to_a_layer():
    assert [name for name in MODULES if name != "sada_dali" and unit_of(name) is None] == []


def test_no_module_imports_a_higher_layer_or_a_sibling_of_its_own():
    assert back_arrows() == []


def test_no_modules_import_one_another_in_a_loop():
    assert import_loops(import_graph()) == []


def test_the_loop_check_finds_loops_of_two_of_three_and_of_one_module():
    graph = {"a": ["b"], "b": ["a", "c"], "c": [], "d": ["e"], "e": ["f"], "f": ["d", "c"], "g": ["g"]}
    assert import_loops(graph) == [["a", "b"], ["d", "e", "f"], ["g"]]
    assert import_loops({"a": ["b"], "b": ["c"], "c": []}) == []


def test_the_check_sees_lazy_and_relative_imports():
    assert "sada_dali.pipelines.train" in imports_of(
        "sada_dali.loader._build", MODULES["sada_dali.loader._build"]
    )
    assert "sada_dali.cli.bench" in imports_of("sada_dali.cli.main", MODULES["sada_dali.cli.main"])


@pytest.mark.parametrize(
    "source, target, ok",
    [
        ("sada_dali.data._reader", "sada_dali.loader.loader", False),
        ("sada_dali.pipelines.dali_ops", "sada_dali.loader", False),
        ("sada_dali._utils.checks", "sada_dali.op_space", False),
        ("sada_dali.estimator.estimator", "sada_dali.data.source", False),
        ("sada_dali.distributed", "sada_dali.estimator", True),
        ("sada_dali.cli.train", "sada_dali._utils.rng", True),
        ("sada_dali.cli.main", "sada_dali", True),
        ("sada_dali.data.source", "sada_dali", False),
    ],
)
def test_the_layer_rule_tells_a_back_arrow_from_a_downward_import(source, target, ok):
    assert allowed(source, target) is ok


def test_the_package_root_imports_only_the_lazy_helper_and_the_numpy_only_augment():
    # augment is eager: once `sada_dali.augment` (the module) is imported, a lazy function would be shadowed
    assert imports_of("sada_dali", MODULES["sada_dali"]) == {"sada_dali._utils.lazy", "sada_dali.augment"}


def loaded_backends(*modules: str) -> dict:
    """Which of DALI, torch and CuPy a fresh interpreter holds after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {list(modules)!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted({m.split('.')[0] if m.split('.')[0] != 'nvidia' else 'nvidia.dali'"
        " for m in sys.modules if m == 'torch' or m == 'cupy' or m.startswith(('torch.', 'cupy.',"
        " 'nvidia.dali'))})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_importing_the_loader_data_and_helpers_loads_neither_dali_nor_torch():
    helpers = [name for name in MODULES if name.startswith("sada_dali._utils")]
    root = ["sada_dali.op_space", "sada_dali.sampler", "sada_dali.strength", "sada_dali.checkpoint"]
    assert loaded_backends("sada_dali.loader", "sada_dali.data", *helpers, *root) == []
