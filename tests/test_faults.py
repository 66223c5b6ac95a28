"""Faults, with real processes: a killed run, a killed kernel, a cell past its timeout, a locked SQLite store, an
unreachable tracking server and a full disk.

Each ends as DESIGN.md says: exit 3 with one error line on stderr (no traceback) and the reason in run.json, or,
for a killed run, no kernel left behind, the run shown as `interrupted` and the next run going ahead.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import mlflow
import nbformat
import pytest
from conftest import BIN, MLOPS_WB, NO_REFRESH

from mlops_workbench.contract import infer_contract, save_contract
from mlops_workbench.core import load_settings
from mlops_workbench.data import demo_frame
from mlops_workbench.kernels import PRELOADED_KERNELS_ENV
from mlops_workbench.runs import load_run, lock_holder
from mlops_workbench.tracking import Tracker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and uses prctl")

PARAMS = ('settings_path: str = ""  # settings\nrun_dir: str = ""  # run folder\n'
          'interactive: bool = True  # widgets\nparent_run_id: str = ""  # MLflow parent\n'
          'pids: str = ""  # a file the kernel appends its pid to\nnap: float = 0.0  # seconds the cell sleeps\n'
          'die: bool = False  # the kernel kills itself\n')
BODY = ("import os, signal, time\n"
        "if pids:\n    with open(pids, 'a') as f:\n        f.write(f'{os.getpid()}\\n')\n"
        "if die:  # in the middle of its MLflow run, which it cannot close\n"
        "    from mlops_workbench.core import load_settings\n"
        "    from mlops_workbench.tracking import Tracker\n"
        "    with Tracker.from_settings(load_settings(settings_path)).run('explore', parent_run_id):\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "time.sleep(nap)")
# a run's progress lines on stderr ("explore: cell 2/5 done (1.2 s)", "explore: failed in 4.5 s", "waiting for run
# ID to release the lock"): not error lines
PROGRESS = re.compile(r"^(\w+: cell \d+/\d+ done \(|\w+: \w+ in [\d.]+ s$|waiting for run \S+ to release the lock$)")
# run the command below as the child of a subreaper, which adopts every orphan beneath it and exits once none
# is left: the fault the kernel must survive least, since its parent's death no longer reparents it to pid 1
SUBREAPER = """\
import ctypes, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
"""


def env(**extra: str) -> dict[str, str]:
    "The environment `run_cli` gives `mlops-wb`, plus `extra`."
    base = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_WB_", "MLFLOW_HTTP_", PRELOADED_KERNELS_ENV))}
    return {**base, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **NO_REFRESH, **extra}


def cli(*args: str, cwd: Path, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    "Run `mlops-wb` to its end."
    return subprocess.run([str(MLOPS_WB), *args], cwd=cwd, env=env(**extra), capture_output=True, text=True,
                          timeout=timeout)


def error_lines(stderr: str) -> list[str]:
    "What a run printed on stderr besides its progress lines."
    return [line for line in stderr.splitlines() if line.strip() and not PROGRESS.match(line)]


def record(project: Path, run_id: str | None = None) -> dict:
    "The run.json of the project's only run (or of `run_id`)."
    paths = sorted((project / "reports" / "runs").glob(f"{run_id or '*'}/run.json"))
    assert len(paths) == 1, paths
    return json.loads(paths[0].read_text())


def wait_for_lines(path: Path, count: int, seconds: float = 120) -> list[int]:
    "The pids a stage's kernels wrote into `path`, once there are `count` of them."
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lines = path.read_text().split() if path.exists() else []
        if len(lines) >= count:
            return [int(pid) for pid in lines]
        time.sleep(0.2)
    raise AssertionError(f"{path}: fewer than {count} kernel pids after {seconds} s")


def alive(pid: int) -> bool:
    "Whether process `pid` exists and is not a zombie."
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def marked(marker: str) -> list[int]:
    "Live processes whose environment holds FAULTS_MARKER=marker (what a run and its kernels inherit)."
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if f"FAULTS_MARKER={marker}".encode() in (proc / "environ").read_bytes().split(b"\0") and alive(int(proc.name)):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "settings.ini").write_text("[project]\nname = faults\n")
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "explore.ipynb")
    return tmp_path


def test_a_killed_run_leaves_no_kernel_reads_interrupted_and_the_next_run_goes_ahead(project):
    marker, pids = uuid.uuid4().hex, project / "pids.txt"
    reaper = subprocess.Popen([sys.executable, "-c", SUBREAPER, str(MLOPS_WB), "run", "--stages", "explore",
                               "-p", f"pids={pids}", "-p", "nap=600"],
                              cwd=project, env=env(FAULTS_MARKER=marker), stdout=subprocess.PIPE, text=True)
    try:
        run_pid = int(reaper.stdout.readline())
        (kernel,) = wait_for_lines(pids, 1)  # the stage's cell is sleeping: mid-stage
        assert set(marked(marker)) >= {run_pid, kernel}
        os.kill(run_pid, signal.SIGKILL)
        reaper.wait(timeout=20)  # the subreaper exits only when every process beneath it has ended
    finally:
        reaper.kill()
        for pid in marked(marker):  # a kernel left behind would fail the test, not outlive it
            os.kill(pid, signal.SIGKILL)
    assert not alive(kernel) and marked(marker) == []
    settings = load_settings(project / "settings.ini", environ={})
    assert lock_holder(settings) is None  # the OS released the dead run's lock
    killed = record(project)
    assert killed["status"] == "running"  # what the dead process left on disk

    listed = cli("runs", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"^{killed['run_id']}  \S+  interrupted ", listed.stdout, re.M), listed.stdout
    shown = load_run(settings, killed["run_id"])
    assert (shown.status, shown.exit_code) == ("interrupted", 3)
    assert shown.exit_reason == "interrupted: its process ended without finishing the run (stage explore was running)"

    again = cli("run", "--stages", "explore", cwd=project)
    assert again.returncode == 0, again.stderr
    written = record(project, killed["run_id"])  # the next run wrote the outcome back
    assert (written["status"], written["stages"][0]["status"], written["exit_code"]) == ("interrupted", "interrupted", 3)
    client = mlflow.MlflowClient(settings.tracking.uri)
    assert client.get_run(killed["mlflow_run_id"]).info.status == "KILLED"


def test_a_kernel_killed_in_a_cell_is_retried_then_exit_3(project):
    pids = project / "pids.txt"
    result = cli("run", "--stages", "explore", "-p", f"pids={pids}", "-p", "die=true", cwd=project)
    assert result.returncode == 3
    reason = "stage explore, cell 3: kernel failure after 2 attempt(s): DeadKernelError: Kernel died"
    assert error_lines(result.stderr) == [f"mlops-wb: error: {reason}"]
    assert len(pids.read_text().split()) == 2  # the first attempt and one retry, each in its own kernel
    rec = record(project)
    assert (rec["status"], rec["exit_code"], rec["exit_reason"]) == ("failed", 3, reason)
    assert (rec["stages"][0]["status"], rec["stages"][0]["failing_cell"]) == ("failed", 3)
    client = mlflow.MlflowClient(rec["tracking_uri"])
    runs = client.search_runs([client.get_experiment_by_name("faults").experiment_id],
                              f"tags.`mlops_wb.run_id` = '{rec['run_id']}'")
    assert sorted(r.info.status for r in runs) == ["FAILED", "KILLED", "KILLED"]  # the parent, and each attempt's run


def test_a_kernel_killed_from_outside_is_retried_as_often_as_asked_then_exit_3(project):
    pids = project / "pids.txt"
    run = subprocess.Popen([str(MLOPS_WB), "run", "--stages", "explore", "--retries", "2", "-p", f"pids={pids}",
                            "-p", "nap=600"], cwd=project, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        for attempt in range(1, 4):
            os.kill(wait_for_lines(pids, attempt)[-1], signal.SIGKILL)
        _, stderr = run.communicate(timeout=120)
    finally:
        run.kill()
    assert run.returncode == 3
    reason = "stage explore, cell 3: kernel failure after 3 attempt(s): DeadKernelError: Kernel died"
    assert error_lines(stderr) == [f"mlops-wb: error: {reason}"]
    assert record(project)["exit_reason"] == reason


def test_a_cell_past_its_timeout_is_retried_then_exit_3_naming_stage_and_cell(project):
    pids = project / "pids.txt"
    result = cli("run", "--stages", "explore", "--timeout", "2", "-p", f"pids={pids}", "-p", "nap=600", cwd=project)
    assert result.returncode == 3
    reason = "stage explore, cell 3: timed out after 2 s, 2 attempt(s)"
    assert error_lines(result.stderr) == [f"mlops-wb: error: {reason}"]
    kernels = [int(pid) for pid in pids.read_text().split()]
    assert len(kernels) == 2 and not any(map(alive, kernels))  # each timed-out kernel was shut down
    rec = record(project)
    assert (rec["exit_code"], rec["exit_reason"], rec["stages"][0]["failing_cell"]) == (3, reason, 3)


LOCK_HOLDER = """\
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
"""


def test_a_locked_sqlite_store_is_retried_within_a_bound_then_exit_3_naming_it(project):
    settings = load_settings(project / "settings.ini", environ={})
    Tracker.from_settings(settings)  # the store exists, with its tables
    db = settings.tracking.uri.removeprefix("sqlite:///")
    holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, db], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        stuck = cli("run", "--stages", "explore", cwd=project, MLOPS_WB_TRACKING_RETRY_SECONDS="8")
        assert stuck.returncode == 3
        (line,) = error_lines(stuck.stderr)
        match = re.fullmatch(rf"mlops-wb: error: tracking store {re.escape(settings.tracking.uri)}: locked by another "
                             r"writer; connect gave up after (\d+) attempt\(s\) in \d+ s", line)
        assert match and int(match.group(1)) >= 2, line  # retried, and stopped at the bound
        rec = record(project)
        assert (rec["exit_code"], rec["exit_reason"]) == (3, line.removeprefix("mlops-wb: error: "))
        assert [s["status"] for s in rec["stages"]] == ["skipped"]

        # a lock released while the run waits for it: the run goes ahead
        waiting = subprocess.Popen([str(MLOPS_WB), "run", "--stages", "explore"], cwd=project, env=env(),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(10)
        assert waiting.poll() is None  # still waiting for the store
        holder.stdin.write("\n")
        holder.stdin.flush()
        _, stderr = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, stderr
    finally:
        holder.kill()


def test_an_unreachable_tracking_server_is_exit_3_with_one_line(project):
    # How long it takes is measured, not asserted: MLflow's HTTP retries are bounded by `tracking.HTTP_BOUNDS`
    # (2 retries, 10 s each), about 11 s on a quiet machine, where MLflow's own defaults would take minutes.
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli("run", "--stages", "explore", cwd=project, MLOPS_WB_TRACKING_URI=f"http://127.0.0.1:{port}")
    assert result.returncode == 3
    (line,) = error_lines(result.stderr)
    assert line.startswith(f"mlops-wb: error: tracking store http://127.0.0.1:{port} unreachable: "), line
    assert record(project)["exit_reason"] == line.removeprefix("mlops-wb: error: ")


DISK_FULL = """\
import builtins, io, os
_open, _full = builtins.open, os.environ["FAULTS_DISK_FULL"]

def _open_on_a_full_disk(file, mode="r", *args, **kwargs):
    "Files whose path starts with FAULTS_DISK_FULL are written to /dev/full, where every write fails with ENOSPC."
    if isinstance(file, (str, os.PathLike)) and set(mode) & set("wax+") and os.path.abspath(file).startswith(_full):
        return _open("/dev/full", mode, *args, **kwargs)
    return _open(file, mode, *args, **kwargs)

builtins.open = io.open = _open_on_a_full_disk
"""


def test_a_full_disk_while_writing_a_report_is_exit_3_keeping_the_previous_report(tmp_path):
    frame = demo_frame()
    frame.to_csv(tmp_path / "batch.csv", index=False)
    save_contract(infer_contract(frame), tmp_path / "contract.yaml")
    out = tmp_path / "out"
    out.mkdir()
    (out / "v.html").write_text("<p>the previous report</p>")
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(DISK_FULL)
    result = cli("validate", "batch.csv", "--contract", "contract.yaml", "--report", "out/v.html", cwd=tmp_path,
                 PYTHONPATH=str(tmp_path / "site"), FAULTS_DISK_FULL=str(out / ".v.html."))
    assert result.returncode == 3
    assert result.stderr.splitlines() == ["mlops-wb: error: out/v.html: no space left on the device; the previous file is unchanged"]
    assert (out / "v.html").read_text() == "<p>the previous report</p>"
    assert sorted(p.name for p in out.iterdir()) == ["v.html", "v.json"]  # no temporary file left behind
