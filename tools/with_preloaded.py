"""Run a command with one preloaded-kernels process that every pipeline run it starts shares.

`make test` runs pytest's workers and the notebook tests through it: their runs fork their stage kernels from
one process that imported ipykernel, the steps, MLflow and what the stages import as they run, once, instead
of one such process per run or per pytest worker (`kernels.PreloadedKernels`, `kernels.shared_modules`).
Usage: python tools/with_preloaded.py COMMAND [ARGS...]
"""

import subprocess
import sys

from mlops_workbench.kernels import PreloadedKernels, shared_modules

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    with PreloadedKernels(modules=shared_modules()):
        sys.exit(subprocess.call(sys.argv[1:]))
