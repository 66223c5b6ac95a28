"""The stakeholders' dashboard on a real demo project: Voila serving it to Debian's headless chromium, the static
snapshot opened with no network, and the server's defences (no code from the page, a token off the loopback, a cap
on kernels)."""

import asyncio
import concurrent.futures
import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import mlflow
import psutil
import pytest
from conftest import BIN, CHROMIUM, CHROMIUM_ARGS, _free_port

from mlops_workbench.cli import main
from mlops_workbench.core import load_settings, settings_text
from mlops_workbench.pipeline import run_pipeline
from mlops_workbench.project import DEMO_SETTINGS, scaffold_demo
from mlops_workbench.runs import RunRecord, list_runs, runs_dir

pytestmark = pytest.mark.xdist_group("dashboard")  # one worker starts the module's server and browser once (`--dist loadgroup`)

SOURCE = ("load_settings", "dashboard.summary_view", "at_visit", "jslink")  # the notebook's code, never shown


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The demo project, lean: a run of validate, train and evaluate on the clean batch (two candidates, no tuning),
    then the planted batch stopped by validation. Latency and size limits are loose: the machine is shared.

    Built once for the whole session, whichever xdist worker comes first (the others wait for it, under a lock in
    the folder the workers share); the tests only read it."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the session's folder either way
    root = shared / "dashboard-demo"
    with open(shared / "dashboard-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "built").exists():
            _build(root)
            (root / "built").touch()
    return load_settings(root / "settings.ini", environ={})


def _build(root: Path) -> None:
    "Scaffold the demo project into `root` and run it twice."
    import shutil
    shutil.rmtree(root, ignore_errors=True)  # a build that died half-way
    scaffold_demo(root)
    values = {**DEMO_SETTINGS, "objective": {**DEMO_SETTINGS["objective"], "max_latency_ms": 60_000},
              "models": {**DEMO_SETTINGS["models"], "candidates": ["dummy", "logistic"], "folds": 3}}
    (root / "settings.ini").write_text(settings_text(values))
    settings = load_settings(root / "settings.ini", environ={})
    clean = run_pipeline(settings, ["validate", "train", "evaluate"], {"tune_candidate": "none", "n_bootstrap": 50})
    assert clean.status == "succeeded", clean.exit_reason
    stopped = run_pipeline(settings, ["validate"], {"batch_path": str(root / "data" / "batch_planted.csv")})
    assert stopped.exit_code == 1, stopped.exit_reason


def expected(settings) -> dict:
    "What the dashboard must show, read independently: the champion's holdout metric from MLflow, the runs from their records."
    client = mlflow.MlflowClient(settings.tracking.uri)
    version = client.get_model_version_by_alias(settings.registered_model, "champion")
    value = client.get_run(version.run_id).data.metrics[f"holdout_{settings.objective.primary_metric}"]
    return {"champion": f"{value:.4f}", "runs": str(len(list_runs(settings))), "trained": version.tags["mlops_wb.run_id"]}


class Server:
    "`mlops-wb dashboard` in a process of its own, on a free port of 127.0.0.1."

    def __init__(self, settings, folder: Path, max_kernels: int):
        self.port = _free_port()
        self.log_path = folder / f"dashboard-{self.port}.log"
        self.log = open(self.log_path, "w")
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
               "MLOPS_WB_DASHBOARD_MAX_KERNELS": str(max_kernels)}
        self.proc = subprocess.Popen([str(BIN / "mlops-wb"), "dashboard", "--port", str(self.port), "--settings",
                                      str(settings.source)], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.url = f"http://127.0.0.1:{self.port}/"
        for _ in range(480):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the dashboard exited: {self.logs()}")
            if self.url in self.log_path.read_text() and "is filled with 1 kernel" in self.log_path.read_text():
                return  # listening, and the pool holds a preheated kernel
            time.sleep(0.25)
        raise RuntimeError(f"the dashboard did not start in 120 s: {self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def server(project, tmp_path_factory):
    served = Server(project, tmp_path_factory.mktemp("server"), max_kernels=4)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def open_dashboard(page, url: str, server: Server | None = None):
    "Load the dashboard and wait for the run picker (a widget) to render; page errors are collected on `page.errors`."
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    try:
        response = page.goto(url, wait_until="commit", timeout=120_000)
        page.wait_for_selector(".widget-dropdown select", timeout=120_000)
    except PlaywrightTimeout as e:
        raise AssertionError(f"{url}: the run picker did not render\n{server.logs() if server else ''}") from e
    return response


def shown(page, css: str) -> str:
    return page.inner_text(css).strip()


def pick_other_run(page, settings) -> None:
    "Pick the run that trained (the default is the newest, stopped at validate) and see its leaderboard replace the note."
    board = ".widget-html-content .mlops-wb-leaderboard"  # the picked run's (the stack shows one run at a time)
    assert "this run did not train" in page.inner_text(board)
    trained = next(r for r in list_runs(settings) if any(s.name == "train" for s in r.stages))
    page.locator(".widget-dropdown select").select_option(value=f"{trained.run_id} ({trained.status})")
    kept = f"Run {trained.run_id} kept {trained.outputs()['train'].candidate}"
    page.wait_for_function(f"document.querySelector('{board}').innerText.includes('{kept}')", timeout=60_000)
    assert "dummy" in page.inner_text(board)  # the leaderboard itself: the baseline is among the candidates


def test_dashboard_shows_mlflow_and_the_run_records_and_answers_the_run_picker(project, server, browser, tmp_path):
    page = browser.new_page()
    assert open_dashboard(page, server.url, server).status == 200
    want = expected(project)
    assert shown(page, ".mlops-wb-champion-value") == want["champion"]
    assert shown(page, ".mlops-wb-run-count") == want["runs"] == "2"
    assert want["trained"] in shown(page, ".mlops-wb-champion")
    assert "validation FAILED: 3 error(s)" in shown(page, ".mlops-wb-last-run")  # the planted batch's reason
    pick_other_run(page, project)
    tree = psutil.Process(server.proc.pid).children(recursive=True)  # the visitor's kernel is running
    preloaded = [p for p in tree if p.ppid() == server.proc.pid and "mlops_workbench.dashboard" in p.cmdline()]
    assert len(preloaded) == 1 and preloaded[0].children()  # the server's preloaded process, and the kernels it forked
    assert not [p.pid for p in tree if p.cmdline()[1:3] == ["-m", "ipykernel_launcher"]]  # no kernel started anew
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    html = page.content()
    assert not [s for s in SOURCE if s in html], "the page shows the notebook's code"
    assert not page.errors
    page.goto("about:blank")  # leave: the page's beacon shuts its kernel down
    page.close()


def open_offline(browser, page_file: Path):
    "A static page opened in a context of its own that fetches nothing but files; the URLs it asked for are on `page.fetched`."
    context = browser.new_context()
    fetched = []
    context.route("**/*", lambda route: (fetched.append(route.request.url), route.abort())
                  if not route.request.url.startswith(("file:", "data:")) else route.continue_())
    page = context.new_page()
    page.fetched = fetched
    open_dashboard(page, page_file.as_uri())
    return context, page


def wait_preheated(server: Server) -> None:
    "Wait until the pool's kernel has rendered the notebook: its CPU at rest for a second (Voila logs nothing then)."
    used = None
    for _ in range(240):
        total = 0.0
        for child in psutil.Process(server.proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "ipykernel" in " ".join(child.cmdline()):
                    total += sum(child.cpu_times()[:2])
        if used is not None and total > 0 and total - used < 0.05:
            return
        used = total
        time.sleep(1.0)
    raise RuntimeError(f"the preheated kernel did not come to rest in 240 s: {server.logs()}")


def test_a_run_recorded_after_the_kernel_preheated_shows_at_the_visit(project, browser, tmp_path):
    "Voila's pool renders the whole dashboard ahead; the visit reads the records again, so a run recorded meanwhile shows."
    root = tmp_path / "project"
    shutil.copytree(project.root, root)
    settings = load_settings(root / "settings.ini", environ={})
    served = Server(settings, tmp_path, max_kernels=2)
    try:
        wait_preheated(served)
        later = "29991231-235959-1a7e00"  # sorts first: the newest run
        RunRecord(run_id=later, project=settings.project.name, status="failed", started="2999-12-31T23:59:59+00:00",
                  exit_code=3, exit_reason="recorded after the preheat", run_dir=str(runs_dir(settings) / later)).save()
        page = browser.new_page()
        open_dashboard(page, served.url, served)
        assert shown(page, ".mlops-wb-run-count") == str(len(list_runs(settings))) == "3"
        assert f"Last run {later}" in shown(page, ".mlops-wb-last-run")
        assert "recorded after the preheat" in shown(page, ".mlops-wb-last-run")
        assert later in page.locator(".widget-dropdown select").inner_text()  # the picker's choices too
        page.goto("about:blank")
        page.close()
    finally:
        served.stop()


def test_static_snapshot_opens_offline_with_the_same_numbers(project, browser, tmp_path):
    out = tmp_path / "snapshot.html"
    assert main(["dashboard", "--static", str(out), "--settings", str(project.source)]) == 0
    refreshed = project.project.reports / "dashboard.html"  # every run refreshed it
    assert refreshed.is_file()
    for page_file in (out, refreshed):
        text = page_file.read_text()
        assert not [s for s in SOURCE if s in text], f"{page_file} shows the notebook's code"
        context, page = open_offline(browser, page_file)
        want = expected(project)
        assert shown(page, ".mlops-wb-champion-value") == want["champion"]
        assert shown(page, ".mlops-wb-run-count") == want["runs"]
        pick_other_run(page, project)  # the picker works with no kernel: it is linked in the page
        assert not page.fetched and not page.errors, (page.fetched, page.errors)
        context.close()


OWN_WIDGETS = """
import ipywidgets as widgets
from traitlets import Unicode

class Elsewhere(widgets.DOMWidget):  # a widget whose code the static page does not hold
    _model_name = Unicode("ElsewhereModel").tag(sync=True)
    _model_module = Unicode("elsewhere-widgets").tag(sync=True)
    _view_name = Unicode("ElsewhereView").tag(sync=True)
    _view_module = Unicode("elsewhere-widgets").tag(sync=True)

out = widgets.Output()
with out:
    print("printed in the output")
    display(widgets.HTML("<b class='inner'>a widget in the output</b>"))
described = widgets.Checkbox(description="<b class='bold'>in bold</b><img src=x onerror=\\"document.title='run'\\">",
                             description_allow_html=True)
widgets.VBox([widgets.Dropdown(options=["a", "b"]), out, described, Elsewhere()])
"""


def test_static_page_shows_what_a_projects_own_dashboard_may_add(browser, tmp_path):
    "An Output widget, a description in HTML (sanitized), and a widget the page cannot render, which alone shows an error."
    import nbclient
    import nbformat

    from mlops_workbench.publish import static_page
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(OWN_WIDGETS)])
    # a one-second cell, so a short timeout: the client can miss the wakeup for the cell's execute_reply and find it
    # only at the deadline (outputs and `idle` in, the reply waited out: 2 suite runs of 5 spent 300 s here; 3 of 23
    # runs of this cell alone with a 20 s timeout took 21 s, and passed)
    nbclient.NotebookClient(notebook, kernel_name="python3", store_widget_state=True, timeout=30).execute()
    page_file = tmp_path / "own.html"
    page_file.write_text(static_page(notebook, "own"))
    context, page = open_offline(browser, page_file)
    assert "printed in the output" in page.inner_text(".widget-output")
    assert page.inner_text(".widget-output .widget-html-content b.inner") == "a widget in the output"
    assert page.inner_text(".widget-checkbox b.bold") == "in bold"
    assert page.locator("[onerror]").count() == 0 and page.title() == "own"  # the description's handler is gone
    page.wait_for_selector(".jupyter-widgets-error-widget")  # the widget from elsewhere, and only it
    assert page.locator(".jupyter-widgets-error-widget").count() == 1
    assert not page.fetched and not page.errors, (page.fetched, page.errors)
    context.close()


def test_an_execute_request_over_the_kernel_websocket_is_refused(server, tmp_path):
    import urllib.request

    from tornado.websocket import websocket_connect
    with urllib.request.urlopen(server.url, timeout=120) as response:  # a visit: Voila hands out a kernel
        kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', response.read().decode()).group(1)
    marker = tmp_path / "pwned"

    def message(msg_type: str, content: dict) -> str:
        header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": uuid.uuid4().hex, "username": "",
                  "version": "5.3", "date": "2026-01-01T00:00:00Z"}
        return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content,
                           "channel": "shell", "buffers": []})

    async def attack() -> list[str]:
        ws = await websocket_connect(f"ws://127.0.0.1:{server.port}/api/kernels/{kernel_id}/channels")
        await ws.write_message(message("execute_request", {
            "code": f"open({str(marker)!r}, 'w').write('ran')", "silent": False, "store_history": False,
            "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}))
        await ws.write_message(message("kernel_info_request", {}))  # allowed: proves the channel is open
        seen, deadline = [], time.monotonic() + 20
        while time.monotonic() < deadline and "kernel_info_reply" not in seen:
            raw = await asyncio.wait_for(ws.read_message(), timeout=max(0.1, deadline - time.monotonic()))
            if raw is None:
                break
            seen.append(json.loads(raw)["header"]["msg_type"])
        await asyncio.sleep(3)  # time enough for the code to have run, had it been passed on
        ws.close()
        return seen

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's event loop
        seen = pool.submit(asyncio.run, attack()).result()
    assert "kernel_info_reply" in seen, seen
    assert not {"execute_reply", "execute_input", "execute_result", "stream"} & set(seen), seen
    assert not marker.exists(), "code sent from the page ran in the kernel"
    assert 'Received message of type "execute_request", which is not allowed' in server.logs()


def test_a_public_host_without_a_token_is_refused(project, cli):
    result = cli("dashboard", "--host", "0.0.0.0", "--settings", project.source)
    assert result.returncode == 2
    assert "host 0.0.0.0 is not the loopback address; serving it needs a token" in result.stderr
    assert "Voil" not in result.stdout + result.stderr  # refused before anything listened


def test_past_max_kernels_visitors_get_the_busy_page_and_the_first_keep_working(project, browser, tmp_path):
    capped = Server(project, tmp_path, max_kernels=2)
    try:
        pages = [browser.new_page() for _ in range(3)]
        responses = [page.goto(capped.url, wait_until="commit", timeout=120_000) for page in pages]  # all at once
        assert [r.status for r in responses] == [200, 200, 503], capped.logs()
        assert "The dashboard is busy" in pages[2].inner_text("body") and "max_kernels = 2" in pages[2].inner_text("body")
        for page in pages[:2]:
            page.wait_for_selector(".widget-dropdown select", timeout=120_000)
            pick_other_run(page, project)  # each kept its own live kernel
        pages[0].goto("about:blank")  # a visitor leaves (the page's beacon shuts its kernel down): the slot is free again
        again = browser.new_page()
        for _ in range(60):
            if again.goto(capped.url, wait_until="commit", timeout=120_000).status == 200:
                break
            again.wait_for_timeout(1000)
        again.wait_for_selector(".widget-dropdown select", timeout=120_000)
    finally:
        capped.stop()
