"""Each package's ``__init__`` docstring names what the package holds, and nothing it does not hold.

Every module (``name.py``), CUDA source (``name.cu``, ``name.cuh``) and sub-package (``name/``) of
a package is named in its ``__init__`` docstring, and every file name there that is not part of a
longer path (``kernels/sada_stats.cu`` names another package's file) is a file of the package.
The CLI's subcommands, read from its parser, are named wherever the docs list them.
"""

import argparse
import ast
import re
from pathlib import Path

import pytest

from sada_dali.cli.main import create_parser

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"sada_dali.pipelines": REPO / "pipelines", "sada_dali.kernels": REPO / "kernels"}
SOURCES = ("*.py", "*.cu", "*.cuh")
FILE_NAME = re.compile(r"(?<![\w/.-])(\w+\.(?:py|cuh|cu))(?!\w)")


def packages() -> dict[str, Path]:
    """Every package of the installed ``sada_dali``, by dotted name, and its source folder."""
    found = {
        ".".join(init.parent.relative_to(REPO).parts): init.parent
        for init in sorted((REPO / "sada_dali").rglob("__init__.py"))
    }
    return {**found, **ROOTS}


PACKAGES = packages()


def held(name: str, folder: Path) -> set[str]:
    """What the package holds: its modules and CUDA sources, and ``sub/`` for each sub-package."""
    files = {path.name for pattern in SOURCES for path in folder.glob(pattern)} - {"__init__.py"}
    subpackages = {
        f"{child.rsplit('.', 1)[1]}/"
        for child in PACKAGES
        if child.rsplit(".", 1)[0] == name and child != name
    }
    return files | subpackages


def docstring(folder: Path) -> str:
    return ast.get_docstring(ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))) or ""


def named(text: str, entry: str) -> bool:
    """Whether ``text`` names ``entry`` (a file name, or ``sub/``) on its own, not inside a path."""
    return re.search(rf"(?<![\w/.-]){re.escape(entry)}(?![\w])", text) is not None


def test_the_package_list_holds_every_installed_package():
    assert set(PACKAGES) >= {"sada_dali", "sada_dali.data", "sada_dali.pipelines", "sada_dali.kernels"}
    assert {"pipelines/", "kernels/", "data/", "_utils/", "augment.py"} <= held(
        "sada_dali", PACKAGES["sada_dali"]
    )


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_every_file_and_subpackage_is_named_in_its_package_docstring(name):
    text = docstring(PACKAGES[name])
    missing = sorted(entry for entry in held(name, PACKAGES[name]) if not named(text, entry))
    assert missing == [], f"{PACKAGES[name].relative_to(REPO)}/__init__.py does not name {missing}"


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_every_file_a_package_docstring_names_exists(name):
    folder = PACKAGES[name]
    absent = sorted({m for m in FILE_NAME.findall(docstring(folder)) if not (folder / m).is_file()})
    assert absent == [], f"{folder.relative_to(REPO)}/__init__.py names files it does not hold: {absent}"


def test_the_check_tells_a_file_of_the_package_from_one_inside_a_path():
    text = "``source.py``: listings; the kernels (``kernels/sada_stats.cu``) and ``tests/test_x.py``"
    assert FILE_NAME.findall(text) == ["source.py"]
    assert named(text, "source.py") and not named(text, "sada_stats.cu") and not named(text, "urce.py")
    assert named("``cli/`` and ``data/``", "cli/") and not named("``sada_dali/cli/``", "cli/")


def subcommands() -> list[str]:
    (action,) = [a for a in create_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return list(action.choices)


@pytest.mark.parametrize("page", ["README.md", "docs/cli.md", "docs/development.md"])
def test_the_docs_name_every_subcommand(page):
    text = (REPO / page).read_text(encoding="utf-8")
    missing = [
        c for c in subcommands() if not re.search(rf"sada-dali (?:[\w-]+, )*(?:and )?{c}\b|`{c}`", text)
    ]
    assert missing == [], f"{page} does not name the subcommands {missing}"


@pytest.mark.parametrize(
    "module", ["sada_dali/cli/main.py", "sada_dali/cli/__init__.py", "sada_dali/__init__.py"]
)
def test_the_cli_docstrings_name_every_subcommand(module):
    text = ast.get_docstring(ast.parse((REPO / module).read_text(encoding="utf-8")))
    assert [c for c in subcommands() if not re.search(rf"\b{c}\b", text)] == []


def test_the_development_layout_names_every_module_and_benchmark():
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    entries = {folder / entry for name, folder in PACKAGES.items() for entry in held(name, folder)}
    entries |= {path for pattern in ("*.py", "*.md") for path in (REPO / "benchmarks").glob(pattern)}
    missing = sorted(str(p.relative_to(REPO)) for p in entries if p.suffix and not named(text, p.name))
    assert missing == [], f"docs/development.md (Layout) does not name {missing}"
