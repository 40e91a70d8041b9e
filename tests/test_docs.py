"""Every code block of the README and docs/ is run by a test or marked not runnable here, and the
signatures the docs show match the code.

The convention (docs/development.md): an HTML comment on the line just before the opening fence,

* ``<!-- run: NAME -->``: the block runs in the test named by ``RUNS[NAME]`` (here unless that names
  another test file), with the substitutions listed there (test data instead of ImageNet, the CPU
  instead of the GPU);
* ``<!-- not run: REASON -->``: GPU, torchrun, a diff against another project's script, an install
  or a long command, a layout; ``signature`` blocks are instead checked against the code below.
"""

import ast
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from _images import write_image_folder

import sada_dali

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
MARKER = re.compile(r"<!-- (run|not run): ([^>]*?) -->")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks() -> list[dict]:
    """Every fenced block: page, line, language, code and marker (kind, value) or None."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = MARKER.fullmatch(before.strip())
            found.append(
                {
                    "where": f"{page.relative_to(REPO)}:{text.count(chr(10), 0, match.start()) + 1}",
                    "language": match.group(1),
                    "code": match.group(2),
                    "marker": marker.groups() if marker else None,
                }
            )
    return found


BLOCKS = blocks()

# name -> (the test that runs the block, its substitutions {as written: as run}, extra setup code)
RUNS = {
    "quick start": ("tests/test_readme.py", {}, ""),
    "add an op": ("tests/test_op_registry.py", {}, ""),
    "augment": (
        "tests/test_docs.py",
        {'device="gpu"': 'device="cpu"'},
        "images = [np.full((24, 32, 3), 90, np.uint8), np.full((30, 20, 3), 200, np.uint8)]",
    ),
    "baseline": (
        "tests/test_docs.py",
        {'"/data/imagenet/train"': "DATA", "num_workers=8, persistent_workers=True": "num_workers=0"},
        "num_samples = NUM_SAMPLES",
    ),
    "resume": (
        "tests/test_docs.py",
        {
            '"imagenet/train", 256, device="gpu"': 'DATA, 2, device="cpu", workers=0',
            'device="cuda"': 'device="cpu"',
            "...  # forward, backward, optimizer.step()": "logits = model(images)",
        },
        "model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), "
        "torch.nn.Linear(3, 2))\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "epochs = 2",
    ),
}


def marked(name: str) -> dict:
    (block,) = [b for b in BLOCKS if b["marker"] == ("run", name)]
    return block


def test_every_code_block_is_run_by_a_test_or_marked_not_runnable_here():
    unmarked = [b["where"] for b in BLOCKS if b["marker"] is None]
    assert unmarked == [], f"mark these blocks <!-- run: NAME --> or <!-- not run: REASON -->: {unmarked}"
    unknown = [b["where"] for b in BLOCKS if b["marker"][0] == "run" and b["marker"][1] not in RUNS]
    assert unknown == [], f"these blocks name a run missing from tests/test_docs.py RUNS: {unknown}"
    assert sorted(b["marker"][1] for b in BLOCKS if b["marker"][0] == "run") == sorted(RUNS)


def test_the_blocks_another_test_file_runs_are_read_by_that_file():
    for name, (test_file, _, _) in RUNS.items():
        if test_file == "tests/test_docs.py":
            continue
        page = Path(marked(name)["where"].split(":")[0]).name
        assert page in (REPO / test_file).read_text(encoding="utf-8"), (name, test_file)


def runnable(name: str) -> str:
    block = marked(name)
    test_file, substitutions, setup = RUNS[name]
    code = block["code"]
    for written, run in substitutions.items():
        assert written in code, f"{block['where']} no longer holds {written!r}; update RUNS[{name!r}]"
        code = code.replace(written, run)
    return setup + "\n" + code


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("docs") / "train"
    write_image_folder(root, num_classes=2, per_class=3, sizes=(40, 48), seed=5)
    return root


def run_block(name: str, folder, **names) -> dict:
    import torch

    namespace = {"np": np, "torch": torch, "sada_dali": sada_dali, "DATA": str(folder), "NUM_SAMPLES": 6}
    namespace.update(names)
    exec(compile(runnable(name), f"<{marked(name)['where']}>", "exec"), namespace)
    return namespace


def test_the_augment_example_runs_on_the_cpu(folder):
    out = run_block("augment", folder)["out"]
    assert [image.shape for image in out] == [(24, 32, 3), (30, 20, 3)] and out[0].dtype == np.uint8


def test_the_baseline_example_yields_batches_of_the_whole_dataset(folder):
    namespace = run_block("baseline", folder)
    images, labels, indices = namespace["images"], namespace["labels"], namespace["indices"]
    assert tuple(images.shape) == (6, 3, 224, 224) and sorted(indices.tolist()) == list(range(6))
    assert labels.tolist() == [namespace["ds"].listing.labels[i] for i in indices.tolist()]
    namespace["table"].close()


def test_the_resume_example_checkpoints_and_resumes(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    first = run_block("resume", folder, resuming=False)
    first["loader"].close()
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
    again = run_block("resume", folder, resuming=True)
    assert again["estimator"].epoch == first["estimator"].epoch == 2
    again["loader"].close()


def documented_signature(code: str, name: str) -> inspect.Signature:
    """The signature of ``sada_dali.<name>(...)`` as ``code`` writes it (``a | b``: ``a`` is the default)."""
    start = code.index(f"sada_dali.{name}(") + len(f"sada_dali.{name}")
    depth = 0
    for end, char in enumerate(code[start:], start):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            break
    args = ast.parse(f"def {name}{code[start : end + 1]}: pass").body[0].args
    positional = [*args.posonlyargs, *args.args]
    pos_defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    params = [(a, inspect.Parameter.POSITIONAL_OR_KEYWORD, d) for a, d in zip(positional, pos_defaults)]
    params += [(a, inspect.Parameter.KEYWORD_ONLY, d) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    out = []
    for arg, kind, default in params:
        while isinstance(default, ast.BinOp) and isinstance(default.op, ast.BitOr):
            default = default.left
        if default is None:
            value = inspect.Parameter.empty
        else:  # literals and arithmetic such as 3/4
            value = eval(compile(ast.Expression(default), "<docs>", "eval"), {"__builtins__": {}})
        out.append(inspect.Parameter(arg.arg, kind, default=value))
    return inspect.Signature(out)


def signature_drift(documented: inspect.Signature, actual: inspect.Signature) -> list[str]:
    """What differs between the documented and the actual parameters (names, kinds, defaults)."""
    doc, code = documented.parameters, actual.parameters
    if [(p.name, p.kind) for p in doc.values()] != [(p.name, p.kind) for p in code.values()]:
        return [
            f"parameters {list(doc)} (kinds {[p.kind.name for p in doc.values()]}) vs the code's {list(code)}"
        ]
    return [
        f"{n}={doc[n].default!r} vs {code[n].default!r}" for n in doc if doc[n].default != code[n].default
    ]


def signature_block(name: str) -> dict:
    (block,) = [
        b for b in BLOCKS if b["marker"] == ("not run", "signature") and f"sada_dali.{name}(" in b["code"]
    ]
    return block


@pytest.mark.parametrize("name", ["SADALoader", "SADAEstimator"])
def test_the_documented_signature_matches_the_code(name):
    block = signature_block(name)
    drift = signature_drift(
        documented_signature(block["code"], name), inspect.signature(getattr(sada_dali, name))
    )
    assert drift == [], f"{block['where']} shows sada_dali.{name} otherwise than the code: {drift}"


def test_the_signature_check_reports_a_drifted_default_a_missing_name_and_a_kind():
    actual = inspect.signature(sada_dali.SADAEstimator)
    documented = documented_signature(signature_block("SADAEstimator")["code"], "SADAEstimator")
    assert documented.parameters["device"].default == "cpu"  # the first of "cpu" | "cuda"
    drifted = "sada_dali.SADAEstimator(num_samples, num_classes, *, window=12, decay=0.9, variance='sum', "
    drifted += "device='cpu', warmup_strength=None, seed=0, state_dtype='float16', normalize='minmax')"
    assert signature_drift(documented_signature(drifted, "SADAEstimator"), actual) == ["window=12 vs 10"]
    for text in (
        "sada_dali.SADAEstimator(num_samples, num_classes, *, window=10)",
        "sada_dali.SADAEstimator(num_samples, num_classes, window=10, decay=0.9, variance='sum', "
        "device='cpu', warmup_strength=None, seed=0, state_dtype='float16')",
    ):
        assert signature_drift(documented_signature(text, "SADAEstimator"), actual)[0].startswith(
            "parameters"
        )
