"""Holdout evaluation, every gate path, the registry read back from a real SQLite store, rollback."""

from pathlib import Path

import mlflow
import pytest
import skops.io
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from mlops_workbench.candidates import make_pipeline, parse_candidate
from mlops_workbench.core import CheckFailed, InfraError, load_settings
from mlops_workbench.data import split_holdout
from mlops_workbench.evaluate import evaluate
from mlops_workbench.registry import promote
from mlops_workbench.reports import TrainOutputs
from mlops_workbench.tracking import Tracker
from mlops_workbench.train import fit_final


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    "A project folder with a settings file and a real SQLite tracking store, shared by the tests here."
    root = tmp_path_factory.mktemp("project")
    (root / "settings.ini").write_text("[project]\nname = cancer\n[data]\ntarget = target\n"
                                       "[objective]\nprimary_metric = balanced_accuracy\nsecondary_metrics = roc_auc\n"
                                       "threshold = 0.8\nbaseline_margin = 0.1\n")
    return root


@pytest.fixture(scope="module")
def cancer():
    "Breast-cancer train/holdout split and two fitted models: a good one and a one-split stump."
    frame = load_breast_cancer(as_frame=True).frame
    train, holdout = split_holdout(frame, "target", 0.25, 0, "classification")
    good, good_s = fit_final(make_pipeline(parse_candidate("linear", "classification"), train, "target", seed=0), train, "target")
    stump_c = parse_candidate("sklearn.tree:DecisionTreeClassifier(max_depth=1)", "classification")
    stump, stump_s = fit_final(make_pipeline(stump_c, train, "target", seed=0), train, "target")
    return {"train": train, "holdout": holdout, "good": (good, good_s), "stump": (stump, stump_s)}


def _run(store, cancer, model_name, which="good", folder="evaluate", **overrides):
    settings = load_settings(store / "settings.ini", {"tracking.registered_model": model_name, **overrides}, environ={})
    tracker = Tracker.from_settings(settings)
    model, fit_s = cancer[which]
    trained = TrainOutputs(candidate=which, fit_seconds=fit_s, fingerprint="sha256:test", contract_version=3,
                           code_version={"package": "0.0.1", "git_commit": "abc"})
    return settings, tracker, lambda: evaluate(settings, model, trained, cancer["train"], cancer["holdout"],
                                               store / model_name / folder, tracker, n_boot=20, latency_repeats=5)


def test_pass_registers_champion_and_everything_reads_back(store, cancer):
    settings, tracker, run = _run(store, cancer, "pass-model")
    result = run()
    X, y = cancer["holdout"].drop(columns="target"), cancer["holdout"]["target"]
    model = cancer["good"][0]
    assert abs(result.metrics.loc[0, "value"] - balanced_accuracy_score(y, model.predict(X))) < 1e-9
    assert abs(result.metrics.loc[1, "value"] - roc_auc_score(y, model.predict_proba(X)[:, 1])) < 1e-9
    assert result.passed and result.aliases == ["champion"]

    client = mlflow.MlflowClient(settings.tracking.uri)
    version = client.get_model_version_by_alias("pass-model", "champion")
    assert str(version.version) == result.version
    assert version.tags["data_fingerprint"] == "sha256:test"
    assert version.tags["contract_version"] == "3"
    assert version.tags["code_version"] == "0.0.1" and version.tags["git_commit"] == "abc"
    assert version.tags["mlflow_run_id"] == result.run_id == version.run_id
    assert "# Model card: pass-model" in version.description

    runs = client.search_runs([tracker.experiment_id], f"attributes.run_id = '{result.run_id}'")
    run_data = runs[0].data
    assert run_data.metrics["holdout_balanced_accuracy"] == pytest.approx(result.metrics.loc[0, "value"])
    assert run_data.tags["mlops_wb.gates"] == "passed"
    assert {"fit_seconds", "latency_p95_ms", "model_mb", "brier", "ece", "baseline_score"} <= set(run_data.metrics)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "evaluate")}
    assert {"evaluate/model_card.md", "evaluate/model_card.html"} <= artifacts

    local = mlflow.artifacts.download_artifacts(artifact_uri=version.source, tracking_uri=settings.tracking.uri)
    files = {p.relative_to(local).as_posix() for p in Path(local).rglob("*")}
    assert {"model.skops", "MLmodel", "input_example.json", "extra_files/model_card.md", "extra_files/model_card.html"} <= files
    assert "skops" in (Path(local) / "MLmodel").read_text()
    loaded = skops.io.load(Path(local) / "model.skops", trusted=skops.io.get_untrusted_types(file=Path(local) / "model.skops"))
    assert (loaded.predict(X) == model.predict(X)).all()
    assert (store / "pass-model" / "evaluate" / "model_card.html").read_text().startswith("<!doctype html>")

    # a second passing model: champion moves, the old one becomes previous
    _, _, again = _run(store, cancer, "pass-model", folder="evaluate2")
    second = again()
    assert str(client.get_model_version_by_alias("pass-model", "champion").version) == second.version
    assert str(client.get_model_version_by_alias("pass-model", "previous").version) == result.version


@pytest.mark.parametrize("overrides, line", [
    ({"objective.threshold": 0.999}, "gate threshold failed: balanced_accuracy 0."),
    ({"objective.baseline_margin": 0.6}, "does not beat the Dummy baseline 0.5000 by the margin 0.6"),
    ({"objective.max_fit_seconds": 1e-9}, "gate fit_time failed: fit_seconds"),
    ({"objective.max_latency_ms": 1e-6}, "gate latency failed: latency_p95_ms"),
    ({"objective.max_model_mb": 1e-6}, "gate model_size failed: model_mb"),
])
def test_each_failing_gate_stops_and_registers_nothing(store, cancer, overrides, line):
    name = "fail-" + next(iter(overrides)).split(".")[1]
    settings, tracker, run = _run(store, cancer, name, **overrides)
    result = run()
    assert not result.passed and result.version is None
    with pytest.raises(CheckFailed) as e:
        result.check()
    assert line in str(e.value)
    assert len(str(e.value).splitlines()) == 1
    assert tracker.client.search_model_versions(f"name = '{name}'") == []
    assert (store / name / "evaluate" / "model_card.md").is_file()
    assert "**FAIL**" in (store / name / "evaluate" / "model_card.md").read_text()


def test_worse_than_champion_fails_and_registers_challenger(store, cancer):
    _, tracker, good = _run(store, cancer, "champ-model")
    first = good()
    _, _, stump = _run(store, cancer, "champ-model", "stump", "evaluate2", **{"models.register_challenger": True,
                                                                               "objective.baseline_margin": 0.0})
    with pytest.raises(CheckFailed) as e:
        stump().check()
    assert "gate champion failed" in str(e.value) and "is worse than the champion's" in str(e.value)
    client = tracker.client
    assert str(client.get_model_version_by_alias("champ-model", "champion").version) == first.version
    challenger = client.get_model_version_by_alias("champ-model", "challenger")
    assert challenger.version != first.version and challenger.tags["gates"] == "failed"


def test_failure_mid_promotion_leaves_aliases_as_they_were(store, cancer):
    settings, tracker, good = _run(store, cancer, "atomic-model")
    first = good()

    def fail_on_champion(alias):
        if alias == "champion":
            raise RuntimeError("registry went away")

    model, fit_s = cancer["good"]
    with pytest.raises(InfraError, match="moving alias 'champion'.*aliases restored"):
        evaluate(settings, model, TrainOutputs(candidate="good", fit_seconds=fit_s), cancer["train"], cancer["holdout"],
                 store / "atomic-model" / "evaluate2", tracker, n_boot=10, latency_repeats=3, on_step=fail_on_champion)
    client = tracker.client
    assert str(client.get_model_version_by_alias("atomic-model", "champion").version) == first.version
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias("atomic-model", "previous")
    assert [str(v.version) for v in client.search_model_versions("name = 'atomic-model'")] == [first.version]


def test_promote_without_registration_when_failed_and_no_challenger(store, cancer):
    _, tracker, _ = _run(store, cancer, "none-model")
    assert promote(tracker, "none-model", None, "", passed=False) == {"version": None, "aliases": []}


def test_a_champion_that_cannot_be_scored_fails_its_gate_and_keeps_its_alias(store, cancer):
    "A champion whose files hold no model (a broken registration) is not 'no champion': its gate fails, with why."
    settings, tracker, run = _run(store, cancer, "broken-champion")
    with tracker.run("a registration without a model") as notes:
        (store / "notes.md").write_text("not a model")
        notes.artifact(store / "notes.md", "model")
    tracker.client.create_registered_model("broken-champion")
    tracker.client.create_model_version("broken-champion", tracker.client.get_run(notes.id).info.artifact_uri + "/model", notes.id)
    tracker.client.set_registered_model_alias("broken-champion", "champion", "1")
    result = run()
    [gate] = [g for g in result.gates if g.name == "champion"]
    assert not gate.passed and gate.detail == "the current champion could not be scored on this holdout: version 1 has no skops model file"
    assert [g.name for g in result.gates if not g.passed] == ["champion"]  # the model itself is good
    with pytest.raises(CheckFailed, match="gate champion failed: the current champion could not be scored"):
        result.check()
    assert str(tracker.client.get_model_version_by_alias("broken-champion", "champion").version) == "1"
    assert [str(v.version) for v in tracker.client.search_model_versions("name = 'broken-champion'")] == ["1"]
    assert "| champion | **FAIL** |" in (store / "broken-champion" / "evaluate" / "model_card.md").read_text()
