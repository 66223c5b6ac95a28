"""The JupyterLab journey: a real JupyterLab on 127.0.0.1 (with a token) serves the demo project, Debian's headless
chromium opens each stage notebook, runs all its cells in a real kernel, and the widgets are clicked.
Screenshots go to tests/output/jupyterlab/ (the README's come from there)."""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import BIN, CHROMIUM, CHROMIUM_ARGS, _free_port
from test_relocate import fast_demo

OUTPUT = Path(__file__).parent / "output" / "jupyterlab"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    "The demo project (test-sized settings) served by JupyterLab; yields (base URL, token, project folder)."
    home = tmp_path_factory.mktemp("lab")
    project = home / "demo"
    fast_demo(project)
    settings = home / "user-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # every cell in the page (no windowing), so every output can be checked
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none", "autoStartDefaultKernel": True}))
    notices = home / "user-settings" / "@jupyterlab" / "apputils-extension"
    notices.mkdir(parents=True)  # no news prompt over the page
    (notices / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    port, token = _free_port(), os.urandom(16).hex()
    log_path = home / "jupyterlab.log"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_DATA_DIR": str(home / "data"), "HOME": str(home)}
    env = {k: v for k, v in env.items() if not k.startswith("MLOPS_WB_")}
    args = [str(BIN / "jupyter-lab"), "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={project}",
            f"--LabApp.user_settings_dir={home / 'user-settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
            "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                raise RuntimeError(f"jupyter-lab exited: {log_path.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.25)
        else:
            raise RuntimeError(f"jupyter-lab did not answer in 60 s: {log_path.read_text()[-3000:]}")
        yield base, token, project, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def lab_page(lab):
    "One chromium page for the whole module, with its page errors collected."
    from playwright.sync_api import sync_playwright
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        yield page
        browser.close()


# queued or run cells show [*] or [n] (a busy kernel does not say so: it is busy a moment when the page connects)
STARTED = r"""() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')]
  .some(c => /\[(\*|\d+)\]/.test(c.textContent))"""
ERROR = "[data-mime-type='application/vnd.jupyter.error']"  # a cell's traceback
# "done": every cell ran; "lost": nothing queued any more, yet not every cell ran, with the kernel idle (JupyterLab
# replaced a kernel whose websocket failed, which drops the queue, as a user sees: the cells go back to [ ])
DONE_OR_LOST = """() => {
  const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
  if (!cells.length) return false;
  if (cells.every(c => /\\[\\d+\\]/.test(c.textContent))) return "done";
  const idle = document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']");
  return idle && !cells.some(c => /\\[\\*\\]/.test(c.textContent)) ? "lost" : false;
}"""


def kernel_connected(lab, stage: str, timeout: float = 120) -> None:
    "Wait until the server says the stage notebook's kernel is idle with the page's websocket connected."
    base, token, _, log_path = lab
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=10) as response:
            kernels = [s["kernel"] for s in json.load(response) if s["path"].endswith(f"{stage}.ipynb")]
        if any(k["connections"] > 0 and k["execution_state"] == "idle" for k in kernels):
            return
        time.sleep(0.25)
    raise AssertionError(f"{stage}: no connected, idle kernel in {timeout:g} s\n{log_path.read_text()[-3000:]}")


def run_all(page, lab, stage: str, widget: str | None, timeout: float = 240_000):
    """Open a stage notebook in JupyterLab, Run All, wait for every cell to finish; assert no cell shows an error,
    the widget rendered and no "Loading widget..." is left. Returns the notebook panel's locator."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    base, token, _, log_path = lab
    page.goto(f"{base}/lab/tree/notebooks/{stage}.ipynb?token={token}&reset", wait_until="domcontentloaded")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    try:
        panel.locator(".jp-Notebook-cell").first.wait_for(timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
        kernel_connected(lab, stage)  # the indicator says idle before the kernel is: a Run All then is dropped
        for _ in range(4):  # Run > Run All Cells, as a user does; again if it never started or its run was lost
            dialog = page.locator(".jp-Dialog button", has_text="Select")
            if dialog.count():  # JupyterLab asked which kernel (its kernel list came late): the one proposed
                dialog.first.click()
                page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
            panel.locator(".jp-Notebook-cell").first.click()
            page.locator(".lm-MenuBar-item", has_text="Run").first.click()
            page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
            try:
                page.wait_for_function(STARTED, timeout=60_000, polling=500)
            except PlaywrightTimeout:
                continue
            if page.wait_for_function(DONE_OR_LOST, timeout=timeout, polling=500).json_value() == "done":
                break
            page.wait_for_timeout(5_000)  # lost: and still so a moment later (not a gap between two cells)
            if page.evaluate(DONE_OR_LOST) == "done" or panel.locator(ERROR).count():  # a failed cell stops Run All
                break
        else:
            raise AssertionError("Run All did not run every cell in 4 attempts")
        if widget and not panel.locator(ERROR).count():
            panel.locator(widget).first.wait_for(timeout=60_000)
        page.wait_for_function("() => !document.body.innerText.includes('Loading widget')", timeout=60_000)
    except Exception as e:
        page.screenshot(path=OUTPUT / f"{stage}-failed.png", full_page=True)
        raise AssertionError(f"{stage}: {e}\n{log_path.read_text()[-3000:]}") from e
    errors = panel.locator(ERROR)
    assert errors.count() == 0, f"{stage}: a cell shows an error: {errors.first.inner_text()[:2000]}"
    return panel


def shoot(page, locator, name: str) -> Path:
    "Save a screenshot of one widget under the test output folder."
    path = OUTPUT / f"{name}.png"
    height = locator.bounding_box()["height"]
    page.set_viewport_size({"width": 1280, "height": int(min(height + 300, 4000))})  # the whole widget on the screen
    locator.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    locator.screenshot(path=path)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert path.stat().st_size > 5_000
    return path


def check_explore(lab, page):
    "The explore stage runs in JupyterLab and its explorer answers a column pick."
    panel = run_all(page, lab, "explore", ".widget-tab")
    explorer = panel.locator(".mlops-wb-explorer").first  # the stage's parameters form comes first
    assert "344" in explorer.inner_text()  # the header states the rows
    shoot(page, explorer, "explorer")
    explorer.get_by_text("Column", exact=True).first.click()
    explorer.locator(".widget-dropdown select").first.select_option("island")
    page.wait_for_function("() => document.querySelector('.mlops-wb-explorer').innerText.includes('Torgersen')", timeout=60_000)
    shoot(page, explorer, "explorer-column")
    assert not page.errors


def check_validate(lab, page):
    "The validate stage runs in JupyterLab and its contract review validates the batch."
    panel = run_all(page, lab, "validate", ".mlops-wb-review")
    review = panel.locator(".mlops-wb-review").first
    shoot(page, review, "contract-review")
    assert "validation passed" not in review.inner_text()
    review.locator("button", has_text="Validate a sample").click()
    page.wait_for_function("() => document.querySelector('.mlops-wb-review').innerText.includes('validation passed')",
                           timeout=60_000)
    assert not page.errors


def check_train_and_evaluate(lab, page):
    "The train stage runs in JupyterLab and its comparison sorts; then the evaluate stage promotes a champion."
    panel = run_all(page, lab, "train", ".widget-select-multiple")
    comparison = panel.locator(".mlops-wb-compare").first
    comparison.locator("img").first.wait_for(timeout=120_000)
    text = comparison.locator(".mlops-wb-leaderboard").inner_text()
    assert text.index("logistic") < text.index("dummy")  # best first: the baseline ranks last
    shoot(page, comparison, "model-comparison")
    comparison.locator("button", has_text="ascending").click()
    page.wait_for_function("""() => { const t = document.querySelector('.mlops-wb-leaderboard').innerText;
                                     return t.indexOf('dummy') < t.indexOf('logistic'); }""", timeout=60_000)
    assert not page.errors
    run_all(page, lab, "evaluate", None)
    assert "champion" in page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)").inner_text()


def test_the_stage_notebooks_run_in_jupyterlab_and_their_widgets_answer(lab, lab_page):
    # one test, so that one JupyterLab and one demo project serve every stage even when pytest-xdist spreads tests
    check_explore(lab, lab_page)
    check_validate(lab, lab_page)
    check_train_and_evaluate(lab, lab_page)
