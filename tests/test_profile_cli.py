"""`mlops-wb profile` through the real console script, and the explore stage run by papermill with a real kernel."""

import json
from importlib import resources
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
from conftest import execute_notebook, run_in_process
from mlflow import MlflowClient

from mlops_workbench.core import load_settings
from mlops_workbench.data import demo_frame
from mlops_workbench.tracking import Tracker


@pytest.fixture
def cli():
    "The CLI run in this process: these tests are about what a command prints and returns, not about processes."
    return run_in_process


BUDGET = "[profile]\nfull_cells = 1500\nminimal_cells = 2000\nsample_rows = 150\n"


@pytest.fixture
def project(tmp_path):
    "A project folder with the penguins as training data and a small profile budget."
    (tmp_path / "data").mkdir()
    demo_frame().to_csv(tmp_path / "data" / "penguins.csv", index=False)
    (tmp_path / "settings.ini").write_text("[project]\nname = pen\n[data]\ntrain = data/penguins.csv\ntarget = species\n"
                                           + BUDGET, encoding="utf-8")
    return tmp_path


def test_json_prints_the_quick_summary_and_the_report_plan(project, cli):
    result = cli("profile", "data/penguins.csv", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert (out["rows"], out["columns"], out["target"], out["task"]) == (344, 8, "species", "classification")
    assert out["variables"]["island"]["top"][0] == ["Biscoe", 168]
    assert out["relations"]["island"]["form"] == "class rates per level"
    report = out["report"]
    assert (report["mode"], report["settings"], report["sample_rows"]) == ("sampled", "full", 150)
    html = project / "reports" / "explore" / "profile_penguins.html"
    assert report["html"] == str(html) and html.exists() and html.with_suffix(".json").exists()
    assert "Mode: sampled (full settings) on a random sample of 150 of 344 rows" in html.read_text(encoding="utf-8")


def test_text_output_lists_columns_flags_and_the_plan(project, cli):
    out = project / "elsewhere" / "p.html"
    result = cli("profile", "data/penguins.csv", "--out", out, "--mode", "minimal", "--sample", "500", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "data/penguins.csv: 344 rows x 8 columns, 0 duplicate rows, target species (classification)" in result.stdout
    assert "bill_length_mm" in result.stdout and "categorical" in result.stdout
    assert "Mode: minimal (minimal settings) on all 344 rows (no sample) x 8 columns; all rows asked for" in result.stdout
    assert out.exists() and out.with_suffix(".json").exists()


def test_flags_of_awkward_data_are_printed(tmp_path, cli):
    (tmp_path / "odd.csv").write_text("id,const,y\n" + "".join(f"r{i},1,{'ab'[i % 2]}\n" for i in range(40))
                                      + "r0,1,a\n", encoding="utf-8")
    result = cli("profile", tmp_path / "odd.csv", "--out", tmp_path / "odd.html", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "constant" in result.stdout and "table: duplicate_rows: duplicate rows: 1 of 41 rows" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["missing.csv"], "missing.csv: file not found"),
    (["data/penguins.csv", "--target", "price"], "target column 'price' not found"),
    (["data/penguins.csv", "--mode", "fast"], "Invalid value for '--mode'"),
    (["data/penguins.csv", "--sample", "0"], "Invalid value for '--sample'"),
    (["data/penguins.csv", "--out", "settings.ini/p.html"], "settings.ini/p.html: cannot write the report"),
])
def test_bad_input_exits_2_with_one_line(project, cli, args, message):
    result = cli("profile", *args, cwd=project)
    assert result.returncode == 2
    assert result.stderr.startswith("mlops-wb: error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def stage_notebook() -> Path:
    return Path(str(resources.files("mlops_workbench") / "stages" / "explore.ipynb"))


def outputs_of(nb) -> tuple[str, list[str]]:
    "All text output of an executed notebook, and the mime types it displayed."
    texts, mimes = [], []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            texts.append(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"]))
            for mime, value in o.get("data", {}).items():
                mimes.append(mime)
                if mime in ("text/html", "text/markdown"):
                    texts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(texts), mimes


def test_the_explore_stage_runs_headless_and_writes_its_reports(project):
    run_dir = project / "reports" / "runs" / "r1"
    executed = execute_notebook(
        stage_notebook(), project / "explore.ipynb", project,
        parameters={"settings_path": str(project / "settings.ini"), "run_dir": str(run_dir), "interactive": False})
    text, mimes = outputs_of(executed)
    out = run_dir / "explore"
    assert {p.name for p in out.iterdir()} >= {"profile.html", "profile.json", "summary.json", "outputs.json",
                                                "correlations.png", "plots", "view.html"}
    assert len(list((out / "plots").glob("*.png"))) == 8
    outputs = json.loads((out / "outputs.json").read_text())
    assert (outputs["rows"], outputs["target"], outputs["report"]["mode"], outputs["report"]["sample_rows"]) == (
        344, "species", "sampled", 150)
    assert "Mode: sampled (full settings) on a random sample of 150 of 344 rows" in text
    assert "344 rows x 8 columns" in text and "<td>bill_length_mm</td>" in text and "pairs with |r| >= 0.50" in text
    assert "classification of `species`" in text
    assert text.count("<img src='data:image/png;base64,") == 9 and "application/vnd.jupyter.widget-view+json" not in mimes
    assert "it/s" not in text and "Summarize dataset" not in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows"] == 344 and set(summary["variables"]) == set(demo_frame().columns)


def test_the_explore_stage_logs_a_nested_mlflow_run_under_the_pipeline_run(project):
    odd = demo_frame().assign(site="north")
    odd = pd.concat([odd, odd.iloc[[0]]], ignore_index=True)  # a constant column and a duplicate row: 2 warnings
    odd.to_csv(project / "data" / "odd.csv", index=False)
    settings = load_settings(project / "settings.ini")
    tracker = Tracker.from_settings(settings)
    run_dir = project / "reports" / "runs" / "r2"
    with tracker.run("pipeline", tags={"mlops_wb.run_id": "r2"}) as pipeline:
        parent = pipeline.id
        execute_notebook(
            stage_notebook(), project / "explore.ipynb", project,
            parameters={"settings_path": str(project / "settings.ini"), "run_dir": str(run_dir), "interactive": False,
                        "parent_run_id": parent, "data_path": "data/odd.csv"})
    client = MlflowClient(settings.tracking.uri)
    runs = client.search_runs([tracker.experiment_id], f"tags.mlflow.parentRunId = '{parent}'")
    assert len(runs) == 1
    run = runs[0]
    assert (run.info.run_name, run.info.status) == ("explore", "FINISHED")
    assert run.data.params == {"data": str(project / "data" / "odd.csv"), "sep": ",", "encoding": "utf-8", "target": "species",
                               "report_mode": "sampled", "report_settings": "full", "sample_rows": "150"}
    assert run.data.metrics == {"rows": 345, "columns": 9, "duplicate_rows": 1, "flags_warn": 2, "flags_info": 0}
    outputs = json.loads((run_dir / "explore" / "outputs.json").read_text())
    assert run.data.tags["data_fingerprint"] == outputs["data_fingerprint"] and run.data.tags["mlops_wb.run_id"] == "r2"
    assert run.data.tags["mlops_wb.kind"] == "explore"
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names == {"summary.json", "outputs.json", "profile.html", "profile.json", "correlations.png", "plots"}
    assert len(client.list_artifacts(run.info.run_id, "plots")) == 9


def test_the_explore_stage_shows_the_explorer_when_interactive(project):
    executed = execute_notebook(
        stage_notebook(), project / "explore.ipynb", project,
        parameters={"settings_path": str(project / "settings.ini"), "make_report": False})
    text, mimes = outputs_of(executed)
    assert "application/vnd.jupyter.widget-view+json" in mimes and "data:image/png" not in text
    out = project / "reports" / "explore"
    assert (out / "summary.json").exists() and not (out / "profile.html").exists()
    assert json.loads((out / "outputs.json").read_text())["report"] is None
    assert not (project / "mlruns.db").exists() and not (project / "mlruns").exists()


def test_the_explore_stage_refuses_an_unknown_target(project):
    with pytest.raises(papermill.PapermillExecutionError, match="DataError"):
        execute_notebook(
            stage_notebook(), project / "explore.ipynb",
            parameters={"settings_path": str(project / "settings.ini"), "target": "price", "interactive": False})
    executed = nbformat.read(project / "explore.ipynb", as_version=4)
    assert "target column 'price' not found" in "".join(
        o.get("evalue", "") for c in executed.cells for o in c.get("outputs", []))
