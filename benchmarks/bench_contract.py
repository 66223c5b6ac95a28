"""Benchmark: batch validation (ours vs pandera on equal checks vs a vectorised floor), drift, and peak memory.

Run: .venv/bin/python benchmarks/bench_contract.py [--quick]
Prints a markdown table: measure | ours | peer/floor | ratio | target | verdict. All figures from this run.
"""

import argparse
import gc
import time
import tracemalloc

import numpy as np
import pandas as pd
import pandera
import pandera.pandas as pa

from mlops_workbench.contract import infer_contract, to_pandera
from mlops_workbench.drift import detect_drift
from mlops_workbench.validation import validate


def make_frame(rows: int, seed: int) -> pd.DataFrame:
    "20 columns: 13 floats (with missing values), 2 integers, 3 text categories, 1 boolean, 1 text identifier."
    rng = np.random.default_rng(seed)
    data = {}
    for i in range(13):
        x = rng.normal(i, 1 + i / 5, rows)
        x[rng.random(rows) < 0.01] = np.nan
        data[f"f{i}"] = x
    data["n0"] = rng.integers(0, 1000, rows)
    data["n1"] = rng.integers(-50, 50, rows)
    for i, levels in enumerate((["red", "green", "blue"], [f"region-{k}" for k in range(12)], ["a", "b", "c", "d", "e"])):
        data[f"c{i}"] = np.asarray(levels, dtype=object)[rng.integers(0, len(levels), rows)]
    data["flag"] = rng.random(rows) < 0.3
    data["row_id"] = np.char.add("ID-", np.char.zfill(np.arange(rows).astype(str), 7)).astype(object)
    return pd.DataFrame(data)


def plant(frame: pd.DataFrame) -> pd.DataFrame:
    "A batch with a few defects: out-of-range values, unseen categories, missing values where none are allowed."
    batch = frame.copy()
    batch.loc[batch.index[:50], "f3"] = 1e6
    batch.loc[batch.index[100:120], "c1"] = "region-x"
    batch.loc[batch.index[200:210], "n0"] = -500
    return batch


def pandera_schema(contract):
    "The contract's own pandera export, as it is: no custom checks written for pandera."
    return to_pandera(contract, metadata=False)


def equal_checks(contract):
    "The contract with only what its pandera export expresses: no duplicate-row, row-count or missing-share checks."
    same = contract.copy()
    for name in ("duplicate_rows", "row_count"):
        same.table[name]["enabled"] = False
    for c in same.columns.values():
        if c.checks.get("missing", {}).get("max_share", 0) > 0:
            c.checks["missing"]["enabled"] = False  # pandera has nullable or not, no share
    return same


def floor_validate(batch: pd.DataFrame, contract) -> dict:
    "The same checks as raw vectorised calls on the arrays, no bookkeeping: the floor."
    counts = {}
    for name, c in contract.columns.items():
        col = batch[name]
        arr = col.to_numpy()
        na = pd.isna(arr) if arr.dtype == object else (np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(len(arr), bool))
        counts[name, "missing"] = int(na.sum())
        chk = c.checks
        if "range" in chk:
            counts[name, "range"] = int(((arr < chk["range"]["min"]) | (arr > chk["range"]["max"])).sum())
        if "categories" in chk:
            counts[name, "categories"] = int((~pd.core.algorithms.isin(arr, chk["categories"]["values"]) & ~na).sum())
        if "unique" in chk:
            counts[name, "unique"] = int(pd.core.algorithms.duplicated(arr, keep=False).sum())
        if "pattern" in chk:
            counts[name, "pattern"] = int((~col.str.match(chk["pattern"]["regex"], na=True)).sum())
    hashes = pd.util.hash_pandas_object(batch, index=False).to_numpy()
    counts["duplicates"] = int(pd.core.algorithms.duplicated(hashes).sum())
    return counts


def best(fn, repeat: int) -> float:
    "Best wall time of `repeat` calls."
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run_pandera(schema, batch):
    try:
        schema.validate(batch, lazy=True)
    except pa.errors.SchemaErrors:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows instead of 1M")
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    repeat = 3
    reference = make_frame(rows, seed=0)
    batch = plant(make_frame(rows, seed=1))
    contract = infer_contract(reference, id_columns=["row_id"])
    schema = pandera_schema(contract)
    same = equal_checks(contract)

    result = validate(batch, contract)
    found = {(f.column, f.check) for f in result.failures}
    assert {("f3", "range"), ("c1", "categories"), ("n0", "range")} <= found, found
    floor = floor_validate(batch, contract)
    assert floor["f3", "range"] == 50 and floor["c1", "categories"] == 20

    t_ours = best(lambda: validate(batch, contract), repeat)
    t_floor = best(lambda: floor_validate(batch, contract), repeat)
    t_same = best(lambda: validate(batch, same), repeat)
    t_pandera = best(lambda: run_pandera(schema, batch), repeat)

    current = make_frame(rows, seed=2)
    current["f5"] = current["f5"] + 0.3  # one drifted column
    t_drift_frames = best(lambda: detect_drift(reference, current, contract=contract), repeat)
    t_drift_contract = best(lambda: detect_drift(contract, current), repeat)
    report = detect_drift(contract, current)
    assert report.drifted_columns == ["f5"], report.drifted_columns

    frame_bytes = int(batch.memory_usage(deep=True).sum())
    gc.collect()
    tracemalloc.start()
    validate(batch, contract)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    n = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
    lines = [
        "| measure | ours | peer/floor | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
        f"| validate {n} x 20, all checks, vs vectorised floor | {t_ours:.3f} s | {t_floor:.3f} s | "
        f"{t_ours / t_floor:.2f}x | <= 2x floor | {'pass' if t_ours <= 2 * t_floor else 'FAIL'} |",
        f"| validate {n} x 20, the checks pandera {pandera.__version__} expresses (its own export, lazy), both best of {repeat} | "
        f"{t_same:.3f} s | {t_pandera:.3f} s | {t_same / t_pandera:.2f}x | <= 0.8x pandera | {'pass' if t_same <= 0.8 * t_pandera else 'FAIL'} |",
        f"| drift 20 columns, {n} vs {n}, from reference data | {t_drift_frames:.3f} s | - | - | <= 2 s | "
        f"{'pass' if t_drift_frames <= 2 else 'FAIL'} |",
        f"| drift 20 columns, {n} vs {n}, from the contract | {t_drift_contract:.3f} s | - | - | <= 2 s | "
        f"{'pass' if t_drift_contract <= 2 else 'FAIL'} |",
        f"| peak extra memory of validate vs the frame | {peak / 2**20:.0f} MiB | {frame_bytes / 2**20:.0f} MiB | "
        f"{peak / frame_bytes:.2f}x | <= 1x frame | {'pass' if peak <= frame_bytes else 'FAIL'} |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
