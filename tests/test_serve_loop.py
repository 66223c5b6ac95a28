"""The feedback loop end to end: train, serve, requests, labels, `monitor` passes, retrain with the labelled served
rows; then a drifted stream: `monitor` exits 1 and the retrain is refused."""

import datetime as dt
import json

from conftest import run_cli, run_in_process
from test_serve import Server, penguins

from mlops_workbench import steps
from mlops_workbench.core import load_settings, settings_text
from mlops_workbench.runs import load_run


def test_train_serve_label_monitor_retrain_then_drift_stops_it(tmp_path):
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    data = penguins()
    data.sample(frac=1, random_state=0).head(260).to_csv(folder / "data" / "penguins.csv", index=False)
    (folder / "settings.ini").write_text(settings_text({
        "project": {"name": "penguins"},
        "data": {"train": "data/penguins.csv", "target": "species", "id_columns": ["penguin_id"]},
        "objective": {"task": "classification", "primary_metric": "balanced_accuracy", "threshold": 0.8, "champion_tolerance": 0.05},
        "models": {"candidates": ["dummy", "logistic"], "folds": 3, "n_jobs": 1}}))
    ini = folder / "settings.ini"
    settings = load_settings(ini, environ={})
    steps.validate(settings)  # the contract, inferred from the training data
    trained = steps.train(settings, tune_candidate="none")
    first = steps.evaluate(settings, n_bootstrap=20)
    assert first.passed and first.version == "1"

    server = Server(settings)
    try:
        unseen = data.sample(frac=1, random_state=0).tail(84)  # rows the model never saw, like the reference
        stream = unseen.drop(columns="species").assign(penguin_id=[f"S{i:04d}" for i in range(len(unseen))])
        for start in range(0, len(stream), 6):
            assert server.score(stream.iloc[start:start + 6]).status_code == 200
        stream.assign(species=unseen["species"].to_numpy()).head(70)[["penguin_id", "species"]].to_csv(tmp_path / "labels.csv", index=False)
        stored = run_in_process("feedback", tmp_path / "labels.csv", "--settings", ini, "--json")
        assert stored.returncode == 0, stored.stderr
        assert json.loads(stored.stdout)["matched"] == 70
        watched = run_in_process("monitor", "--settings", ini, "--json")
        assert watched.returncode == 0, watched.stdout + watched.stderr
        assert json.loads(watched.stdout)["rows"] == len(stream) and not json.loads(watched.stdout)["drifted"]

        retrain = run_cli("run", "--settings", ini, "--stages", "train,evaluate", "-p", "include_feedback=true",
                          "-p", "tune_candidate=none", "--json")
        assert retrain.returncode == 0, retrain.stdout[-2000:] + retrain.stderr[-2000:]
        record = json.loads(retrain.stdout)
        assert record["parameters"]["include_feedback"] in (True, "true")
        train = next(s for s in record["stages"] if s["name"] == "train")["outputs"]
        assert train["feedback_rows"] == 70 and train["train_rows"] == trained.train_rows + 70  # the holdout is unchanged
        assert next(s for s in record["stages"] if s["name"] == "evaluate")["outputs"]["champion"]["version"] == "1"

        since = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        heavy = data[data["island"] == "Biscoe"].assign(body_mass_g=lambda f: f["body_mass_g"] + 700)
        heavy = heavy.drop(columns="species").assign(penguin_id=lambda f: f["penguin_id"].str.replace("P", "D"))
        answered = [server.score(heavy.iloc[[i]]) for i in range(len(heavy))]
        accepted = [heavy["penguin_id"].iloc[i] for i, a in enumerate(answered) if a.status_code == 200]
        assert all(a.status_code in (200, 400) for a in answered) and len(accepted) > 60
        labels = data.set_index("penguin_id").loc[heavy["penguin_id"].str.replace("D", "P"), "species"].to_numpy()
        heavy.assign(species=labels)[["penguin_id", "species"]].to_csv(tmp_path / "heavy.csv", index=False)
        assert run_in_process("feedback", tmp_path / "heavy.csv", "--settings", ini).returncode == 0
    finally:
        server.stop()

    snapshot = folder / "reports" / "dashboard.html"
    snapshot.write_text("<p>the snapshot as it was</p>")  # a project that shares its dashboard
    drifted = run_in_process("monitor", "--settings", ini, "--since", since, env={"MLOPS_WB_DASHBOARD_REFRESH": "true"})
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    shown = snapshot.read_text()  # rendered again, with the verdict and the drifted feature first
    assert f"{len(accepted)} rows served under 'champion'" in shown and "<span class='error'>DRIFT:" in shown
    assert f"{len(accepted)} served rows" in drifted.stdout and "served data drifted: DRIFT" in drifted.stderr
    monitor_run = load_run(load_settings(ini, environ={}), drifted.stdout.split("report: ")[1].split("/")[-3])
    assert (monitor_run.status, monitor_run.exit_code) == ("failed", 1)

    refused = run_cli("run", "--settings", ini, "--stages", "train", "-p", "include_feedback=true", "-p", "tune_candidate=none")
    assert refused.returncode == 1, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert "retraining with feedback refused: the" in refused.stderr and "drifted" in refused.stderr
