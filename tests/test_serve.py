"""`mlops-wb serve` through MLflow's real scoring server on 127.0.0.1: exact predictions, a 4xx naming the column
for each bad request, 8 concurrent clients with every row logged once, a killed server that loses no
acknowledged row; the feedback store on PostgreSQL; the container build context."""

import json
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
import requests
from conftest import BIN, MLOPS_WB, _free_port, run_in_process

from mlops_workbench.candidates import make_pipeline, parse_candidate
from mlops_workbench.contract import infer_contract, save_contract
from mlops_workbench.core import load_settings, settings_text
from mlops_workbench.data import demo_frame
from mlops_workbench.feedback import FEEDBACK_ENV, FeedbackStore
from mlops_workbench.registry import alias_version, load_version, log_model, promote, trusted_modules
from mlops_workbench.serve import build_serving_model
from mlops_workbench.tracking import Tracker
from mlops_workbench.train import fit_final

pytestmark = pytest.mark.xdist_group("serve")  # one worker builds the module's fixtures once (`--dist loadgroup`)


def penguins():
    "The demo data with an id column whose values look like `P0001`."
    frame = demo_frame()
    frame.insert(0, "penguin_id", [f"P{i:04d}" for i in range(len(frame))])
    return frame


def make_project(folder: Path, candidate: str = "logistic"):
    "A project with the penguins, their contract and a champion registered from `candidate` (no papermill: fast)."
    data = penguins()
    (folder / "data").mkdir(parents=True)
    data.to_csv(folder / "data" / "penguins.csv", index=False)
    (folder / "settings.ini").write_text(settings_text({
        "project": {"name": "penguins"},
        "data": {"train": "data/penguins.csv", "target": "species", "id_columns": ["penguin_id"]},
        "models": {"candidates": [candidate]}}))
    settings = load_settings(folder / "settings.ini", environ={})
    contract = infer_contract(data, target="species", id_columns=["penguin_id"])
    save_contract(contract, settings.validation.contract)
    pipeline = make_pipeline(parse_candidate(candidate, "classification"), data, "species", contract.roles, contract.kinds, seed=0)
    model, _ = fit_final(pipeline, data, "species")
    tracker = Tracker.from_settings(settings)
    with tracker.run("evaluate") as run:
        info = log_model(run, model, data.drop(columns="species").head(3))
    promote(tracker, "penguins", info, run.id, passed=True)
    return settings


class Server:
    "`mlops-wb serve` in its own process group, on a free port of 127.0.0.1."

    def __init__(self, settings, *args: str, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(settings.root / f"serve-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [str(MLOPS_WB), "serve", "--settings", str(settings.source), "--port", str(self.port), *args],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("MLOPS_WB_")},
                 "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})})
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.logs()
            try:
                if requests.get(f"{self.url}/ping", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"no answer on {self.url}/ping: {self.logs()}")

    def logs(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()[-3000:]

    def score(self, rows, session=None):
        "POST rows as dataframe_records; the response."
        records = json.loads(rows.to_json(orient="records")) if hasattr(rows, "to_json") else rows
        return (session or requests).post(f"{self.url}/invocations", json={"dataframe_records": records}, timeout=60)

    def kill(self):
        "SIGKILL the whole process group: the server and its workers, mid-request if need be."
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.log.close()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("serve") / "project")


@pytest.fixture(scope="module")
def champion(project):
    tracker = Tracker.from_settings(project)
    return load_version(tracker, alias_version(tracker.client, "penguins", "champion"), trusted_modules(project))


@pytest.fixture(scope="module")
def server(project):
    "One champion server with two worker processes for the module."
    running = Server(project, "--workers", "2")
    yield running
    running.stop()


def test_predictions_equal_the_champions_own(server, champion, project):
    rows = penguins().drop(columns="species").sample(60, random_state=4)
    answer = server.score(rows)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == champion.predict(rows).tolist()
    for i in range(3):  # and one row at a time
        one = rows.iloc[[i]]
        assert server.score(one).json()["predictions"] == champion.predict(one).tolist()
    logged = FeedbackStore(project.serving.feedback_uri).served()
    assert set(rows["penguin_id"]) <= set(logged["penguin_id"])
    assert set(logged["_model_version"]) == {"1"} and set(logged["_alias"]) == {"champion"}
    mine = logged[logged["penguin_id"].isin(rows["penguin_id"])].drop_duplicates("penguin_id").set_index("penguin_id")
    assert mine.loc[rows["penguin_id"], "_prediction"].tolist() == champion.predict(rows).tolist()


BAD = {
    "a wrong type": ({"bill_length_mm": "long"}, "row 0, column bill_length_mm: dtype"),
    "out of range": ({"flipper_length_mm": 9999.0}, "row 0, column flipper_length_mm: range"),
    "an unseen category": ({"island": "Atlantis"}, "row 0, column island: categories"),
    "a missing value where none may be": ({"penguin_id": None}, "row 0, column penguin_id: missing"),
    "a missing required column": ("body_mass_g", "column body_mass_g: required_columns: missing from the request"),
    "a column the contract does not know": ({"beak_colour": "red"}, "column beak_colour: extra_columns"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_each_bad_request_gets_a_4xx_naming_row_column_and_check(server, project, case):
    change, expected = BAD[case]
    row = json.loads(penguins().drop(columns="species").iloc[[7]].to_json(orient="records"))[0]
    if isinstance(change, str):
        del row[change]
    else:
        row.update(change)
    row["penguin_id"] = row["penguin_id"] and "B0001"  # a bad row is never logged
    answer = server.score([row])
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    assert expected in answer.json()["message"], answer.json()["message"]
    assert "B0001" not in set(FeedbackStore(project.serving.feedback_uri).served()["_row_key"])


def test_malformed_and_empty_requests_are_4xx_never_500(server):
    answers = [requests.post(f"{server.url}/invocations", data="{not json", headers={"Content-Type": "application/json"}, timeout=30),
               requests.post(f"{server.url}/invocations", json={"dataframe_records": []}, timeout=30),
               requests.post(f"{server.url}/invocations", json={"dataframe_records": [{"x": [1, 2]}]}, timeout=30),
               requests.post(f"{server.url}/invocations", data="a,b\n1,2", headers={"Content-Type": "text/csv"}, timeout=30)]
    assert [a.status_code // 100 for a in answers] == [4, 4, 4, 4], [(a.status_code, a.text[:200]) for a in answers]


def test_eight_concurrent_clients_every_row_logged_exactly_once(server, project, champion):
    base = penguins().drop(columns="species").sample(200, random_state=5, replace=True).reset_index(drop=True)

    expected = champion.predict(base).tolist()

    def client(k: int) -> list[str]:
        sent, session = [], requests.Session()
        for i in range(200):
            answer = server.score(base.iloc[[i]].assign(penguin_id=f"C{k}{i:04d}"), session)
            assert answer.status_code == 200, answer.text
            assert answer.json()["predictions"] == [expected[i]]
            sent.append(f"C{k}{i:04d}")
        return sent

    with ThreadPoolExecutor(8) as pool:
        sent = [key for keys in pool.map(client, range(8)) for key in keys]
    logged = FeedbackStore(project.serving.feedback_uri).served()
    mine = logged[logged["penguin_id"].str.startswith("C")]["penguin_id"]
    assert len(sent) == len(set(sent)) == 1600
    assert sorted(mine) == sorted(sent)  # none lost, none twice


def test_a_killed_server_loses_no_acknowledged_row(project):
    victim = Server(project)
    rows = penguins().drop(columns="species")
    acknowledged, stop = [], threading.Event()

    def client(k: int) -> None:
        session = requests.Session()
        for i in range(10_000):
            if stop.is_set():
                return
            key = f"K{k}{i:04d}"
            try:
                answer = victim.score(rows.iloc[[i % len(rows)]].assign(penguin_id=key), session)
            except requests.RequestException:
                return  # the server is gone: this request was never acknowledged
            if answer.status_code == 200:
                acknowledged.append(key)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    while len(acknowledged) < 150:
        time.sleep(0.01)
    victim.kill()  # SIGKILL, requests in flight
    stop.set()
    for t in threads:
        t.join(timeout=60)
    logged = FeedbackStore(project.serving.feedback_uri).served()
    kept = set(logged[logged["penguin_id"].str.startswith("K")]["penguin_id"])
    assert len(acknowledged) >= 150 and set(acknowledged) <= kept, sorted(set(acknowledged) - kept)[:5]
    assert logged["penguin_id"].is_unique or not logged[logged["penguin_id"].str.startswith("K")]["penguin_id"].duplicated().any()


def test_challenger_is_served_on_its_own_port_logged_as_challenger_and_shadowed(project, server):
    data = penguins()
    served = data.drop(columns="species").tail(20).assign(penguin_id=[f"V{i:04d}" for i in range(20)])
    assert server.score(served).status_code == 200  # rows the champion served, for the shadow
    contract = infer_contract(data, target="species", id_columns=["penguin_id"])
    model, _ = fit_final(make_pipeline(parse_candidate("random_forest", "classification"), data, "species",
                                       contract.roles, contract.kinds, seed=1), data, "species")
    tracker = Tracker.from_settings(project)
    with tracker.run("evaluate") as run:
        info = log_model(run, model, data.drop(columns="species").head(3))
    promote(tracker, "penguins", info, run.id, passed=False, register_challenger=True)
    dry = run_in_process("serve", "--settings", project.source, "--alias", "challenger", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["command"][-3] == "5002"  # [serving] challenger_port
    os.environ[FEEDBACK_ENV] = project.serving.feedback_uri  # what `serve --alias challenger` passes its server
    try:
        wrapper = mlflow.pyfunc.load_model(build_serving_model(project, "challenger").path)
    finally:
        del os.environ[FEEDBACK_ENV]
    rows = data.drop(columns="species").head(5).assign(penguin_id=[f"H{i:04d}" for i in range(5)])
    assert wrapper.predict(rows).tolist() == model.predict(rows).tolist()
    logged = FeedbackStore(project.serving.feedback_uri).served(alias="challenger")
    assert sorted(logged["penguin_id"]) == sorted(rows["penguin_id"]) and set(logged["_model_version"]) == {"2"}
    shadow = run_in_process("shadow", "--settings", project.source, "--json")
    assert shadow.returncode == 0, shadow.stderr
    assert json.loads(shadow.stdout)["challenger_version"] == "2"
    assert str(alias_version(tracker.client, "penguins", "champion").version) == "1"  # never changed


def test_the_feedback_store_on_postgresql(postgres, project, champion):
    uri = postgres("feedback")
    store = FeedbackStore(uri)
    served = build_serving_model(project)
    os.environ[FEEDBACK_ENV] = uri
    try:
        wrapper = mlflow.pyfunc.load_model(served.path)
    finally:
        del os.environ[FEEDBACK_ENV]
    rows = penguins().drop(columns="species")

    def worker(k: int) -> None:
        for i in range(25):
            row = rows.iloc[[(k * 25 + i) % len(rows)]].assign(penguin_id=f"G{k}{i:04d}")
            assert wrapper.predict(row).tolist() == champion.predict(row).tolist()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(worker, range(8)))
    logged = store.served()
    assert len(logged) == 200 and logged["penguin_id"].is_unique
    store.add_labels(logged.set_index("penguin_id")["_prediction"].head(10), "labels.csv")
    assert len(store.labelled()) == 10
    with store.engine.connect() as conn:
        for statement in ("UPDATE served SET alias = 'x'", "DELETE FROM labels", "TRUNCATE served"):
            with pytest.raises(Exception, match="append-only"):
                conn.exec_driver_sql(statement)
            conn.rollback()
    assert "password" not in store.where and FeedbackStore(uri).counts() == {"served": 200, "labels": 10}


def test_package_writes_a_build_context_whose_model_loads_and_predicts(project, champion, tmp_path):
    done = run_in_process("package", "--settings", project.source, "--out", tmp_path / "image")
    assert done.returncode == 0, done.stderr
    dockerfile = (tmp_path / "image" / "Dockerfile").read_text()
    assert "FROM python" in dockerfile and "COPY model_dir/champion-v1 /opt/ml/model" in dockerfile
    assert f"ENV {FEEDBACK_ENV}=sqlite:////var/lib/mlops-wb/feedback.db" in dockerfile
    readme = (tmp_path / "image" / "README.md").read_text()
    assert "docker build" in readme and "docker run" in readme
    inside = tmp_path / "image" / "model_dir" / "champion-v1"
    assert (inside / "artifacts").is_dir() and (inside / "code" / "mlops_workbench" / "serve.py").is_file()
    assert "skops" in (inside / "requirements.txt").read_text() and not list(inside.rglob("*.pkl"))
    rows = penguins().drop(columns="species").head(12)
    probe = ("import sys, mlflow.pyfunc, pandas as pd; m = mlflow.pyfunc.load_model(sys.argv[1]); import mlops_workbench; "
             "print(mlops_workbench.__file__); print(m.predict(pd.read_json(sys.stdin)).tolist())")
    out = subprocess.run([str(BIN / "python"), "-c", probe, str(inside)], input=rows.to_json(orient="records"), text=True,
                         capture_output=True, cwd=tmp_path, env={**os.environ, FEEDBACK_ENV: f"sqlite:///{tmp_path / 'c.db'}"})
    assert out.returncode == 0, out.stderr[-2000:]
    where, predictions = out.stdout.splitlines()[-2:]
    assert where.startswith(str(inside / "code")) and predictions == str(champion.predict(rows).tolist())
    assert np.array_equal(FeedbackStore(f"sqlite:///{tmp_path / 'c.db'}").served()["penguin_id"], rows["penguin_id"])
