"""Scale: one contract gives the same failures and drift verdict on pandas, DuckDB and Spark (`local[2]`), and a
folder of Parquet files validates and drifts like the frame it splits; the CLI infers, validates and drifts on folders."""

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlops_workbench import engine
from mlops_workbench.cli import main
from mlops_workbench.contract import infer_contract, load_contract
from mlops_workbench.data import demo_batch, demo_frame
from mlops_workbench.drift import detect_drift
from mlops_workbench.validation import validate

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from bench_contract import make_frame as wide_frame  # noqa: E402  (the benchmark's 20 columns, small)

pytestmark = pytest.mark.xdist_group("spark")  # one worker builds the module's fixtures once (`--dist loadgroup`)


def planted(frame: pd.DataFrame) -> pd.DataFrame:
    "Out-of-range values, unseen categories, a repeated id, duplicate rows, text in a numeric column's place."
    batch = frame.copy()
    batch.loc[:49, "f3"] = 1e6
    batch.loc[100:119, "c1"] = "region-x"
    batch.loc[200:209, "n0"] = -500
    batch.loc[300:304] = batch.loc[400:404].to_numpy()  # five duplicate rows, so five repeated ids
    batch["f5"] = batch["f5"] + 0.5  # drifted
    return batch


def failures(result) -> list[tuple]:
    return [(f.column, f.check, f.severity, f.count) for f in result.failures]


def verdict(report) -> tuple:
    return report.drifted, report.drifted_columns, [(c.column, c.n_current, c.unseen) for c in report.columns]


@pytest.fixture(scope="module")
def demo():
    "The demo contract and its planted batch; the benchmark's wide frame, its contract and a planted batch."
    reference = wide_frame(3000, seed=0)
    return {"contract": infer_contract(demo_frame(), target="species"), "batch": demo_batch(),
            "wide_contract": infer_contract(reference, id_columns=["row_id"]), "wide_batch": planted(wide_frame(3000, seed=1))}


def test_spark_gives_the_same_failures_and_drift_verdict_as_duckdb_and_pandas(demo):
    contract, batch = demo["contract"], demo["batch"]  # the demo's planted batch
    con = engine.connect("spark", "local[2]")  # one Spark session for this module: every Spark check is here
    try:
        on_spark_table = engine.open_table(con._session.createDataFrame(batch), con)
        on_pandas = validate(batch, contract)
        on_duckdb = validate(engine.open_table(batch), contract)
        on_spark = validate(on_spark_table, contract)
        assert (on_pandas.engine, on_duckdb.engine, on_spark.engine) == ("pandas", "duckdb", "spark")
        assert failures(on_pandas) == failures(on_duckdb) == failures(on_spark) != []
        assert on_pandas.passed() is on_duckdb.passed() is on_spark.passed() is False
        drift = [detect_drift(contract, data) for data in (batch, engine.open_table(batch), on_spark_table)]
        assert verdict(drift[0]) == verdict(drift[1]) == verdict(drift[2])
        assert drift[2].drifted_columns == ["island", "body_mass_g"] and drift[2].engine == "spark"
    finally:
        con._session.stop()
        engine._CONNECTIONS.pop(("spark", "local[2]"), None)


def test_the_benchmark_batch_gives_the_same_failures_and_verdict_on_pandas_and_duckdb(demo):
    contract, batch = demo["wide_contract"], demo["wide_batch"]
    wide = failures(validate(batch, contract))
    assert wide == failures(validate(engine.open_table(batch), contract))
    assert {("f3", "range"), ("c1", "categories"), ("n0", "range"), ("row_id", "unique")} <= {(c, k) for c, k, *_ in wide}
    assert verdict(detect_drift(contract, batch)) == verdict(detect_drift(contract, engine.open_table(batch)))
    assert "f5" in detect_drift(contract, batch).drifted_columns  # shifted by half a unit


def test_a_parquet_folder_validates_and_drifts_as_its_concatenated_frame(demo, tmp_path):
    batch, contract = demo["wide_batch"], demo["wide_contract"]
    folder = tmp_path / "batch"
    for i, part in enumerate(np.array_split(batch, 4)):
        (folder / f"day-{i}").mkdir(parents=True)
        part.to_parquet(folder / f"day-{i}" / "part.parquet", index=False)
    whole = pd.concat([pd.read_parquet(p) for p in sorted(folder.rglob("*.parquet"))], ignore_index=True)
    on_folder = validate(folder, contract)
    assert failures(on_folder) == failures(validate(whole, contract)) != []
    assert (on_folder.engine, on_folder.rows) == ("duckdb", len(batch))
    assert verdict(detect_drift(contract, folder)) == verdict(detect_drift(contract, whole))


def test_the_cli_takes_a_folder_and_says_which_engine_scanned_how_many_rows(demo, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "batch"
    folder.mkdir()
    for i, part in enumerate(np.array_split(demo["batch"], 3)):
        part.to_parquet(folder / f"part-{i}.parquet", index=False)
    (tmp_path / "reference").mkdir()
    demo_frame().to_parquet(tmp_path / "reference" / "penguins.parquet", index=False)
    monkeypatch.chdir(tmp_path)
    assert main(["contract", "infer", "reference", "--out", "contract.yaml", "--target", "species"]) == 0
    contract = load_contract(tmp_path / "contract.yaml")
    assert contract.reference["engine"] == "duckdb" and contract.columns["island"].checks == demo["contract"].columns["island"].checks
    capsys.readouterr()
    assert main(["validate", "batch", "--contract", "contract.yaml", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["engine"], out["rows_scanned"]) == ("duckdb", 300)
    assert [(f["column"], f["check"]) for f in out["failures"]] == [("island", "missing"), ("island", "categories"),
                                                                    ("bill_length_mm", "range")]
    assert main(["drift", "contract.yaml", "batch", "--json"]) == 1
    drifted = json.loads(capsys.readouterr().out)
    assert (drifted["drifted_columns"], drifted["engine"], drifted["rows_scanned"]) == (["island", "body_mass_g"], "duckdb", 300)
    (tmp_path / "empty").mkdir()
    assert main(["validate", "empty", "--contract", "contract.yaml"]) == 2
    assert "empty: is a directory with no Parquet files" in capsys.readouterr().err
