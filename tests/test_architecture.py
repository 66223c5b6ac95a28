"""Architecture gates: imports run down the module map, and the stage notebooks stay thin.

Both read the code with `ast`, so they see what runs: an import inside a function counts as much as one at
the top of a module, and a loop in a stage notebook is a loop whatever its comments say.
"""

import ast
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mlops_workbench"
STAGES = sorted((PACKAGE / "stages").glob("*.ipynb"))

# The order imports may follow: DESIGN.md, "Module map". A module imports only modules before it. "(future)"
# modules are placed already, so they land in the right spot. The library is everything before `widgets`;
# the widget modules may import the library and earlier widget modules; `cli` may import anything and
# nothing imports it.
LIBRARY = [
    "core", "data", "reports", "engine",  # engine: future
    "distributions", "relations", "summary", "profile", "contract", "validation", "drift", "tracking", "alerts", "candidates", "train", "diagnostics",
    "registry", "evaluate", "steps", "runs", "kernels", "execute",
    "dashboard", "publish",  # publish before pipeline, which refreshes the static dashboard at the end of every run
    "pipeline", "project",
    "schedule", "feedback", "serve", "monitor",  # schedule: future
]
WIDGETS = ["widgets", "explorer", "review", "compare", "form"]
ORDER = [*LIBRARY, *WIDGETS, "cli"]
NOT_MODULES = {"__init__", "_modidx"}  # the package itself (its version) and nbdev's symbol index


def package_modules() -> dict[str, Path]:
    "Every module of the package, by dotted name below `mlops_workbench`."
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if name not in NOT_MODULES:
            found[name] = path
    return found


def imported_modules(source: str, importer: str, modules: set[str]) -> list[tuple[str, int, str]]:
    "The package modules `source` imports anywhere (functions included): (module, line, statement), once per statement."
    found = []
    package = ["mlops_workbench", *importer.split(".")[:-1]]  # what `from . import` means in `importer`
    for node in ast.walk(ast.parse(source)):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            stem = ".".join([*base, *(node.module.split(".") if node.module else [])])
            targets = [stem, *(f"{stem}.{a.name}" for a in node.names)]  # `from pkg import module` names a module
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            targets = [a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        seen = []
        for parts in (target.split(".") for target in targets):
            if parts[0] != "mlops_workbench":
                continue
            # the longest dotted prefix that is a module: `mlops_workbench.x.name` is module x
            module = next((".".join(parts[1:end]) for end in range(len(parts), 1, -1) if ".".join(parts[1:end]) in modules), None)
            if module and module != importer and module not in seen:
                seen.append(module)
                found.append((module, node.lineno, " ".join((ast.get_source_segment(source, node) or "").split())))
    return found


def bad_arrows(sources: dict[str, str], modules: set[str]) -> list[str]:
    "Every import in `sources` (module name -> its code) that runs up the order, one line each."
    rank = {name: i for i, name in enumerate(ORDER)}
    bad = []
    for importer, source in sources.items():
        for imported, line, statement in imported_modules(source, importer, modules):
            if imported not in rank or importer not in rank:
                continue  # reported by the test that every module is placed
            if rank[imported] >= rank[importer]:
                what = ("cli, which nothing imports" if imported == "cli" else
                        "a widget module, which the library never imports" if imported in WIDGETS and importer in LIBRARY else
                        "a module later in the map")
                bad.append(f"{importer} -> {imported} ({what}): mlops_workbench/{importer.replace('.', '/')}.py line {line}: {statement}")
    return bad


def test_every_module_is_placed_in_the_order():
    unplaced = sorted(set(package_modules()) - set(ORDER))
    assert not unplaced, (f"modules not in the import order of tests/test_architecture.py: {', '.join(unplaced)}; "
                          "place each in ORDER where DESIGN.md's module map puts it")


def test_imports_run_down_the_module_map():
    modules = package_modules()
    bad = bad_arrows({name: path.read_text(encoding="utf-8") for name, path in modules.items()}, set(modules))
    assert not bad, f"{len(bad)} import(s) against the module map (DESIGN.md):\n" + "\n".join(bad)


def test_every_import_form_is_seen():
    source = "\n".join([
        "from .core import Settings, load_settings",
        "from . import data",
        "from mlops_workbench.reports import html_page",
        "from mlops_workbench import distributions, __version__",
        "import mlops_workbench.summary",
        "import mlops_workbench.profile as p",
        "def later():",
        "    from mlops_workbench.contract import Contract",
        "    return importlib.import_module('mlops_workbench.validation')",
        "import pandas, mlops_workbenchx",
    ])
    found = [module for module, _, _ in imported_modules(source, "drift", set(ORDER))]
    assert sorted(found) == sorted(["core", "data", "reports", "distributions", "summary", "profile", "contract", "validation"])
    assert len(bad_arrows({"core": source}, set(ORDER))) == 7 and bad_arrows({"serve": source}, set(ORDER)) == []  # core: all but itself
    assert bad_arrows({"evaluate": "def f():\n    from mlops_workbench.compare import ModelComparison"}, set(ORDER)) == [
        "evaluate -> compare (a widget module, which the library never imports): mlops_workbench/evaluate.py line 2: "
        "from mlops_workbench.compare import ModelComparison"]


# ---------------------------------------------------------------- thin stage notebooks

LOGIC = {
    ast.For: "a for loop", ast.AsyncFor: "a for loop", ast.While: "a while loop", ast.Try: "a try statement",
    ast.With: "a with statement", ast.AsyncWith: "a with statement", ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension", ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.IfExp: "a conditional expression", ast.Match: "a match statement", ast.FunctionDef: "a def",
    ast.AsyncFunctionDef: "a def", ast.ClassDef: "a class", ast.Lambda: "a lambda",
}
if hasattr(ast, "TryStar"):
    LOGIC[ast.TryStar] = "a try statement"


def _display_only(node: ast.If) -> bool:
    "The one `if` a stage notebook may hold: `if interactive:` (show a widget), with no `else`."
    return isinstance(node.test, ast.Name) and node.test.id == "interactive" and not node.orelse


def logic_in(source: str) -> list[str]:
    "The logic a stage notebook's code cell holds, one phrase per construct with its line in the cell."
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        return [f"code that does not parse (line {e.lineno})"]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and not _display_only(node):
            plain = isinstance(node.test, ast.Name) and node.test.id == "interactive"
            found.append(f"{'an else after `if interactive:`' if plain else 'an if other than `if interactive:`'} (line {node.lineno})")
        elif type(node) in LOGIC:
            found.append(f"{LOGIC[type(node)]} (line {node.lineno})")
    return found


def test_there_are_stage_notebooks():
    assert [p.stem for p in STAGES] == ["evaluate", "explore", "train", "validate"]


@pytest.mark.parametrize("notebook", STAGES, ids=[p.stem for p in STAGES])
def test_stage_notebook_is_thin(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    logic = [f"{notebook.name}, cell {i}: {what}" for i, cell in enumerate(cells) if cell["cell_type"] == "code"
             for what in logic_in("".join(cell["source"]))]
    assert not logic, ("a stage notebook calls a step and shows what it returns; move this logic into the library:\n"
                       + "\n".join(logic))


def test_the_thin_rule_sees_each_construct():
    allowed = "outputs = steps.train(settings, run_dir)\noutputs\nif interactive:\n    display(outputs)\nplots = not interactive"
    assert logic_in(allowed) == []
    for snippet in ["if interactive:\n    a()\nelse:\n    b()", "if run_dir:\n    a()", "for x in y:\n    pass",
                    "while x:\n    pass", "try:\n    a()\nexcept Exception:\n    pass", "with a:\n    pass",
                    "[x for x in y]", "{x: 1 for x in y}", "sum(x for x in y)", "a = b if c else d",
                    "match x:\n    case 1:\n        pass", "def f():\n    pass", "class A:\n    pass", "f = lambda: 1"]:
        assert logic_in(snippet), snippet
