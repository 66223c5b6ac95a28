"""Write environment.yml from pyproject.toml, so conda users get the same dependencies (a test checks it)."""

from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
# Packages published on PyPI only, installed through conda's pip section.
PIP_ONLY = {"fg-data-profiling", "palmerpenguins", "nbdev", "skops", "voila", "pytest-timeout", "psycopg[binary]"}

meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
reqs = list(meta["dependencies"]) + [r for extra in meta.get("optional-dependencies", {}).values() for r in extra]
conda = [r for r in reqs if r.split(">")[0].split("<")[0].split("=")[0] not in PIP_ONLY]
pip = [r for r in reqs if r not in conda]
lines = ["# generated from pyproject.toml by tools/sync_environment.py: tests/test_environment.py keeps them in step",
         "name: mlops-workbench", "channels:", "  - conda-forge", "dependencies:",
         f"  - python{meta['requires-python']}", "  - pip"]
lines += [f'  - "{r}"' for r in conda]
lines += ["  - pip:"] + [f'      - "{r}"' for r in pip]
(ROOT / "environment.yml").write_text("\n".join(lines) + "\n")
print("wrote environment.yml")
