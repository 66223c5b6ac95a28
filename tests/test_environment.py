"""environment.yml (conda) and pyproject.toml must list the same dependencies with the same bounds."""

import re
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _split(requirement: str) -> tuple[str, str]:
    "A requirement as (normalised name, specifier without spaces)."
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower(), m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"]) + [r for extra in meta.get("optional-dependencies", {}).values() for r in extra]
    return dict(map(_split, reqs))


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    reqs = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            reqs.extend(dep.get("pip", []))
        else:
            reqs.append(dep)
    return {name: spec for name, spec in map(_split, reqs) if name not in ("python", "pip")}


def test_environment_yml_lists_the_pyproject_dependencies():
    assert conda_requirements() == pyproject_requirements()


def test_environment_yml_python_matches_requires_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pythons = [d for d in env["dependencies"] if isinstance(d, str) and _split(d)[0] == "python"]
    assert pythons == [f"python{meta['requires-python']}"]
