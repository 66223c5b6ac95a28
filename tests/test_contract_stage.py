"""The validate stage notebook, run headless by papermill with a real kernel."""

import contextlib
import json
from importlib import resources
from pathlib import Path

import papermill
import pytest
from conftest import execute_notebook
from mlflow import MlflowClient

from mlops_workbench.contract import load_contract
from mlops_workbench.core import load_settings
from mlops_workbench.data import DEMO_PLANTS, demo_batch, demo_frame
from mlops_workbench.tracking import Tracker

STAGE = Path(str(resources.files("mlops_workbench") / "stages" / "validate.ipynb"))


def _project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    demo_frame().to_csv(tmp_path / "data" / "penguins.csv", index=False)
    demo_batch().to_csv(tmp_path / "data" / "planted.csv", index=False)
    demo_batch(planted=False).to_csv(tmp_path / "data" / "clean.csv", index=False)
    (tmp_path / "settings.ini").write_text("[project]\nname = penguins\n[data]\ntrain = data/penguins.csv\n"
                                           "batch = data/clean.csv\ntarget = species\n")
    return tmp_path


def _run(project: Path, run_dir: Path, **params):
    run_dir.mkdir(parents=True, exist_ok=True)
    return execute_notebook(
        STAGE, run_dir / "validate.ipynb", project,
        parameters={"settings_path": str(project / "settings.ini"), "run_dir": str(run_dir), "interactive": False, **params})


@contextlib.contextmanager
def _parent_run(project: Path):
    "A pipeline parent run in the project's MLflow store, open as the runner holds it: (tracker, its run id)."
    tracker = Tracker.from_settings(load_settings(project / "settings.ini"))
    with tracker.run("pipeline t1", tags={"mlops_wb.run_id": "t1", "mlops_wb.kind": "pipeline"}) as parent:
        yield tracker, parent.id


def _nested_runs(tracker: Tracker, parent: str) -> list:
    "The runs nested under `parent`, read back through a fresh client of the same store."
    client = MlflowClient(tracker.uri)
    return client.search_runs([tracker.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent}'")


def test_stage_infers_the_contract_and_passes_a_clean_batch(tmp_path):
    project = _project(tmp_path)
    run_dir = project / "reports" / "runs" / "r1"
    _run(project, run_dir)
    contract = load_contract(project / "contract.yaml")  # inferred on first use, where settings put it
    assert contract.version == 1 and contract.target == "species"
    out = run_dir / "validate"
    outputs = json.loads((out / "outputs.json").read_text())
    assert outputs["passed"] is True and outputs["errors"] == 0 and outputs["drifted"] is False
    assert outputs["contract_version"] == 1 and outputs["batch_fingerprint"].startswith("sha256:")
    for name in ("validation.json", "validation.html", "drift.json", "drift.html", "contract.yaml"):
        assert (out / name).exists(), name
    assert "Objective" in (out / "validation.html").read_text()
    assert not (project / "mlruns.db").exists() and not (project / "mlruns").exists()  # no parent run: nothing logged


def test_stage_stops_the_run_on_the_planted_batch(tmp_path):
    project = _project(tmp_path)
    run_dir = project / "reports" / "runs" / "r2"
    with _parent_run(project) as (tracker, parent), pytest.raises(papermill.PapermillExecutionError) as err:
        _run(project, run_dir, batch_path="data/planted.csv", parent_run_id=parent)
    assert err.value.ename == "CheckFailed"
    assert len(err.value.evalue.strip().splitlines()) == 1  # one line, naming the checks and the report
    assert "validation FAILED: 3 error(s)" in err.value.evalue
    assert "island: categories" in err.value.evalue and "bill_length_mm: range" in err.value.evalue
    assert f"report: {run_dir / 'validate' / 'validation.html'}" in err.value.evalue
    out = run_dir / "validate"
    validation = json.loads((out / "validation.json").read_text())
    found = {(f["column"], f["check"]) for f in validation["failures"]}
    assert found == {(c, k) for c, ks in DEMO_PLANTS["violations"].items() for k in ks}
    drift = json.loads((out / "drift.json").read_text())
    assert set(drift["drifted_columns"]) == set(DEMO_PLANTS["drift"])
    assert (out / "drift.png").exists()
    assert json.loads((out / "outputs.json").read_text())["passed"] is False

    # the failed validation is on record in MLflow, nested under the pipeline run
    [run] = _nested_runs(tracker, parent)
    assert run.info.status == "FAILED" and run.info.run_name == "validate"
    assert run.data.params == {"contract": str(project / "contract.yaml"), "contract_version": "1",
                               "batch": str(project / "data" / "planted.csv"), "fail_on": "error", "fail_on_drift": "False"}
    assert run.data.metrics == {"errors": 3.0, "warnings": validation["counts"]["warn"],
                                "drifted_columns": len(DEMO_PLANTS["drift"]), "rows": len(demo_batch())}
    tags = run.data.tags
    assert (tags["mlops_wb.kind"], tags["mlops_wb.status"], tags["mlops_wb.run_id"], tags["mlops_wb.drifted"]) == (
        "validate", "failed", "t1", "True")
    assert tags["mlops_wb.batch_fingerprint"] == json.loads((out / "outputs.json").read_text())["batch_fingerprint"]
    artifacts = {Path(a.path).name for a in MlflowClient(tracker.uri).list_artifacts(run.info.run_id, "validate")}
    assert artifacts == {"contract.yaml", "validation.json", "validation.html", "outputs.json", "drift.json", "drift.html", "drift.png"}
    logged = Path(MlflowClient(tracker.uri).download_artifacts(run.info.run_id, "validate/contract.yaml", str(tmp_path / "dl")))
    assert logged.read_text() == (project / "contract.yaml").read_text()


def test_stage_logs_a_passing_batch_as_a_finished_nested_run(tmp_path):
    project = _project(tmp_path)
    with _parent_run(project) as (tracker, parent):
        _run(project, project / "reports" / "runs" / "r3", parent_run_id=parent)
        assert MlflowClient(tracker.uri).get_run(parent).info.status == "RUNNING"  # the parent is the runner's to close
    [run] = _nested_runs(tracker, parent)
    assert run.info.status == "FINISHED" and run.data.tags["mlops_wb.status"] == "passed"
    assert run.data.metrics["errors"] == 0 and run.data.metrics["drifted_columns"] == 0
    assert run.data.params["batch"] == str(project / "data" / "clean.csv")
