"""Every kind of bad or awkward input in `bad_inputs.py`, through every command it concerns.

Each case must end with exit 0 and a correct result, or exit 2 and exactly one stderr line naming the file and
the cause: no traceback, no warning a terminal would show, and nothing new or changed in the project's reports or
registry (or the working folder) when it fails. The CLI runs in this process (`cli.main`, what the `mlops-wb`
script calls) so that 100-odd cases take seconds, not minutes; the other CLI tests run the real console script.
"""

import contextlib
import io
import os
import shutil
import warnings
from pathlib import Path

import pytest
from bad_inputs import GOOD_CONTRACT, GOOD_SETTINGS, REFERENCE, Kind, corpus
from conftest import HIDDEN_ON_A_TERMINAL

from mlops_workbench.cli import main
from mlops_workbench.data import demo_frame


def _argv(kind: Kind, command: str, out: Path) -> list[str]:
    "The command line of one case."
    stem = kind.path.replace("/", "_") or "case"
    if command == "profile":
        return ["profile", kind.path, "--out", str(out / f"{stem}.html"), "--mode", "minimal"]
    if command == "contract infer":
        return ["contract", "infer", kind.path, "--out", str(out / f"{stem}.yaml")]
    if command == "validate":
        return ["validate", REFERENCE, "--contract", kind.path] if kind.path.endswith(".yaml") else \
            ["validate", kind.path, "--contract", GOOD_CONTRACT]
    if command == "drift":
        return ["drift", kind.path, REFERENCE] if kind.as_reference else ["drift", REFERENCE, kind.path]
    return ["run", *kind.args]


def _project(folder: Path, settings: str) -> Path:
    "A project folder with the penguins and `settings` as its settings.ini."
    (folder / "data").mkdir(parents=True, exist_ok=True)
    demo_frame().to_csv(folder / "data" / "penguins.csv", index=False)
    (folder / "settings.ini").write_bytes(settings.encode("utf-8", "surrogateescape"))
    return folder


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    "Every file below `folder`: size and modification time."
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def _run(argv: list[str], cwd: Path) -> tuple[int, str, str, list[str]]:
    "Run the CLI in `cwd`: exit code, stdout, stderr, and the warnings a terminal would have shown."
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    os.chdir(cwd)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            warnings.simplefilter("always")
            code = main(argv)
    finally:
        os.chdir(here)
    shown = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, HIDDEN_ON_A_TERMINAL)]
    return code, out.getvalue(), err.getvalue(), shown


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, corpus(folder)


def test_the_corpus_has_at_least_40_kinds(cases):
    _, kinds = cases
    assert len(kinds) >= 40 and len({k.name for k in kinds}) == len(kinds)


def test_every_bad_input_gets_a_clean_outcome(cases, tmp_path, monkeypatch):
    folder, kinds = cases
    for name in [n for n in os.environ if n.startswith("MLOPS_WB_")]:
        monkeypatch.delenv(name)
    rows, problems = [], []
    for i, kind in enumerate(kinds):
        for command in kind.commands:
            project = _project(tmp_path / f"p{i}-{command.replace(' ', '-')}", kind.settings or GOOD_SETTINGS) \
                if command == "run" or kind.settings else None
            if project is not None and kind.path and (folder / kind.path).is_file():  # a parameters file
                shutil.copy(folder / kind.path, project / kind.path)
            cwd = project or folder
            out = tmp_path / "out"
            out.mkdir(exist_ok=True)
            argv = _argv(kind, command, out)
            if project is not None and command == "contract infer":
                argv = ["contract", "infer", "data/penguins.csv", "--out", str(out / f"settings-{i}.yaml")]
            before = _snapshot(cwd)
            code, stdout, stderr, shown = _run(argv, cwd)
            lines = stderr.strip().splitlines()
            said = lines[-1] if lines else stdout.strip().splitlines()[-1] if stdout.strip() else ""
            rows.append((kind.name, command, code, said[:110]))
            trouble = []
            if "Traceback" in stderr or "internal error" in stderr:
                trouble.append("a traceback or an internal error")
            if shown:
                trouble.append(f"warnings a terminal would show: {shown[:2]}")
            if kind.ok:
                result = kind.result.get(command, "") if isinstance(kind.result, dict) else kind.result
                if code != kind.code or result not in stdout:
                    trouble.append(f"expected exit {kind.code} with {result!r} in the output")
            else:
                named = [n for n in (Path(kind.path).name, *kind.names) if n]
                if code != 2:
                    trouble.append("expected exit 2")
                if len(lines) != 1:
                    trouble.append(f"expected one stderr line, got {len(lines)}")
                elif kind.cause not in lines[0] or (named and not any(n in lines[0] for n in named)):
                    trouble.append(f"the line should name {named} and say {kind.cause!r}")
                if _snapshot(cwd) != before:
                    trouble.append("files were written or changed although the command failed")
            if trouble:
                problems.append(f"{kind.name} / {command}: {'; '.join(trouble)} | exit {code} | {said}")
    width = max(len(r[0]) for r in rows)
    print(f"\n{'kind':<{width}}  {'command':<14} exit  what the user sees")
    for name, command, code, said in rows:
        print(f"{name:<{width}}  {command:<14} {code:>4}  {said}")
    print(f"{len(kinds)} kinds, {len(rows)} cases, {len(problems)} problems")
    assert not problems, "\n".join(problems)
