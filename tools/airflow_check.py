"""`make airflow-check`: load the DAG file `mlops-wb schedule --format airflow` writes with Airflow's own DagBag.

Airflow is not a dependency of the workbench: it runs in a virtual environment of its own (the Makefile's
`.venv-airflow`), whose Python is given as the first argument. The DAG is written for the demo project, in a
temporary folder, by the workbench's installed `mlops-wb`; Airflow then imports it as a scheduler would.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

LOAD = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = next(iter(bag.dags.values()), None)
task = dag.get_task("run") if dag else None
print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": list(bag.dags),
                  "operator": type(task).__name__ if task else None, "retries": task.retries if task else None,
                  "bash_command": getattr(task, "bash_command", None),
                  "schedule": str(getattr(dag.timetable, "description", "")) if dag else None}))
"""


def main(airflow_python: str) -> int:
    import shutil
    folder = Path(tempfile.mkdtemp(prefix="mlops-wb-airflow-"))
    try:
        return _check(airflow_python, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check(airflow_python: str, folder: Path) -> int:
    import json

    from mlops_workbench.project import scaffold_demo
    settings = scaffold_demo(folder / "project")
    dags = folder / "dags"
    dags.mkdir()
    mlops_wb = Path(sys.executable).parent / "mlops-wb"
    written = subprocess.run([str(mlops_wb), "schedule", "--cron", "0 3 * * *", "--format", "airflow", "--retries", "2",
                              "--settings", str(settings), "-p", "make_report=false"], capture_output=True, text=True)
    if written.returncode:
        print(f"airflow-check: mlops-wb schedule failed: {written.stderr.strip()}")
        return 1
    (dags / "mlops_wb_demo.py").write_text(written.stdout)
    env = {**os.environ, "AIRFLOW_HOME": str(folder / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    loaded = subprocess.run([airflow_python, "-c", LOAD, str(dags)], capture_output=True, text=True, env=env)
    if loaded.returncode:
        print(f"airflow-check: Airflow could not load the DAG folder:\n{loaded.stderr[-3000:]}")
        return 1
    result = json.loads(loaded.stdout.strip().splitlines()[-1])
    problems = [f"import errors: {result['import_errors']}"] if result["import_errors"] else []
    if result["dags"] != ["mlops_wb_penguins_demo"]:
        problems.append(f"expected the DAG mlops_wb_penguins_demo, found {result['dags']}")
    if result["operator"] != "BashOperator" or result["retries"] != 2:
        problems.append(f"expected a BashOperator with 2 retries, found {result['operator']} with {result['retries']}")
    if f"{mlops_wb} run --settings {settings}" not in (result["bash_command"] or ""):
        problems.append(f"the task does not call mlops-wb run on the project: {result['bash_command']}")
    for line in problems:
        print(f"airflow-check: {line}")
    if not problems:
        print(f"airflow-check: Airflow's DagBag loaded {result['dags'][0]} with no import errors: "
              f"{result['operator']} `{result['bash_command']}`, retries {result['retries']}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
