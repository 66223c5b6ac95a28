"""Production runs through the real CLI: papermill with real kernels, run records, MLflow parent runs, the lock.

Faults (a killed run or kernel, a timeout, a locked or unreachable store, a full disk) are in test_faults.py.
"""

import json
from pathlib import Path

import mlflow
import nbformat
import pytest

from mlops_workbench.core import load_settings
from mlops_workbench.runs import run_lock

PARAMS = ('settings_path: str = ""  # settings\nrun_dir: str = ""  # run folder\n'
          'interactive: bool = True  # widgets\nparent_run_id: str = ""  # MLflow parent\n')


def stage(path: Path, extra_params: str, body: str) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(PARAMS + extra_params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "settings.ini").write_text("[project]\nname = fixture\n")
    stage(tmp_path / "notebooks" / "explore.ipynb", "rows: int = 10  # rows\nratio: float = 0.5  # a share\n",
          "import json, pathlib\nfrom mlops_workbench.core import load_settings\n"
          "s = load_settings(settings_path)\nout = pathlib.Path(run_dir, 'explore'); out.mkdir()\n"
          "(out / 'outputs.json').write_text(json.dumps({'rows': rows, 'ratio': ratio, 'project': s.project.name}))\n"
          "print('explored', rows)")
    stage(tmp_path / "notebooks" / "validate.ipynb", "strict: bool = False  # stop\n",
          "from mlops_workbench.core import CheckFailed\nif strict:\n    raise CheckFailed('2 error-level violations in batch.csv')")
    stage(tmp_path / "notebooks" / "train.ipynb", "", "print('trained')")
    return tmp_path


def record(project: Path) -> dict:
    (path,) = (project / "reports" / "runs").glob("*/run.json")
    return json.loads(path.read_text())


def test_a_successful_run_leaves_notebooks_html_record_and_an_mlflow_parent_run(project, cli):
    result = cli("run", "--stages", "explore,validate,train", "-p", "rows=7", "-p", "ratio=0.25", cwd=project)
    assert result.returncode == 0, result.stderr
    rec = record(project)
    assert rec["status"] == "succeeded" and rec["exit_code"] == 0
    assert [(s["name"], s["status"]) for s in rec["stages"]] == [("explore", "succeeded"), ("validate", "succeeded"), ("train", "succeeded")]
    assert rec["stages"][0]["outputs"] == {"rows": 7, "ratio": 0.25, "project": "fixture"}
    run_dir = Path(rec["run_dir"])
    assert f"reports in {run_dir}" in result.stdout
    for s in rec["stages"]:
        assert (run_dir / s["notebook"]).exists() and (run_dir / s["html"]).exists()
        assert s["seconds"] > 0
    executed = nbformat.read(run_dir / "01_explore.ipynb", as_version=4)
    assert "explored 7" in "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    settings = load_settings(project / "settings.ini")
    client = mlflow.MlflowClient(settings.tracking.uri)
    (parent,) = client.search_runs([client.get_experiment_by_name("fixture").experiment_id],
                                   f"tags.`mlops_wb.run_id` = '{rec['run_id']}'")
    assert parent.info.run_id == rec["mlflow_run_id"] and parent.info.status == "FINISHED"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert "run.json" in artifacts and "notebooks" in artifacts
    listed = cli("runs", cwd=project)
    assert listed.returncode == 0 and rec["run_id"] in listed.stdout
    shown = cli("runs", "show", rec["run_id"][:15], "--json", cwd=project)
    assert json.loads(shown.stdout)["run_id"] == rec["run_id"]


def test_a_failed_check_stops_the_run_with_exit_1(project, cli):
    result = cli("run", "--stages", "explore,validate,train", "-p", "strict=true", cwd=project)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "mlops-wb: error: stage validate, cell 3: 2 error-level violations in batch.csv"
    rec = record(project)
    assert [s["status"] for s in rec["stages"]] == ["succeeded", "failed", "skipped"]
    assert rec["stages"][1]["failing_cell"] == 3
    assert (Path(rec["run_dir"]) / "02_validate.html").exists()
    run = mlflow.MlflowClient(rec["tracking_uri"]).get_run(rec["mlflow_run_id"])
    assert run.info.status == "FAILED"


@pytest.mark.parametrize("args, message", [
    (["-p", "rows=many"], "parameter rows='many': expected int (declared in explore.ipynb)"),
    (["-p", "rowz=3"], "parameter rowz is not declared by stage(s) explore, validate, train"),
    (["--stages", "explore,validate,train", "-p", "rows=1.5"], "parameter rows='1.5': expected int"),
    (["-p", "os.system('x')=1"], "is not an identifier"),
    (["-p", "run_dir=/tmp"], "parameter run_dir is set by the runner"),
    (["-p", "rows"], "-p rows: expected NAME=VALUE"),
    (["--stages", "deploy"], "unknown stage 'deploy'"),
])
def test_bad_parameters_are_refused_before_anything_runs(project, cli, args, message):
    result = cli("run", *(args if "--stages" in args else ["--stages", "explore,validate,train", *args]), cwd=project)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not list((project / "reports").glob("runs/*/run.json"))


def test_params_file_is_typed_like_the_command_line(project, cli):
    (project / "params.yaml").write_text("rows: 12\nratio: 1\n")
    result = cli("run", "--stages", "explore", "--params-file", "params.yaml", cwd=project)
    assert result.returncode == 0, result.stderr
    assert record(project)["stages"][0]["outputs"]["rows"] == 12
    assert record(project)["stages"][0]["outputs"]["ratio"] == 1.0


def test_a_second_run_is_refused_by_the_lock(project, cli):
    settings = load_settings(project / "settings.ini")
    with run_lock(settings):
        result = cli("run", "--stages", "explore", cwd=project)
    assert result.returncode == 1
    assert "another run holds the lock (pid" in result.stderr
    assert cli("run", "--stages", "explore", cwd=project).returncode == 0
