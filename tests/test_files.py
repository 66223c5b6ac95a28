"""Files the workbench writes are readable by whoever the umask lets read them, as any other file of the process."""

import os
import stat
import subprocess
import sys
from pathlib import Path

from mlops_workbench.data import demo_frame

MLOPS_WB = Path(sys.executable).parent / "mlops-wb"


def _run_with_umask(mask: int, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_WB_")}
    return subprocess.run([str(MLOPS_WB), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
                          preexec_fn=lambda: os.umask(mask))


def test_reports_and_contracts_get_the_umask_mode(tmp_path):
    demo_frame().to_csv(tmp_path / "penguins.csv", index=False)
    written = _run_with_umask(0o022, "contract", "infer", "penguins.csv", "--out", "shared/contract.yaml", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    checked = _run_with_umask(0o022, "validate", "penguins.csv", "--contract", "shared/contract.yaml",
                              "--report", "shared/validation.html", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    for name in ("contract.yaml", "validation.html", "validation.json"):
        assert stat.S_IMODE((tmp_path / "shared" / name).stat().st_mode) == 0o644, name
    private = _run_with_umask(0o077, "contract", "infer", "penguins.csv", "--out", "private.yaml", cwd=tmp_path)
    assert private.returncode == 0, private.stderr
    assert stat.S_IMODE((tmp_path / "private.yaml").stat().st_mode) == 0o600
