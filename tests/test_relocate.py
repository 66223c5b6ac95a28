"""A project folder copied elsewhere works as it is: its MLflow store, artefacts, model registry and run history
follow it, and the original may be gone. Real papermill kernels, real MLflow (SQLite), the real `mlops-wb`."""

import json
import shutil

from conftest import run_cli

from mlops_workbench.core import load_settings, settings_text
from mlops_workbench.data import load_project_data
from mlops_workbench.pipeline import run_pipeline
from mlops_workbench.project import DEMO_SETTINGS, copy_stage_notebooks, scaffold_demo
from mlops_workbench.registry import alias_version, load_version
from mlops_workbench.tracking import Tracker

# The demo, small enough for a test: two candidates, three folds, a short tuning, no latency limit on a busy machine.
FAST_DEMO = {**DEMO_SETTINGS,
             "objective": {**DEMO_SETTINGS["objective"], "max_latency_ms": "", "max_model_mb": ""},
             "models": {"candidates": ["dummy", "logistic"], "folds": 3, "tuning_budget_seconds": 1, "n_jobs": 1}}


def fast_demo(folder):
    "Scaffold the demo project with the test's settings and its own stage notebooks; return its settings."
    folder.mkdir(parents=True)
    (folder / "settings.ini").write_text(settings_text(FAST_DEMO))
    copy_stage_notebooks(folder)
    return load_settings(scaffold_demo(folder))


def test_a_copied_project_loads_its_champion_lists_its_runs_and_runs_again(tmp_path):
    original = tmp_path / "original"
    first = run_pipeline(fast_demo(original), ["train", "evaluate"])
    assert first.exit_code == 0, first.exit_reason
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(original, copy)
    shutil.rmtree(original)

    settings = load_settings(copy / "settings.ini")
    tracker = Tracker.from_settings(settings)
    champion = alias_version(tracker.client, settings.registered_model, "champion")
    assert champion is not None and champion.tags["mlops_wb.run_id"] == first.run_id
    model = load_version(tracker, champion)
    frame = load_project_data(settings, settings.data.train, settings.data.target)
    predicted = model.predict(frame.drop(columns=[settings.data.target]).head(20))
    assert set(predicted) <= set(frame[settings.data.target]) and len(predicted) == 20
    experiment = tracker.client.get_experiment(tracker.experiment_id)
    assert experiment.artifact_location == (copy / "mlruns").resolve().as_uri()

    listed = run_cli("runs", "--json", cwd=copy)
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [r["run_id"] for r in runs] == [first.run_id] and runs[0]["status"] == "succeeded"
    shown = run_cli("runs", "show", first.run_id, cwd=copy)
    assert shown.returncode == 0, shown.stderr
    assert f"folder {copy.resolve()}/reports/runs/{first.run_id}" in shown.stdout
    assert str(original) not in shown.stdout  # every path of the record moved with the project

    again = run_cli("run", "--stages", "train", cwd=copy)
    assert again.returncode == 0, again.stderr
    assert not original.exists()  # nothing was written to the old place
    newest = json.loads(run_cli("runs", "--json", cwd=copy).stdout)[0]
    assert newest["run_id"] != first.run_id and newest["status"] == "succeeded"
    parent = tracker.client.get_run(newest["mlflow_run_id"])
    assert parent.info.artifact_uri.startswith((copy / "mlruns").resolve().as_uri())
