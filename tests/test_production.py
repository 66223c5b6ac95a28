"""Production runs end to end with real kernels: a run on SQLite with its lineage, an exact rerun, a rerun refused
because the data changed, a run against `mlflow server` backed by PostgreSQL, a `--wait` run queued behind another,
and the webhook alerts a run sends. The demo project runs with a fixed tuning budget (`-p tuning_iterations=2`)
three candidates, 50 bootstrap resamples and no full profile report, so a run is short and a rerun can be exact."""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import mlflow

from mlops_workbench.core import load_settings
from mlops_workbench.project import scaffold_demo
from mlops_workbench.runs import lock_holder

FAST = ["-p", "tuning_iterations=2", "-p", "make_report=false", "-p", "candidates=dummy,logistic,random_forest",
        "-p", "n_bootstrap=50"]
# resource gates measure this machine, not the run's mechanics: on 2 busy cores a one-row latency can pass 200 ms
LIMITS = {"MLOPS_WB_OBJECTIVE_MAX_LATENCY_MS": "60000"}


def record(project: Path, run_id: str) -> dict:
    return json.loads((project / "reports" / "runs" / run_id / "run.json").read_text())


def run_id_of(result) -> str:
    return next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("run "))


def test_a_passing_run_on_sqlite_records_its_lineage_and_a_rerun_reproduces_it(tmp_path, cli):
    # one test, not two sharing a fixture: xdist's workers would each make the first run
    project = tmp_path / "demo"
    scaffold_demo(project)
    result = cli("run", *FAST, cwd=project, env={**LIMITS, "MLOPS_WB_DASHBOARD_REFRESH": "true"})  # as a user's run
    assert result.returncode == 0, result.stderr[-3000:]
    run_id = run_id_of(result)
    assert (project / "reports" / "dashboard.html").stat().st_size > 10_000  # the run refreshed the snapshot
    assert "explore: cell 1/" in result.stderr and "evaluate: succeeded in" in result.stderr  # plain progress lines
    rec = record(project, run_id)
    assert [s["status"] for s in rec["stages"]] == ["succeeded"] * 4
    listed = json.loads(cli("runs", "--json", cwd=project).stdout)
    row = next(r for r in listed if r["run_id"] == run_id)
    evaluate = rec["stages"][3]["outputs"]
    assert row["data_fingerprint"] == rec["stages"][2]["outputs"]["fingerprint"] and row["data_fingerprint"].startswith("sha256:")
    assert row["contract_version"] == 1 and row["model_version"] == evaluate["version"] == "1"
    assert row["primary_metric"] == evaluate["metrics"]["balanced_accuracy"] > 0.9
    table = cli("runs", cwd=project).stdout.splitlines()
    assert table[0].split() == ["run", "started", "status", "duration", "data", "contract", "metric", "model"]
    assert table[1].split()[0] == run_id and table[1].split()[-1] == "1"
    by_model = cli("runs", "--model", "penguins-demo@champion", "--json", cwd=project)
    assert by_model.returncode == 0, by_model.stderr
    assert json.loads(by_model.stdout)["run_id"] == run_id
    assert json.loads(cli("runs", "--model", "penguins-demo/1", "--json", cwd=project).stdout)["run_id"] == run_id
    shown = cli("runs", "show", run_id, cwd=project).stdout
    assert "model version 1" in shown and "environment.json" in shown and "MLflow run " + rec["mlflow_run_id"] in shown
    environment = json.loads((project / "reports" / "runs" / run_id / "environment.json").read_text())
    assert environment["python"] == sys.version.split()[0] and any(p.startswith("scikit-learn==") for p in environment["packages"])
    client = mlflow.MlflowClient(load_settings(project / "settings.ini").tracking.uri)
    assert {"run.json", "environment.json", "notebooks"} <= {a.path for a in client.list_artifacts(rec["mlflow_run_id"])}

    rerun = cli("run", "--rerun", run_id, "--run-id", "rerun-1", cwd=project, env=LIMITS)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"rerun of {run_id}: leaderboard identical, holdout metrics identical" in rerun.stdout
    again = record(project, "rerun-1")
    assert (again["rerun_of"], again["parameters"], again["seed"]) == (run_id, rec["parameters"], 42)
    assert again["reproduced"] == {"leaderboard": True, "holdout_metrics": True, "differences": []}


def test_a_rerun_is_refused_when_the_data_changed(tmp_path, cli):
    project = tmp_path / "demo"
    scaffold_demo(project)
    first = cli("run", "--stages", "explore", "-p", "make_report=false", cwd=project)
    assert first.returncode == 0, first.stderr[-3000:]
    data = project / "data" / "penguins.csv"
    data.write_text("".join(data.read_text().splitlines(keepends=True)[:-1]))  # one row fewer
    result = cli("run", "--rerun", run_id_of(first), cwd=project)
    assert result.returncode == 2
    assert f"run {run_id_of(first)} cannot be rerun exactly: data {data}: fingerprint sha256:" in result.stderr
    assert len(list((project / "reports" / "runs").glob("*/run.json"))) == 1  # nothing ran


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_passing_run_against_an_mlflow_server_backed_by_postgresql(postgres, cli, tmp_path):
    port, artifacts = _free_port(), tmp_path / "artifacts"
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1", "--port",
                               str(port), "--backend-store-uri", postgres("tracking"), "--artifacts-destination",
                               str(artifacts), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT,
                              # no job runner: its six consumer processes (GenAI jobs, unused here) each import MLflow
                              env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    try:
        uri = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
                time.sleep(0.5)
        project = tmp_path / "demo"
        scaffold_demo(project)
        result = cli("run", *FAST, cwd=project, env={"MLOPS_WB_TRACKING_URI": uri, **LIMITS})
        assert result.returncode == 0, result.stderr[-3000:]
        rec = record(project, run_id_of(result))
        assert rec["tracking_uri"] == uri and rec["status"] == "succeeded"
        client = mlflow.MlflowClient(uri)
        parent = client.get_run(rec["mlflow_run_id"])
        assert parent.info.status == "FINISHED" and parent.data.tags["mlops_wb.run_id"] == rec["run_id"]
        assert {"run.json", "environment.json"} <= {a.path for a in client.list_artifacts(parent.info.run_id)}
        version = client.get_model_version_by_alias("penguins-demo", "champion")
        assert version.tags["mlops_wb.run_id"] == rec["run_id"]
        assert list(artifacts.rglob("run.json")) and list(artifacts.rglob("MLmodel"))  # stored by the server
        assert not (project / "mlruns").exists() and not (project / "mlruns.db").exists()
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


STAGE = """settings_path: str = ""  # settings
run_dir: str = ""  # run folder
interactive: bool = True  # widgets
parent_run_id: str = ""  # MLflow parent
release: str = ""  # a file whose appearance ends the stage
"""


def test_a_wait_run_queues_behind_the_run_holding_the_lock(tmp_path):
    import nbformat
    (tmp_path / "settings.ini").write_text("[project]\nname = queue\n")
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    params = nbformat.v4.new_code_cell(STAGE)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import pathlib, time\nwhile release and not pathlib.Path(release).exists():\n"
                                                  "    time.sleep(0.1)")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "explore.ipynb")
    from conftest import BIN, MLOPS_WB, NO_REFRESH
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **NO_REFRESH}

    def start(*args):
        return subprocess.Popen([str(MLOPS_WB), "run", "--stages", "explore", *args], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = start("--run-id", "first", "-p", f"release={tmp_path / 'release'}")
    settings = load_settings(tmp_path / "settings.ini", environ={})
    for _ in range(2400):
        if lock_holder(settings) == "first" or first.poll() is not None:
            break
        time.sleep(0.05)
    assert lock_holder(settings) == "first", first.communicate()
    queued = start("--run-id", "queued", "--wait")
    assert queued.stderr.readline() == "waiting for run first to release the lock\n"  # queued, not refused
    assert first.poll() is None and not (tmp_path / "reports" / "runs" / "queued").exists()
    (tmp_path / "release").touch()
    assert first.wait(timeout=300) == 0
    assert queued.wait(timeout=300) == 0, queued.stderr.read()
    assert record(tmp_path, "queued")["started"] >= record(tmp_path, "first")["finished"]
    assert record(tmp_path, "first")["status"] == record(tmp_path, "queued")["status"] == "succeeded"


class Webhook(http.server.BaseHTTPRequestHandler):
    "Records the JSON body of every POST; answers 500 to the first one (a delivery retried)."
    received: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        self.send_response(500 if len(type(self).received) == 1 else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_alerts_for_drift_a_failed_gate_and_a_failed_run(tmp_path, cli):
    server = http.server.HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    project = tmp_path / "demo"
    scaffold_demo(project)
    env = {"MLOPS_WB_ALERTS_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/hook", "MLOPS_WB_ALERTS_RETRIES": "1"}
    try:
        stopped = cli("run", "--stages", "validate", "--run-id", "planted", "-p", "batch_path=data/batch_planted.csv",
                      cwd=project, env=env)
        assert stopped.returncode == 1, stopped.stderr[-2000:]
        gate = cli("run", "--stages", "train,evaluate", "--run-id", "gate", "-p", "candidates=dummy", "-p", "tune_candidate=none",
                   cwd=project, env=env)
        assert gate.returncode == 1, gate.stderr[-2000:]
    finally:
        server.shutdown()
    bodies = Webhook.received
    assert bodies[0] == bodies[1]  # the first delivery got a 500 and was retried
    events = [(b["event"], b["run_id"], b["stage"]) for b in bodies[1:]]
    assert events == [("drift", "planted", "validate"), ("run_failed", "planted", "validate"),
                      ("gate_failed", "gate", "evaluate"), ("run_failed", "gate", "evaluate")]
    for body in bodies:
        assert body["project"] == "penguins-demo" and body["run_dir"] == str(project / "reports" / "runs" / body["run_id"])
    assert "drifted" in bodies[1]["reason"] and bodies[2]["reason"].startswith("stage validate, cell ")
    assert "threshold" in bodies[3]["reason"] and bodies[4]["reason"].startswith("stage evaluate, cell ")
    alerts = record(project, "planted")["alerts"]
    assert [(a["event"], a["delivered"], a["attempts"]) for a in alerts] == [("drift", True, 2), ("run_failed", True, 1)]
    # an alert that cannot be delivered is recorded and changes nothing else
    closed = {**env, "MLOPS_WB_ALERTS_WEBHOOK_URL": f"http://127.0.0.1:{_free_port()}/hook", "MLOPS_WB_ALERTS_RETRIES": "0"}
    again = cli("run", "--stages", "validate", "--run-id", "undelivered", "-p", "batch_path=data/batch_planted.csv",
                cwd=project, env=closed)
    assert again.returncode == 1 and again.stderr.strip().splitlines()[-1].startswith("mlops-wb: error: stage validate, cell ")
    alerts = record(project, "undelivered")["alerts"]
    assert [(a["event"], a["delivered"]) for a in alerts] == [("drift", False), ("run_failed", False)]
    assert all("ConnectionRefused" in a["error"] or "refused" in a["error"] for a in alerts)
