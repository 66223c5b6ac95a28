"""The leaderboard on real data, MLflow read-back, reproducibility, bad input, and the train/evaluate stages."""

import json
import textwrap

import mlflow
import pandas as pd
import papermill
import pytest
from conftest import execute_notebook
from sklearn.datasets import load_breast_cancer

from mlops_workbench.core import BadInput, DataError, load_settings
from mlops_workbench.data import demo_frame, regression_frame, split_holdout
from mlops_workbench.tracking import Tracker
from mlops_workbench.train import compare, tune

STAGES = __import__("importlib.resources", fromlist=["files"]).files("mlops_workbench") / "stages"
CLS = ["balanced_accuracy", "roc_auc_ovr"]


def _tracker(tmp_path, name="exp"):
    return Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", name, tmp_path / "mlruns")


@pytest.mark.parametrize("frame, target, task, metrics", [
    (load_breast_cancer(as_frame=True).frame, "target", "classification", ["balanced_accuracy", "roc_auc"]),
    (regression_frame(), "progression", "regression", ["r2", "neg_root_mean_squared_error"]),
    (demo_frame(), "species", "classification", CLS),
])
def test_dummy_ranks_last_and_every_candidate_is_a_nested_run(tmp_path, frame, target, task, metrics):
    train, _ = split_holdout(frame, target, 0.2, 0, task)
    tracker = _tracker(tmp_path)
    board = compare(train, target, task, ["linear", "random_forest"], metrics, folds=3, seed=0, n_jobs=2, tracker=tracker)
    assert list(board.table["candidate"])[-1] == "dummy"
    assert (board.table["status"] == "ok").all()
    runs = tracker.client.search_runs([tracker.experiment_id], f"tags.mlflow.parentRunId = '{board.run_id}'")
    assert sorted(r.info.run_name for r in runs) == ["dummy", "linear", "random_forest"]
    for r in runs:
        row = board.table.set_index("candidate").loc[r.info.run_name]
        assert r.data.metrics[f"{metrics[0]}_mean"] == pytest.approx(row[f"{metrics[0]}_mean"])
        assert {f"{metrics[1]}_std", "fit_seconds", "predict_seconds"} <= set(r.data.metrics)
        assert r.data.params["folds"] == "3" and r.info.status == "FINISHED"
        folds = tracker.client.get_metric_history(r.info.run_id, f"fold_{metrics[0]}")
        assert sorted(m.step for m in folds) == [0, 1, 2]
    arts = {a.path for a in tracker.client.list_artifacts(board.run_id, "train")}
    assert arts == {"train/leaderboard.csv", "train/leaderboard.html"}
    parent = tracker.client.get_run(board.run_id)
    assert parent.data.tags["mlops_wb.best_candidate"] == board.best


def test_same_seed_same_leaderboard():
    frame = demo_frame()
    runs = [compare(frame, "species", "classification", ["linear", "random_forest"], CLS, folds=3, seed=7, n_jobs=2)
            for _ in range(2)]
    cols = [c for c in runs[0].table.columns if not c.endswith("_seconds")]
    assert runs[0].table[cols].equals(runs[1].table[cols])
    assert runs[0].folds.drop(columns=["fit_seconds", "predict_seconds"]).equals(
        runs[1].folds.drop(columns=["fit_seconds", "predict_seconds"]))


def test_bad_candidates_are_marked_failed_and_the_rest_go_on(tmp_path, monkeypatch):
    (tmp_path / "flaky_models.py").write_text(textwrap.dedent('''
        from sklearn.dummy import DummyClassifier

        class FailsOnOneFold(DummyClassifier):
            "Fails when the marked row is not in its training data, i.e. in exactly one fold."
            def fit(self, X, y=None, sample_weight=None):
                if X[:, 0].max() < 28.1:  # column 0 is "mean radius", imputed, not scaled
                    raise ValueError("the largest tumour is missing from this fold")
                return super().fit(X, y, sample_weight)
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    frame = load_breast_cancer(as_frame=True).frame
    tracker = _tracker(tmp_path)
    board = compare(frame, "target", "classification", ["linear", "no_such.module:Model", "flaky_models:FailsOnOneFold"],
                    ["balanced_accuracy"], folds=3, seed=0, n_jobs=1, tracker=tracker)
    table = board.table.set_index("candidate")
    assert table.loc["linear", "status"] == "ok" and table.loc["dummy", "status"] == "ok"
    assert table.loc["Model", "status"] == "failed"
    assert "cannot import module 'no_such.module'" in table.loc["Model", "error"]
    assert table.loc["FailsOnOneFold", "status"] == "failed"
    assert "the largest tumour is missing from this fold" in table.loc["FailsOnOneFold", "error"]
    failed = tracker.client.search_runs([tracker.experiment_id], "tags.`mlops_wb.status` = 'failed'")
    assert sorted(r.info.run_name for r in failed) == ["FailsOnOneFold", "Model"]
    assert all(r.info.status == "FAILED" for r in failed)


def test_metric_not_fitting_the_task_and_a_single_sample_class_are_refused():
    frame = demo_frame()
    with pytest.raises(BadInput, match="metric 'r2' is a regression metric and does not fit the task 'classification'"):
        compare(frame, "species", "classification", ["linear"], ["r2"], folds=3)
    with pytest.raises(BadInput, match="metric 'f1' cannot score this target"):
        compare(frame, "species", "classification", ["linear"], ["f1"], folds=3)
    single = frame.assign(species=["Adelie"] + ["Gentoo"] * (len(frame) - 1))
    with pytest.raises(DataError, match="class 'Adelie' \\(1 row\\) of target 'species'"):
        compare(single, "species", "classification", ["linear"], ["balanced_accuracy"], folds=3)
    with pytest.raises(DataError, match="class 'Adelie' of target 'species' has a single row"):
        split_holdout(single, "species")


def test_tuning_stops_launching_settings_once_its_budget_is_spent(tmp_path):
    "A leaderboard that makes settings look free plans the most of them; the budget still ends the search."
    train, _ = split_holdout(demo_frame(), "species", 0.2, 0, "classification")
    tracker = _tracker(tmp_path)
    board = compare(train, "species", "classification", ["random_forest"], CLS, folds=3, seed=0, n_jobs=1, tracker=tracker)
    board.table = board.table.assign(fit_seconds=0.0, predict_seconds=0.0)  # as if measured on a far faster machine
    tried = {}
    for method in ("random", "halving"):
        result = tune(board, train, "species", "random_forest", budget_seconds=0.05, method=method, max_iter=50,
                      seed=0, n_jobs=1, tracker=tracker)
        assert result.planned == 50 and 1 <= result.n_iter < 50 and result.stopped_by_budget
        assert result.budget_seconds == 0.05 and result.pipeline is not None
        tried[method] = result.n_iter
    runs = tracker.client.search_runs([tracker.experiment_id], "tags.`mlops_wb.kind` = 'tuning'")
    assert sorted(r.data.params["method"] for r in runs) == ["halving", "random"]
    for r in runs:
        assert r.info.run_name == "tuning random_forest" and r.data.tags["mlflow.parentRunId"] == board.run_id
        assert (r.data.params["budget_seconds"], r.data.params["planned"]) == ("0.05", "50")
        assert int(r.data.params["n_iter"]) == tried[r.data.params["method"]]
        assert r.data.tags["mlops_wb.stopped_by_budget"] == "true"
        if r.data.params["method"] == "random":  # every setting tried, and only those, is in the logged results
            local = mlflow.artifacts.download_artifacts(run_id=r.info.run_id, artifact_path="tuning/cv_results.csv",
                                                        tracking_uri=tracker.uri, dst_path=str(tmp_path / "dl"))
            assert len(pd.read_csv(local)) == tried["random"]
    # a number of settings given is tried in full, whatever the time, and no budget is claimed
    exact = tune(board, train, "species", "random_forest", budget_seconds=0.05, n_iter=3, seed=0, n_jobs=1)
    assert (exact.n_iter, exact.planned, exact.budget_seconds, exact.stopped_by_budget) == (3, 3, None, False)


@pytest.fixture
def project(tmp_path):
    "A penguins project: data, settings with a short candidate list, a SQLite store."
    demo_frame().to_csv(tmp_path / "penguins.csv", index=False)
    (tmp_path / "settings.ini").write_text(textwrap.dedent("""
        [project]
        name = penguins
        [data]
        train = penguins.csv
        target = species
        [objective]
        primary_metric = balanced_accuracy
        secondary_metrics = accuracy
        threshold = 0.8
        [models]
        candidates = dummy, linear, decision_tree
        folds = 3
        tuning_budget_seconds = 2
        n_jobs = 1
    """))
    return tmp_path


def _stage(project, stage, **params):
    out = project / "runs" / "r1" / f"{stage}.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    return execute_notebook(STAGES / f"{stage}.ipynb", out, project, parameters={
        "settings_path": str(project / "settings.ini"), "run_dir": str(project / "runs" / "r1"), "interactive": False, **params})


def test_train_and_evaluate_stages_headless(project, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    _stage(project, "train", tuning_iterations=3)
    run_dir = project / "runs" / "r1"
    summary = json.loads((run_dir / "train" / "outputs.json").read_text())
    assert summary["candidate"] in ("linear", "decision_tree")
    assert summary["tuning"]["n_iter"] == summary["tuning"]["planned"] == 3 and summary["tuning"]["budget_seconds"] is None
    assert (run_dir / "train" / "model.skops").is_file() and (run_dir / "train" / "leaderboard.html").is_file()
    train_run = mlflow.MlflowClient(load_settings(project / "settings.ini", environ={}).tracking.uri).get_run(summary["train_run_id"])
    assert (train_run.info.run_name, train_run.info.status) == ("train", "FINISHED")
    assert train_run.data.tags["mlops_wb.best_candidate"] == summary["candidate"]  # the best one was tuned and kept

    _stage(project, "evaluate", n_bootstrap=20)
    outputs = json.loads((run_dir / "evaluate" / "outputs.json").read_text())
    assert outputs["passed"] and outputs["aliases"] == ["champion"]
    settings = load_settings(project / "settings.ini", environ={})
    client = mlflow.MlflowClient(settings.tracking.uri)
    version = client.get_model_version_by_alias("penguins", "champion")
    assert str(version.version) == outputs["version"]
    assert version.tags["data_fingerprint"] == summary["fingerprint"]
    assert (run_dir / "evaluate" / "model_card.html").is_file()
    assert (project / "mlruns").is_dir()

    # the same stage with an unreachable threshold stops the run with the gate's line
    monkeypatch.setenv("MLOPS_WB_OBJECTIVE_THRESHOLD", "1.5")
    with pytest.raises(papermill.PapermillExecutionError) as e:
        _stage(project, "evaluate", n_bootstrap=10)
    assert e.value.ename == "CheckFailed" and "gate threshold failed" in e.value.evalue
    assert f"model card: {run_dir / 'evaluate' / 'model_card.md'}" in e.value.evalue
    assert str(client.get_model_version_by_alias("penguins", "champion").version) == outputs["version"]
