"""Repository-level gates: generated files in step with their sources, and the notebook rhythm kept.

The rhythm gate reads code, not text. Every public function, class, public method, property and command a
notebook exports must be *used* in a cell of that notebook that a reader sees and nbdev-test runs, and
that same cell must assert something: a name in a string, a comment or a hidden cell does not count.
"""

import ast
import importlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mlops_workbench"
FASTCORE_TESTS = {"test_eq", "test_ne", "test_fail", "test_close", "test_is", "test_warns"}
# a cell with one of these directives is not a demonstration: exported code, hidden cells, cells nbdev-test skips
NOT_SHOWN = {"export", "exports", "exporti", "hide"}
NOT_RUN = {"notest", "slow"}  # pyproject's tst_flags
DIRECTIVE = re.compile(r"^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")


# ---------------------------------------------------------------- notebook cells, read as code

def _directives(source: str) -> dict[str, str]:
    "The nbdev directives (`#| name value`) at the top of a cell."
    found = {}
    for line in source.splitlines():
        if not line.strip():
            continue
        m = DIRECTIVE.match(line)
        if not m:
            break
        found[m.group(1)] = m.group(2)
    return found


def _parse(source: str) -> ast.Module | None:
    "A cell's code as a tree, without IPython's `%magic` and `!shell` lines; None when it does not parse."
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def _callee(call: ast.Call) -> str | None:
    "The called name: `f` for `f(...)` and `x.f(...)`."
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _asserts(tree: ast.Module) -> bool:
    "Does the cell assert: an `assert` statement or one of fastcore's `test_*` calls?"
    return any(isinstance(n, ast.Assert) or (isinstance(n, ast.Call) and _callee(n) in FASTCORE_TESTS)
               for n in ast.walk(tree))


def _command_words(call: ast.Call) -> tuple[str, ...] | None:
    "For `main([...])`: the string constants the list literal starts with (the command path and what follows)."
    if _callee(call) != "main" or not call.args or not isinstance(call.args[0], ast.List):
        return None
    words = []
    for element in call.args[0].elts:
        if not (isinstance(element, ast.Constant) and isinstance(element.value, str)):
            break
        words.append(element.value)
    return tuple(words)


@dataclass
class Demos:
    "What the visible asserting cells of one notebook use."
    calls: set[str]  # names called, `f(...)` or `x.f(...)`
    attributes: set[str]  # attributes read, `x.a`
    commands: set[tuple[str, ...]]  # leading words of `main([...])` calls


_DEMOS: dict[Path, Demos] = {}


def demos(notebook: Path) -> Demos:
    "Collect, once per notebook, what its visible, running, asserting code cells call and read."
    if notebook not in _DEMOS:
        found = Demos(set(), set(), set())
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            directives = _directives(source)
            if cell["cell_type"] != "code" or NOT_SHOWN & directives.keys() or NOT_RUN & directives.keys():
                continue
            if directives.get("eval") == "false" or directives.get("echo") == "false":
                continue
            tree = _parse(source)
            if tree is None or not _asserts(tree):
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    found.calls.add(_callee(node))
                    words = _command_words(node)
                    if words is not None:
                        found.commands.add(words)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                    found.attributes.add(node.attr)
        _DEMOS[notebook] = found
    return _DEMOS[notebook]


# ---------------------------------------------------------------- what each module exports

def _notebook_of(module_path: Path) -> Path:
    "The notebook a generated module says to edit."
    header = re.search(r"File to edit: \.\./nbs/(\S+\.ipynb)", module_path.read_text(encoding="utf-8"))
    return ROOT / "nbs" / header.group(1)


def _decorators(node: ast.AST) -> set[str]:
    "The last dotted part of each decorator: `property`, `classmethod`, `setter`, `command`..."
    names = set()
    for d in node.decorator_list:
        d = d.func if isinstance(d, ast.Call) else d
        names.add(d.attr if isinstance(d, ast.Attribute) else getattr(d, "id", ""))
    return names


def _untyped(fn: ast.FunctionDef) -> list[str]:
    "Parameters without a type hint, and `return` when the return type is missing."
    a = fn.args
    params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *([a.vararg] if a.vararg else []), *([a.kwarg] if a.kwarg else [])]
    return [p.arg for p in params if p.annotation is None] + ([] if fn.returns else ["return"])


@dataclass
class Symbol:
    "One thing a notebook exports, and how it must be demonstrated."
    id: str  # module.name or module.Class.member
    kind: str  # function, class, method, property, command
    name: str
    node: ast.AST
    notebook: Path
    path: tuple[str, ...] = ()  # a command's words after `mlops-wb`


def _command_paths(module) -> dict[int, tuple[str, ...]]:
    "Every click command of `module` (by id) with its words, walked from the root groups."
    commands = [obj for obj in vars(module).values() if isinstance(obj, click.Command)]
    children = {id(c) for g in commands if isinstance(g, click.Group) for c in g.commands.values()}
    paths = {}

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        paths[id(command)] = path
        for word, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, word))

    for root in (c for c in commands if id(c) not in children):
        walk(root, ())
    return paths


def _symbols():
    "Every public function, class, public method, property and command of the package, with its notebook."
    for module_path in sorted(PACKAGE.glob("*.py")):
        if module_path.name.startswith("_"):
            continue
        module = importlib.import_module(f"mlops_workbench.{module_path.stem}")
        tree = ast.parse(module_path.read_text(encoding="utf-8"))
        notebook = _notebook_of(module_path)
        public = set(getattr(module, "__all__", []))
        paths = _command_paths(module)
        short = module_path.stem
        for node in tree.body:
            name = getattr(node, "name", None)
            if name not in public or name.startswith("_"):
                continue
            obj = getattr(module, name)
            if isinstance(obj, click.Command):
                yield Symbol(f"{short}.{name}", "command", name, node, notebook, paths[id(obj)])
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield Symbol(f"{short}.{name}", "function", name, node, notebook)
            elif isinstance(node, ast.ClassDef):
                yield Symbol(f"{short}.{name}", "class", name, node, notebook)
                for member in node.body:
                    if isinstance(member, (ast.FunctionDef, ast.AsyncFunctionDef)) and not member.name.startswith("_"):
                        decorators = _decorators(member)
                        if decorators & {"setter", "deleter"}:
                            continue
                        kind = "property" if decorators & {"property", "cached_property"} else "method"
                        yield Symbol(f"{short}.{name}.{member.name}", kind, member.name, member, notebook)


SYMBOLS = list(_symbols())


# ---------------------------------------------------------------- the gates

def test_readme_is_generated_from_index():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_rhythm_gate_sees_every_module():
    modules = {s.id.split(".")[0] for s in SYMBOLS}
    assert modules == {p.stem for p in PACKAGE.glob("*.py") if not p.name.startswith("_")}
    assert {s.kind for s in SYMBOLS} == {"function", "class", "method", "property", "command"}


def _problems(symbol: Symbol) -> list[str]:
    "What `symbol` lacks: a docstring, type hints, a demonstration in a visible asserting cell."
    problems = []
    if not ast.get_docstring(symbol.node):
        problems.append("no docstring")
    if symbol.kind in ("function", "command") and _untyped(symbol.node):
        problems.append(f"no type hints on: {', '.join(_untyped(symbol.node))}")
    used = demos(symbol.notebook)
    where = f"in a visible asserting cell of {symbol.notebook.name}"
    if symbol.kind == "command":
        if not any(words[:len(symbol.path)] == symbol.path for words in used.commands):
            problems.append(f"no `main({list(symbol.path)!r} + [...])` {where}")
    elif symbol.kind == "property":
        if symbol.name not in used.attributes:
            problems.append(f"`x.{symbol.name}` is not read {where}")
    elif symbol.kind == "method":
        if symbol.name not in used.calls:
            problems.append(f"`x.{symbol.name}(...)` is not called {where}")
    elif symbol.name not in used.calls:
        problems.append(f"`{symbol.name}(...)` is not called {where}")
    return problems


@pytest.mark.parametrize("symbol", SYMBOLS, ids=[s.id for s in SYMBOLS])
def test_exported_symbol_is_documented_typed_and_demonstrated(symbol):
    problems = _problems(symbol)
    assert not problems, f"{symbol.id} ({symbol.kind}): " + "; ".join(problems)


@pytest.mark.parametrize("stage", ["explore", "validate", "train", "evaluate"])
def test_stage_notebook_declares_the_runner_parameters_and_ships_clean(stage):
    from mlops_workbench.execute import declared_parameters, packaged_stage

    path = packaged_stage(stage)
    declared = declared_parameters(path)
    types = {name: declared[name]["type"] for name in ("settings_path", "run_dir", "interactive", "parent_run_id") if name in declared}
    assert types == {"settings_path": "str", "run_dir": "str", "interactive": "bool", "parent_run_id": "str"}
    cells = json.loads(path.read_text())["cells"]
    assert not [c for c in cells if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
