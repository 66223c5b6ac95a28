"""Shared pytest fixtures: the real `mlops-wb` console script, run in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
MLOPS_WB = BIN / "mlops-wb"


def run_cli(*args: str, cwd: str | os.PathLike | None = None, env: dict | None = None, timeout: float = 900):
    "Run the installed `mlops-wb` with `args`; return the CompletedProcess (text output)."
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if not k.startswith("MLOPS_WB_") or k in (env or {})}
    return subprocess.run([str(MLOPS_WB), *map(str, args)], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def cli():
    "The `run_cli` function, as a fixture."
    return run_cli
