"""Leaderboard time (cross-validation + MLflow logging) against a plain scikit-learn cross_validate loop.

Both sides cross-validate the same pipelines on the same folds with the same metrics and n_jobs, in the same
process; ours also logs every candidate as a nested MLflow run (SQLite store) and the leaderboard artefact.
Usage: python benchmarks/bench_train.py [--quick]
"""

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import cross_validate

from mlops_workbench.candidates import make_pipeline, parse_candidate
from mlops_workbench.tracking import Tracker
from mlops_workbench.train import compare, make_cv

CANDIDATES = ["dummy", "linear", "random_forest", "hist_gradient_boosting"]
METRICS = ["balanced_accuracy", "roc_auc", "f1"]


def data(rows: int) -> pd.DataFrame:
    X, y = make_classification(n_samples=rows, n_features=20, n_informative=8, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    frame["grade"] = pd.cut(frame["x0"], 5, labels=list("abcde")).astype(str)
    frame["target"] = y
    return frame


def plain(frame: pd.DataFrame, folds: int, n_jobs: int) -> float:
    start = time.perf_counter()
    cv = make_cv("classification", folds, 0)
    X, y = frame.drop(columns="target"), frame["target"]
    for name in CANDIDATES:
        pipe = make_pipeline(parse_candidate(name, "classification"), frame, "target", seed=0)
        cross_validate(pipe, X, y, cv=cv, scoring={m: m for m in METRICS}, n_jobs=n_jobs, error_score="raise")
    return time.perf_counter() - start


def ours(frame: pd.DataFrame, folds: int, n_jobs: int, tracker: Tracker) -> float:
    start = time.perf_counter()
    compare(frame, "target", "classification", CANDIDATES, METRICS, folds, 0, n_jobs, tracker=tracker)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller data set and one repeat")
    args = parser.parse_args()
    rows, repeats, folds, n_jobs = (2000, 1, 3, -1) if args.quick else (10000, 3, 5, -1)
    frame = data(rows)
    with tempfile.TemporaryDirectory() as tmp:
        tracker = Tracker(f"sqlite:///{Path(tmp) / 'mlflow.db'}", "bench", Path(tmp) / "mlruns")
        plain(frame.head(300), 3, n_jobs)  # warm up the worker pool on both sides
        ours(frame.head(300), 3, n_jobs, tracker)
        peer_t, our_t = [], []
        for _ in range(repeats):
            peer_t.append(plain(frame, folds, n_jobs))
            our_t.append(ours(frame, folds, n_jobs, tracker))
    peer, mine = min(peer_t), min(our_t)
    ratio = mine / peer
    print(f"\n{rows} rows x 21 columns, {len(CANDIDATES)} candidates, {folds} folds, {len(METRICS)} metrics, best of {repeats}\n")
    print("| measure | ours | peer/floor | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    print(f"| leaderboard time (s), MLflow logging included vs plain cross_validate loop | {mine:.2f} | {peer:.2f} | "
          f"{ratio:.2f}x | <= 1.10x | {'pass' if ratio <= 1.10 else 'FAIL'} |")


if __name__ == "__main__":
    main()
