"""Drift: the planted demo batch (exactly the planted columns drift), a clean batch does not, the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_in_process

from mlops_workbench.contract import infer_contract, save_contract
from mlops_workbench.core import load_settings
from mlops_workbench.data import DEMO_PLANTS, demo_batch, demo_frame
from mlops_workbench.drift import detect_drift


@pytest.fixture
def cli():
    "The CLI run in this process: these tests are about what a command prints and returns, not about processes."
    return run_in_process


PLANTED = set(DEMO_PLANTS["drift"])


def test_planted_batch_drifts_in_exactly_the_planted_columns():
    contract = infer_contract(demo_frame(), target="species")
    report = detect_drift(contract, demo_batch())
    assert set(report.drifted_columns) == PLANTED
    assert report.drifted
    by_column = {c.column: c for c in report.columns}
    assert by_column["island"].unseen == {"Atlantis": 2}
    assert all(not c.unseen for name, c in by_column.items() if name != "island")
    assert report.figure() is not None


def test_clean_batches_do_not_drift():
    contract = infer_contract(demo_frame(), target="species")
    for seed in range(10):
        report = detect_drift(contract, demo_batch(seed=seed, planted=False))
        assert report.drifted_columns == [], (seed, report.table())


def test_planted_columns_drift_on_other_seeds_too():
    contract = infer_contract(demo_frame(), target="species")
    for seed in range(10):
        assert set(detect_drift(contract, demo_batch(seed=seed)).drifted_columns) == PLANTED, seed


def test_thresholds_come_from_settings(tmp_path):
    (tmp_path / "settings.ini").write_text("[validation]\npsi_threshold = 100\np_value = 0\ndrift_share = 0.5\n")
    settings = load_settings(tmp_path / "settings.ini", environ={})
    report = detect_drift(infer_contract(demo_frame()), demo_batch(), settings=settings)
    assert report.drifted_columns == [] and not report.drifted
    (tmp_path / "settings.ini").write_text("[validation]\ndrift_share = 0.5\n")
    report = detect_drift(infer_contract(demo_frame()), demo_batch(), settings=load_settings(tmp_path / "settings.ini", environ={}))
    assert set(report.drifted_columns) == PLANTED and not report.drifted  # 2 of 8 columns is not more than half


def test_large_shifted_numeric_column_drifts_and_a_same_distribution_does_not():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=50_000), "c": rng.choice(list("abc"), 50_000)})
    same = pd.DataFrame({"x": rng.normal(size=50_000), "c": rng.choice(list("abc"), 50_000)})
    assert detect_drift(ref, same).drifted_columns == []
    shifted = same.assign(x=same["x"] + 0.5)
    assert detect_drift(ref, shifted).drifted_columns == ["x"]


def test_cli_drift(cli, tmp_path):
    demo_frame().to_csv(tmp_path / "ref.csv", index=False)
    demo_batch().to_csv(tmp_path / "batch.csv", index=False)
    demo_batch(planted=False).to_csv(tmp_path / "clean.csv", index=False)
    save_contract(infer_contract(demo_frame(), target="species"), tmp_path / "contract.yaml")

    r = cli("drift", "ref.csv", "batch.csv", "--json", "--report", "out/drift.html", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == "mlops-wb: error: batch.csv: DRIFT: 2 of 8 columns drifted: island, body_mass_g"
    payload = json.loads(r.stdout)
    assert set(payload["drifted_columns"]) == PLANTED
    assert (tmp_path / "out" / "drift.json").exists() and "<img" in (tmp_path / "out" / "drift.html").read_text()

    r = cli("drift", "contract.yaml", "batch.csv", cwd=tmp_path)
    assert r.returncode == 1 and "body_mass_g" in r.stdout

    r = cli("drift", "ref.csv", "clean.csv", "--contract", "contract.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("no drift: 0 of 8 columns drifted")


def test_cli_drift_bad_input(cli, tmp_path):
    demo_frame().to_csv(tmp_path / "ref.csv", index=False)
    (tmp_path / "header.csv").write_text("a,b\n")
    (tmp_path / "bad.yaml").write_text("version: [\n")
    for args, message in [
        (("ref.csv", "missing.csv"), "missing.csv: file not found"),
        (("ref.csv", "header.csv"), "header.csv: the file has a header but no data rows"),
        (("bad.yaml", "ref.csv"), "bad.yaml line 2: not valid YAML"),
        (("ref.csv", "ref.csv", "--contract", "bad.yaml"), "bad.yaml line 2: not valid YAML"),
        (("ref.csv",), "Missing argument 'CURRENT'"),
    ]:
        r = cli("drift", *args, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr and message in r.stderr, (args, r.stderr)
    # a batch sharing no column with the reference: a clear error, not an empty report
    pd.DataFrame({"other": [1, 2, 3]}).to_csv(tmp_path / "other.csv", index=False)
    r = cli("drift", "ref.csv", "other.csv", "--json", cwd=tmp_path)
    assert r.returncode == 2 and "no values in any column drift is measured on" in r.stderr
