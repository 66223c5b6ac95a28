"""Repository-level gates: generated files in step with their sources, and the notebook rhythm kept."""

import importlib
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSERTS = re.compile(r"\b(test_eq|test_ne|test_fail|test_close|test_is|test_warns|assert)\b")


def _exported():
    "Every public symbol each notebook exports, with its notebook."
    index = importlib.import_module("mlops_workbench._modidx").d["syms"]
    for module, symbols in index.items():
        mod = importlib.import_module(module)
        source = Path(mod.__file__).read_text()
        notebook = ROOT / "nbs" / re.search(r"File to edit: \.\./nbs/(\S+\.ipynb)", source).group(1)
        for qualname in symbols:
            name = qualname[len(module) + 1:]
            if "." in name or name.startswith("_") or name not in getattr(mod, "__all__", []):
                continue
            yield module, name, getattr(mod, name), notebook


EXPORTED = list(_exported())


def test_readme_is_generated_from_index():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("module, name, obj, notebook", EXPORTED, ids=[f"{m}.{n}" for m, n, _, _ in EXPORTED])
def test_exported_symbol_is_documented_typed_and_demonstrated(module, name, obj, notebook):
    if inspect.isfunction(obj):
        sig = inspect.signature(obj)
        untyped = [p for p, v in sig.parameters.items() if v.annotation is inspect.Parameter.empty]
        assert not untyped, f"{module}.{name}: parameters without type hints: {untyped}"
        assert sig.return_annotation is not inspect.Signature.empty, f"{module}.{name}: no return type"
    assert inspect.getdoc(obj), f"{module}.{name}: no docstring"
    if inspect.isfunction(obj):
        cells = json.loads(notebook.read_text())["cells"]
        demos = ["".join(c["source"]) for c in cells if c["cell_type"] == "code" and "#| export" not in "".join(c["source"])]
        used = [src for src in demos if re.search(rf"\b{re.escape(name)}\b", src) and ASSERTS.search(src)]
        assert used, f"{module}.{name}: no asserting cell in {notebook.name} uses it"


@pytest.mark.parametrize("stage", ["explore", "validate", "train", "evaluate"])
def test_stage_notebook_declares_the_runner_parameters_and_ships_clean(stage):
    from mlops_workbench.pipeline import declared_parameters, packaged_stage

    path = packaged_stage(stage)
    declared = declared_parameters(path)
    types = {name: declared[name]["type"] for name in ("settings_path", "run_dir", "interactive", "parent_run_id") if name in declared}
    assert types == {"settings_path": "str", "run_dir": "str", "interactive": "bool", "parent_run_id": "str"}
    cells = json.loads(path.read_text())["cells"]
    assert not [c for c in cells if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
