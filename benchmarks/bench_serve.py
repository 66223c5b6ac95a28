"""Serving latency and throughput: `mlops-wb serve` (the contract enforced, every row logged in the feedback store)
against plain `mlflow models serve` of the same registered scikit-learn model.

Both are MLflow's scoring server in this environment (`--env-manager local`, one worker), on 127.0.0.1, up at the
same time and measured in alternation, best of 3 rounds each: single-row requests one after another (p50 and p99
latency), then 8 client threads (requests per second). The same rows go to both.
Usage: python benchmarks/bench_serve.py [--quick]
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import requests

from mlops_workbench.candidates import make_pipeline, parse_candidate
from mlops_workbench.contract import infer_contract, save_contract
from mlops_workbench.core import load_settings, settings_text
from mlops_workbench.data import demo_frame
from mlops_workbench.registry import log_model, promote
from mlops_workbench.tracking import Tracker
from mlops_workbench.train import fit_final

BIN = Path(sys.executable).parent


def project(folder: Path):
    "The penguins with an id column, their contract, and a logistic champion in the registry."
    data = demo_frame()
    data.insert(0, "penguin_id", [f"P{i:04d}" for i in range(len(data))])
    folder.mkdir(parents=True)
    (folder / "settings.ini").write_text(settings_text({
        "project": {"name": "penguins"}, "data": {"target": "species", "id_columns": ["penguin_id"]},
        "models": {"candidates": ["logistic"]}}))
    settings = load_settings(folder / "settings.ini", environ={})
    contract = infer_contract(data, target="species", id_columns=["penguin_id"])
    save_contract(contract, settings.validation.contract)
    model, _ = fit_final(make_pipeline(parse_candidate("logistic", "classification"), data, "species",
                                       contract.roles, contract.kinds, seed=0), data, "species")
    tracker = Tracker.from_settings(settings)
    with tracker.run("evaluate") as run:
        info = log_model(run, model, data.drop(columns="species").dropna().head(3))
    promote(tracker, "penguins", info, run.id, passed=True)
    return settings, data.drop(columns="species").dropna()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv: list[str], env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    "Start a server in its own process group; wait for /ping."
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in argv]
    proc = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **env})
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"{argv[0]} exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"no answer from {url}: {log.read_text()[-2000:]}")


def bodies(rows, prefix: str, n: int) -> list[bytes]:
    "n single-row request bodies, cycling over the rows, each with a fresh id."
    records = json.loads(rows.to_json(orient="records"))
    out = []
    for i in range(n):
        record = dict(records[i % len(records)], penguin_id=f"{prefix}{i:06d}")
        out.append(json.dumps({"dataframe_records": [record]}).encode())
    return out


def latency(url: str, payloads: list[bytes]) -> np.ndarray:
    "Milliseconds per single-row request, one after another."
    session, out = requests.Session(), []
    headers = {"Content-Type": "application/json"}
    for body in payloads:
        t = time.perf_counter()
        answer = session.post(f"{url}/invocations", data=body, headers=headers, timeout=60)
        out.append((time.perf_counter() - t) * 1000)
        assert answer.status_code == 200, answer.text
    return np.array(out)


def throughput(url: str, payloads: list[bytes], clients: int = 8) -> float:
    "Requests per second with `clients` threads sharing the payloads."
    chunks = [payloads[k::clients] for k in range(clients)]

    def client(chunk: list[bytes]) -> None:
        session = requests.Session()
        for body in chunk:
            answer = session.post(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=60)
            assert answer.status_code == 200, answer.text

    threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return len(payloads) / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and one round")
    args = parser.parse_args()
    single, concurrent, rounds = (200, 400, 1) if args.quick else (600, 1600, 3)
    with tempfile.TemporaryDirectory() as tmp:
        settings, rows = project(Path(tmp) / "project")
        env = {"MLFLOW_TRACKING_URI": settings.tracking.uri}
        servers = {
            "plain": start([str(BIN / "mlflow"), "models", "serve", "-m", "models:/penguins@champion", "--env-manager", "local",
                            "-h", "127.0.0.1", "-p", "{port}", "-w", "1"], env, Path(tmp) / "plain.log"),
            "ours": start([str(BIN / "mlops-wb"), "serve", "--settings", str(settings.source), "--port", "{port}", "--workers", "1"],
                          {}, Path(tmp) / "ours.log"),
        }
        try:
            results = {name: {"p50": [], "p99": [], "rps": []} for name in servers}
            for name, (_, url) in servers.items():  # warm-up
                latency(url, bodies(rows, f"W{name[0].upper()}", 50))
            for r in range(rounds):
                for name, (_, url) in servers.items():
                    ms = latency(url, bodies(rows, f"L{r}{name[0].upper()}", single))
                    results[name]["p50"].append(np.percentile(ms, 50))
                    results[name]["p99"].append(np.percentile(ms, 99))
                for name, (_, url) in servers.items():
                    results[name]["rps"].append(throughput(url, bodies(rows, f"T{r}{name[0].upper()}", concurrent)))
        finally:
            for proc, _ in servers.values():
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=30)
        from mlops_workbench.feedback import FeedbackStore
        logged = FeedbackStore(settings.serving.feedback_uri).counts()["served"]
    best = {n: {"p50": min(v["p50"]), "p99": min(v["p99"]), "rps": max(v["rps"])} for n, v in results.items()}
    ours, plain = best["ours"], best["plain"]
    print(f"\nlogistic penguins model, single-row JSON requests, 1 worker each, best of {rounds}; "
          f"{single} sequential and {concurrent} concurrent requests a round; {logged} rows logged by ours\n")
    print("| measure | ours | peer/floor | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    for key, label in (("p50", "single-row latency p50 (ms)"), ("p99", "single-row latency p99 (ms)")):
        ratio = ours[key] / plain[key]
        print(f"| {label}, contract + feedback store vs plain mlflow models serve | {ours[key]:.2f} | {plain[key]:.2f} | "
              f"{ratio:.2f}x | <= 1.30x | {'pass' if ratio <= 1.3 else 'FAIL'} |")
    ratio = plain["rps"] / ours["rps"]
    print(f"| throughput, 8 clients (requests/s; ratio = plain/ours) | {ours['rps']:.0f} | {plain['rps']:.0f} | "
          f"{ratio:.2f}x | reported | - |")


if __name__ == "__main__":
    main()
