"""Shared pytest fixtures: the real `mlops-wb` console script, run in a subprocess."""

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# nbformat's jsonschema builds an IRI grammar when imported (seconds of CPU in each pytest worker) for a string
# format no notebook schema uses: blocked in the test processes, as `mlops-wb` blocks it (`cli.main`)
sys.modules.setdefault("rfc3987_syntax", None)

BIN = Path(sys.executable).parent
MLOPS_WB = BIN / "mlops-wb"


def pytest_unconfigure(config):
    "The process ends after this: its objects frozen, the interpreter's last collections skip them, as `mlops-wb` does."
    gc.freeze()


# A run in these tests leaves <reports>/dashboard.html alone (`[dashboard] refresh`): rendering it takes a kernel and
# seconds per run. The dashboard's own tests, the demo and the end-to-end run on SQLite keep the default, and pass
# `MLOPS_WB_DASHBOARD_REFRESH` themselves.
NO_REFRESH = {"MLOPS_WB_DASHBOARD_REFRESH": "false"}


def run_cli(*args: str, cwd: str | os.PathLike | None = None, env: dict | None = None, timeout: float = 900):
    "Run the installed `mlops-wb` with `args`; return the CompletedProcess (text output)."
    env = {**NO_REFRESH, **(env or {})}
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if not k.startswith("MLOPS_WB_") or k in (env or {})}
    return subprocess.run([str(MLOPS_WB), *map(str, args)], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session", autouse=True)
def preloaded_kernels():
    """One preloaded process per pytest worker that every run the tests start forks its stage kernels from, in
    this process or in a `mlops-wb run` it starts (`PreloadedKernels` shared through the environment): each run
    saves the seconds of imports a process of its own would cost. The fault tests strip it from the environment
    they give their runs, which then start their own, as a run does by default.

    It also imports what the stages import only as they run (`shared_modules`): a run's own preloaded process
    leaves those to its kernels, since its first stage would wait for them; a process that imports them once
    for the whole session saves them in every kernel.

    `make test` starts one such process for all the workers and the notebook tests (`tools/with_preloaded.py`):
    a worker given one in its environment uses it instead of starting its own."""
    from mlops_workbench.kernels import PRELOADED_KERNELS_ENV, PreloadedKernels, shared_modules
    given = os.environ.get(PRELOADED_KERNELS_ENV, "")
    if given and os.path.exists(given):
        yield PreloadedKernels.for_run()  # borrowed: its owner stops it
        return
    with PreloadedKernels(modules=shared_modules()) as shared:
        yield shared


def execute_notebook(notebook: str | os.PathLike, output: str | os.PathLike, cwd: str | os.PathLike | None = None,
                     **kwargs):
    """`papermill.execute_notebook` with `kernel_name="python3"`, in a real kernel forked from this worker's
    preloaded process (`preloaded_kernels`), as a run's stage kernels are: a kernel started anew would spend
    seconds importing what that process holds already. The kernel runs in `cwd` (default: this process's
    folder) with this process's environment, and is shut down afterwards."""
    import papermill
    from jupyter_core.utils import run_sync

    from mlops_workbench.kernels import PRELOADED_KERNELS_ENV, start_kernel
    cwd = Path(cwd or Path.cwd())
    km = start_kernel("python3", cwd, preloaded=os.environ.get(PRELOADED_KERNELS_ENV, ""))
    try:
        return papermill.execute_notebook(str(notebook), str(output), kernel_name="python3", cwd=str(cwd), km=km,
                                          progress_bar=False, **kwargs)
    finally:
        run_sync(km.shutdown_kernel)(now=True)  # a coroutine: the kernel manager is asynchronous


@pytest.fixture
def cli():
    "The `run_cli` function, as a fixture."
    return run_cli


HIDDEN_ON_A_TERMINAL = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def run_in_process(*args: str, cwd: str | os.PathLike | None = None, env: dict | None = None, timeout: float = 0):
    """What `run_cli` returns, from `cli.main` (what the `mlops-wb` script calls) run in this process.

    For tests of what a command prints and returns, where the process boundary plays no part: a new Python
    process per command costs seconds of imports. Warnings a terminal would show (all but the deprecation
    kinds Python hides outside `__main__`) are added to stderr, every time, as a terminal would print them."""
    import contextlib
    import io
    import warnings

    from mlops_workbench.cli import main
    env = {**NO_REFRESH, **(env or {})}
    out, err = io.StringIO(), io.StringIO()
    saved_env, here = dict(os.environ), Path.cwd()
    os.environ.update(env or {})
    for key in [k for k in os.environ if k.startswith("MLOPS_WB_") and k not in (env or {})]:
        del os.environ[key]
    if cwd is not None:
        os.chdir(cwd)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            warnings.simplefilter("always")
            code = main(list(map(str, args)))
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved_env)
    shown = "".join(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}\n" for w in caught
                    if not issubclass(w.category, HIDDEN_ON_A_TERMINAL))
    return subprocess.CompletedProcess(["mlops-wb", *map(str, args)], code, out.getvalue(), err.getvalue() + shown)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    "The processes started by `pid`, and theirs (Linux)."
    try:
        children = [int(c) for t in Path(f"/proc/{pid}/task").iterdir() for c in (t / "children").read_text().split()]
    except OSError:
        return []
    return [d for c in children for d in [c, *_descendants(c)]]


@pytest.fixture
def voila():
    """Start Voila on a notebook, bound to 127.0.0.1; yields a function(notebook, cwd) -> URL. Stopped at teardown.

    The URL is the one Voila announces in its log, on a port it may not change (`port_retries=0`): a socket that
    merely accepts connections could belong to another process (a kernel), and a page load there would hang."""
    servers = []

    def start(notebook: Path, cwd: Path) -> str:
        port = _free_port()
        log_path = Path(cwd) / f"voila-{port}.log"
        log = open(log_path, "w")
        proc = subprocess.Popen([str(BIN / "voila"), str(notebook), "--no-browser", f"--port={port}",
                                 "--Voila.ip=127.0.0.1", "--show_tracebacks=True", "--Voila.port_retries=0"],
                                cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                                     "PYTHONFAULTHANDLER": "1"})
        servers.append((proc, log, log_path))
        url = f"http://127.0.0.1:{port}/"
        for _ in range(240):
            if proc.poll() is not None:
                raise RuntimeError(f"voila exited: {log_path.read_text()[-2000:]}")
            if url in log_path.read_text():  # announced: listening on our port, and nothing else is
                return url
            time.sleep(0.25)
        raise RuntimeError(f"voila did not announce {url} in 60 s: {log_path.read_text()[-2000:]}")

    def logs() -> str:
        "Voila's logs, after its kernels were made to print every thread's stack (SIGABRT, `PYTHONFAULTHANDLER`)."
        for proc, _, _ in servers:
            for kernel in _descendants(proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(kernel, signal.SIGABRT)
        time.sleep(2)
        return "\n".join(f"--- {p.name}\n{p.read_text()[-12000:]}" for _, _, p in servers if p.exists())

    start.logs = logs
    yield start
    for proc, log, _ in servers:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def browser_page():
    """A page in Debian's headless chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        yield page
        browser.close()


def _postgres_bin() -> Path:
    "The folder of Debian's PostgreSQL server binaries (`initdb`, `pg_ctl`), newest major version first."
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]), reverse=True)
    if not found:
        raise RuntimeError("PostgreSQL's server binaries are missing: `make postgres` installs Debian's postgresql")
    return found[0].parent


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL cluster in a temporary folder, on 127.0.0.1: yields a function(dbname) -> SQLAlchemy URL
    that creates the database. The server refuses to run as root, so as root it runs as Debian's `postgres` user, in
    a folder of its own under the temporary directory (pytest's folders are closed to other users)."""
    import pwd
    import shutil
    import tempfile
    binary = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="mlops-wb-pg-"))
    data, port = folder / "data", _free_port()
    as_user = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        shutil.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}

    def pg(tool: str, *args: str):
        done = subprocess.run([*as_user, str(binary / tool), *args], capture_output=True, text=True, env=env,
                              cwd=folder)
        if done.returncode:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")

    pg("initdb", "-D", str(data), "-U", "wb", "-A", "trust", "-E", "UTF8")
    pg("pg_ctl", "-D", str(data), "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off", "-l", str(folder / "log"),
       "-w", "start")

    def database(name: str) -> str:
        pg("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "wb", name)
        return f"postgresql+psycopg://wb@127.0.0.1:{port}/{name}"

    yield database
    pg("pg_ctl", "-D", str(data), "-m", "immediate", "stop")
    shutil.rmtree(folder, ignore_errors=True)
