"""The package's layers import top-down only, and the lower ones load neither DALI nor torch.

Layers, top to bottom (see each package's ``__init__`` docstring)::

    cli -> (loader, baseline, augment) -> (pipelines, data, estimator, distributed)
        -> root backend-free modules (ops, sampler, strength, checkpoint, kernels) -> _utils

A module may import its own unit (``loader._build`` imports ``loader._epoch``) and any unit of a
lower layer; never a unit of a higher layer, and never a sibling of its own layer, except the
edges listed in ``SIDEWAYS``.
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
    ("sada_dali.ops", "sada_dali.sampler", "sada_dali.strength", "sada_dali.checkpoint", "sada_dali.kernels"),
    ("sada_dali.pipelines", "sada_dali.data", "sada_dali.estimator", "sada_dali.distributed"),
    ("sada_dali.loader", "sada_dali.baseline", "sada_dali.augment"),
    ("sada_dali.cli",),
)
SIDEWAYS = {("sada_dali.distributed", "sada_dali.estimator")}  # the estimator, replicated over ranks


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


def test_every_module_belongs_to_a_layer():
    assert [name for name in MODULES if name != "sada_dali" and unit_of(name) is None] == []


def test_no_module_imports_a_higher_layer_or_a_sibling_of_its_own():
    assert back_arrows() == []


def test_the_check_sees_lazy_and_relative_imports():
    assert "sada_dali.pipelines.train" in imports_of(
        "sada_dali.loader._build", MODULES["sada_dali.loader._build"]
    )
    assert "sada_dali.cli.bench" in imports_of("sada_dali.cli.main", MODULES["sada_dali.cli.main"])


@pytest.mark.parametrize(
    "source, target, ok",
    [
        ("sada_dali.data._reader", "sada_dali.loader.loader", False),
        ("sada_dali.pipelines.ops", "sada_dali.loader", False),
        ("sada_dali._utils.checks", "sada_dali.ops", False),
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
    root = ["sada_dali.ops", "sada_dali.sampler", "sada_dali.strength", "sada_dali.checkpoint"]
    assert loaded_backends("sada_dali.loader", "sada_dali.data", *helpers, *root) == []
