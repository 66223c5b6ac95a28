"""Files as people write them, through the real `mlops-wb` console script: separators, encodings, ragged rows,
numbers at the float limits and wide tables. Each test asserts what the user sees on stdout and stderr."""

import codecs
import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import run_in_process

from mlops_workbench.data import demo_frame


@pytest.fixture
def cli():
    "The CLI run in this process: these tests are about what a command prints and returns, not about processes."
    return run_in_process


ROWS = "name{sep}city{sep}price{sep}y\n" + "".join(
    f"{name}{{sep}}{city}{{sep}}{price}{{sep}}{y}\n" for name, city, price, y in
    [("José", "São Paulo", 3.5, "a"), ("Müller", "Zürich", 4.25, "b"), ("Nuño", "Logroño", 5.0, "a"),
     ("Françoise", "Besançon", 6.75, "b"), ("Øystein", "Tromsø", 2.0, "a"), ("Ana", "Lisboa", 1.5, "b")] * 3)

FILES = {  # name: (bytes, the separator and encoding the user must see)
    "semicolons.csv": (ROWS.format(sep=";").encode("utf-8"), "';' (detected), encoding utf-8 (detected)"),
    "tabs.csv": (ROWS.format(sep="\t").encode("utf-8"), "'\\t' (detected), encoding utf-8 (detected)"),
    "latin1.csv": (ROWS.format(sep=",").encode("latin-1"), "',' (detected), encoding cp1252 (detected)"),
    "cp1252.csv": ((ROWS.format(sep=";") + "Café;Paris;9.5 €;a\n").encode("cp1252"),
                   "';' (detected), encoding cp1252 (detected)"),
    "bom.csv": (codecs.BOM_UTF8 + ROWS.format(sep=",").encode("utf-8"), "',' (detected), encoding utf-8-sig (detected)"),
}


def quiet(result) -> None:
    "The command succeeded and wrote nothing to stderr: no warning, no traceback."
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


@pytest.mark.parametrize("name", list(FILES))
def test_a_file_loads_with_its_separator_and_encoding_stated(name, tmp_path, cli):
    content, how = FILES[name]
    (tmp_path / name).write_bytes(content)
    result = cli("profile", name, "--out", tmp_path / "p.html", "--mode", "minimal", cwd=tmp_path)
    quiet(result)
    assert f"read as CSV with separator {how}" in result.stdout
    assert f"{name}: {18 + name.startswith('cp1252')} rows x 4 columns" in result.stdout
    summary = json.loads(cli("profile", name, "--out", tmp_path / "p.html", "--mode", "minimal", "--json",
                             cwd=tmp_path).stdout)
    assert list(summary["variables"]) == ["name", "city", "price", "y"]
    tops = {value for value, _ in summary["variables"]["city"]["top"]}
    assert {"São Paulo", "Zürich", "Logroño", "Tromsø"} <= tops
    assert summary["source"]["path"] == name
    banner = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "read as CSV with separator" in banner


def test_given_separator_and_encoding_win_and_are_stated(tmp_path, cli):
    (tmp_path / "latin1.csv").write_bytes(FILES["latin1.csv"][0])
    result = cli("profile", "latin1.csv", "--out", tmp_path / "p.html", "--mode", "minimal", "--encoding", "latin-1",
                 "--sep", ",", cwd=tmp_path)
    quiet(result)
    assert "read as CSV with separator ',' (given), encoding latin-1 (given)" in result.stdout


def test_settings_sep_and_encoding_apply_and_the_options_override_them(tmp_path, cli):
    (tmp_path / "semicolons.csv").write_bytes(FILES["semicolons.csv"][0])
    (tmp_path / "settings.ini").write_text("[data]\nsep = ,\nencoding = utf-8\n", encoding="utf-8")
    result = cli("profile", "semicolons.csv", "--out", tmp_path / "p.html", "--mode", "minimal", cwd=tmp_path)
    quiet(result)
    assert "read as CSV with separator ',' (given), encoding utf-8 (given)" in result.stdout
    assert "semicolons.csv: 18 rows x 1 columns" in result.stdout  # the settings said so: visibly one column
    result = cli("profile", "semicolons.csv", "--out", tmp_path / "p.html", "--mode", "minimal", "--sep", ";", cwd=tmp_path)
    quiet(result)
    assert "separator ';' (given)" in result.stdout and "semicolons.csv: 18 rows x 4 columns" in result.stdout


def test_contract_validate_and_drift_read_a_semicolon_latin1_file(tmp_path, cli):
    frame = demo_frame().assign(island=lambda f: f["island"].str.replace("Biscoe", "Bïscoe"))
    frame.to_csv(tmp_path / "ref.csv", index=False, sep=";", encoding="latin-1")
    result = cli("contract", "infer", "ref.csv", "--out", "contract.yaml", "--target", "species", "--json", cwd=tmp_path)
    quiet(result)
    assert len(json.loads(result.stdout)["columns"]) == 8
    assert "Bïscoe" in (tmp_path / "contract.yaml").read_text(encoding="utf-8")
    quiet(cli("validate", "ref.csv", "--contract", "contract.yaml", cwd=tmp_path))
    quiet(cli("drift", "ref.csv", "ref.csv", "--encoding", "latin-1", cwd=tmp_path))


@pytest.mark.parametrize("content, message", [
    (b"a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n11,12,13\n", "ragged.csv: line 4 has 4 fields, but the header has 3 (separator ',')"),
    (b"a,b\n1,2,3\n", "ragged.csv: line 2 has 3 fields, but the header has 2 (separator ',')"),
    (b'a,b\n1,2\n3,"open\n4,5\n', "ragged.csv: a quoted field starting at row 2 (the header is row 0) is never closed"),
])
def test_a_row_pandas_cannot_parse_is_exit_2_naming_file_and_line(content, message, tmp_path, cli):
    (tmp_path / "ragged.csv").write_bytes(content)
    for command in (["profile", "ragged.csv"], ["contract", "infer", "ragged.csv", "--out", "c.yaml"]):
        result = cli(*command, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [f"mlops-wb: error: {message}"]


def test_an_unknown_or_wrong_encoding_is_exit_2_naming_it(tmp_path, cli):
    (tmp_path / "latin1.csv").write_bytes(FILES["latin1.csv"][0])
    result = cli("profile", "latin1.csv", "--encoding", "klingon", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "mlops-wb: error: latin1.csv: unknown encoding 'klingon' (a Python codec name, e.g. utf-8, cp1252, latin-1)"]
    result = cli("validate", "latin1.csv", "--encoding", "utf-8", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["mlops-wb: error: latin1.csv: cannot decode byte 21 as utf-8 (the encoding given)"]


def test_numbers_at_the_float_limits_are_summarised_finitely_and_silently(tmp_path, cli):
    huge = [1e308, -1e308, 1.7e308, -1.6e308, 1.2e308, -1.1e308, 5.0, 7.0]
    frame = pd.DataFrame({"huge": huge * 5, "inf": [np.inf, -np.inf, np.nan, 1, 2, 3, 4, 5] * 5,
                          "x": np.arange(40.0), "y": ["a", "b"] * 20})
    frame.to_csv(tmp_path / "extreme.csv", index=False)
    assert "inf" in (tmp_path / "extreme.csv").read_text() and "1e+308" in (tmp_path / "extreme.csv").read_text()
    result = cli("profile", "extreme.csv", "--out", tmp_path / "e.html", "--json", cwd=tmp_path)
    quiet(result)
    out = json.loads(result.stdout)
    huge_stats = out["variables"]["huge"]
    assert all(isinstance(huge_stats[k], float) and math.isfinite(huge_stats[k]) for k in ("mean", "std", "skew"))
    assert "extreme" in huge_stats["flags"] and "infinite" in out["variables"]["inf"]["flags"]
    assert out["report"]["left_out"] == ["huge"]
    assert "left out for values beyond ±1e+150" in out["report"]["statement"]
    text = cli("profile", "extreme.csv", "--out", tmp_path / "e.html", cwd=tmp_path)
    quiet(text)
    assert "infinite, extreme" not in text.stdout and "extreme" in text.stdout


def test_a_wide_table_is_profiled_without_the_pairwise_parts_and_says_so(tmp_path, cli):
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(50, 2000))).add_prefix("x").to_csv(tmp_path / "wide.csv", index=False)
    # the report's two limits lowered from 100 and 50 (each column it draws costs a figure); the quick summary's
    # correlations keep their own cap of 100
    limits = {"MLOPS_WB_PROFILE_MAX_COLUMNS": "6", "MLOPS_WB_PROFILE_MAX_COLUMNS_FULL": "3"}
    result = cli("profile", "wide.csv", "--out", tmp_path / "w.html", "--json", cwd=tmp_path, env=limits)
    quiet(result)
    out = json.loads(result.stdout)
    report = out["report"]
    assert (report["columns"], report["report_columns"], report["pairwise"]) == (2000, 6, False)
    assert report["statement"].startswith("Mode: full (full settings without the pairwise parts (correlations, interactions, "
                                          "missing-value diagrams)) on all 50 rows (no sample) x 6 of 2,000 columns")
    assert "2,000 columns exceed the report's 6 ([profile] max_columns)" in report["statement"]
    assert "6 columns exceed [profile] max_columns_full = 3" in report["statement"]
    assert out["correlations"]["columns"] == 100 and out["correlations"]["numeric_columns"] == 2000
    assert "correlations between the first 100 of 2,000 numeric columns only (at most 100)" in out["notes"]
    page = (tmp_path / "w.html").read_text(encoding="utf-8")
    assert 'data-report-columns="6" data-pairwise="false"' in page and "without the pairwise parts" in page
    written = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    assert len(written["variables"]) == 6 and written["correlations"] == {} and written["missing"] == {}
