"""The validate stage notebook, run headless by papermill with a real kernel."""

import json
from importlib import resources
from pathlib import Path

import papermill
import pytest

from mlops_workbench.contract import load_contract
from mlops_workbench.data import DEMO_PLANTS, demo_batch, demo_frame

STAGE = Path(str(resources.files("mlops_workbench") / "stages" / "validate.ipynb"))


def _project(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    demo_frame().to_csv(tmp_path / "data" / "penguins.csv", index=False)
    demo_batch().to_csv(tmp_path / "data" / "planted.csv", index=False)
    demo_batch(planted=False).to_csv(tmp_path / "data" / "clean.csv", index=False)
    (tmp_path / "settings.ini").write_text("[project]\nname = penguins\n[data]\ntrain = data/penguins.csv\n"
                                           "batch = data/clean.csv\ntarget = species\n")
    return tmp_path


def _run(project: Path, run_dir: Path, **params):
    run_dir.mkdir(parents=True, exist_ok=True)
    return papermill.execute_notebook(
        str(STAGE), str(run_dir / "validate.ipynb"), kernel_name="python3", cwd=str(project), progress_bar=False,
        parameters={"settings_path": str(project / "settings.ini"), "run_dir": str(run_dir), "interactive": False, **params})


def test_stage_infers_the_contract_and_passes_a_clean_batch(tmp_path):
    project = _project(tmp_path)
    run_dir = project / "reports" / "runs" / "r1"
    _run(project, run_dir)
    contract = load_contract(project / "contract.yaml")  # inferred on first use, where settings put it
    assert contract.version == 1 and contract.target == "species"
    out = run_dir / "validate"
    outputs = json.loads((out / "outputs.json").read_text())
    assert outputs["passed"] is True and outputs["errors"] == 0 and outputs["drifted"] is False
    assert outputs["contract_version"] == 1 and outputs["batch_fingerprint"].startswith("sha256:")
    for name in ("validation.json", "validation.html", "drift.json", "drift.html", "contract.yaml"):
        assert (out / name).exists(), name
    assert "Objective" in (out / "validation.html").read_text()


def test_stage_stops_the_run_on_the_planted_batch(tmp_path):
    project = _project(tmp_path)
    run_dir = project / "reports" / "runs" / "r2"
    with pytest.raises(papermill.PapermillExecutionError) as err:
        _run(project, run_dir, batch_path="data/planted.csv")
    assert err.value.ename == "CheckFailed"
    assert "validation FAILED: 3 error(s)" in err.value.evalue
    assert "island: categories" in err.value.evalue and "bill_length_mm: range" in err.value.evalue
    out = run_dir / "validate"
    validation = json.loads((out / "validation.json").read_text())
    found = {(f["column"], f["check"]) for f in validation["failures"]}
    assert found == {(c, k) for c, ks in DEMO_PLANTS["violations"].items() for k in ks}
    drift = json.loads((out / "drift.json").read_text())
    assert set(drift["drifted_columns"]) == set(DEMO_PLANTS["drift"])
    assert (out / "drift.png").exists()
    assert json.loads((out / "outputs.json").read_text())["passed"] is False
