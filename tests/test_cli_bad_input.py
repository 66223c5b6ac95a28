"""Each bad data input named in the foundation issue, driven through the real CLI: one line on stderr, exit 2."""

import pytest
from conftest import run_in_process

from mlops_workbench.data import demo_frame


@pytest.fixture
def cli():
    "The CLI run in this process: these tests are about what a command prints and returns, not about processes."
    return run_in_process


CASES = {
    "missing file": ("absent.csv", None, "species", "absent.csv: file not found"),
    "empty file": ("empty.csv", b"", "species", "empty.csv: the file is empty"),
    "header only": ("header.csv", b"species,island,mass\n", "species", "header.csv: the file has a header but no data rows"),
    "not a text file": ("binary.csv", bytes(range(256)) * 8, "species", "binary.csv: not a text file: byte 128 is not UTF-8"),
    "duplicate column names": ("dupes.csv", b"species,mass,mass\nAdelie,1,2\nGentoo,3,4\n", "species",
                               "dupes.csv: duplicate column names: mass"),
    "unsupported extension": ("penguins.xlsx", b"PK\x03\x04", "species", "penguins.xlsx: unsupported file type '.xlsx'"),
    "missing target column": ("penguins.csv", "frame", "weight", "penguins.csv: target column 'weight' not found"),
    "single-class target": ("adelie.csv", "adelie", "species",
                            "target column 'species' has a single class ('Adelie'); classification needs two or more"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_data_is_one_line_and_exit_2(case, tmp_path, cli):
    name, content, target, message = CASES[case]
    path = tmp_path / name
    if content == "frame":
        demo_frame().to_csv(path, index=False)
    elif content == "adelie":
        demo_frame().query("species == 'Adelie'").to_csv(path, index=False)
    elif content is not None:
        path.write_bytes(content)
    result = cli("init", tmp_path / "project", "--data", path, "--target", target)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mlops-wb: error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "project" / "settings.ini").exists()


def test_debug_shows_the_traceback(tmp_path, cli):
    result = cli("--debug", "init", tmp_path / "p", "--data", tmp_path / "absent.csv", "--target", "y")
    assert result.returncode == 2
    assert "Traceback" in result.stderr and "file not found" in result.stderr.splitlines()[-1]
