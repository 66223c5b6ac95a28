"""Bad input to `contract infer` / `validate`: a clear one-line error (exit 2) or a reported violation (exit 1),
never a traceback."""

import json

import pandas as pd
import pytest
from conftest import run_in_process

from mlops_workbench.contract import contract_yaml, infer_contract
from mlops_workbench.data import demo_frame


@pytest.fixture
def cli():
    "The CLI run in this process: these tests are about what a command prints and returns, not about processes."
    return run_in_process


@pytest.fixture
def project(tmp_path):
    ref = demo_frame()
    ref.to_csv(tmp_path / "ref.csv", index=False)
    text = contract_yaml(infer_contract(ref, target="species"))
    (tmp_path / "contract.yaml").write_text(text)
    return tmp_path, ref, text


def _line(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def _one_line_error(r, code: int) -> str:
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlops-wb: error: "), r.stderr
    return lines[0]


@pytest.mark.parametrize("old, new, message", [
    ("      range: {", "      rnage: {", "unknown check 'rnage'"),
    ("min: 29.35", "min: small", "range.min = 'small': expected a number or null"),
    ("max_share: 0.0,", "max_share: none,", "missing.max_share = 'none': expected a number between 0 and 1"),
    ("kind: numeric", "kind: number", "bill_length_mm.kind = 'number': expected one of numeric"),
    ("role: target", "role: label", "species.role = 'label': expected one of feature, target, id, ignored"),
    ("version: 1", "version: one", "version = 'one': expected a whole number >= 1"),
    ("  row_count: {", "  row_count: {sevrity: warn, ", "unknown setting 'sevrity' of check 'row_count'"),
])
def test_contract_file_mistakes_name_the_line(cli, project, old, new, message):
    tmp, _, text = project
    assert old in text
    broken = text.replace(old, new, 1)
    (tmp / "bad.yaml").write_text(broken)
    err = _one_line_error(cli("validate", "ref.csv", "--contract", "bad.yaml", cwd=tmp), 2)
    assert err.startswith(f"mlops-wb: error: bad.yaml line {_line(broken, new.strip())}: "), err
    assert message in err


@pytest.mark.parametrize("content, message", [
    ("version: [1\n", "bad.yaml line 2: not valid YAML"),
    ("\tversion: 1\n", "bad.yaml line 1: not valid YAML"),
    ("- a\n- b\n", "bad.yaml line 1: a contract is a mapping"),
    ("version: 1\ntable: {}\n", "bad.yaml line 1: the contract lacks 'columns'"),
    ("version: 1\nversion: 2\ntable: {}\ncolumns: {}\n", "bad.yaml line 2: 'version' appears twice"),
    ("", "bad.yaml line 1: a contract is a mapping"),
])
def test_contract_file_that_is_not_a_contract(cli, project, content, message):
    tmp, _, _ = project
    (tmp / "bad.yaml").write_text(content)
    assert message in _one_line_error(cli("validate", "ref.csv", "--contract", "bad.yaml", cwd=tmp), 2)


def test_missing_contract_file_and_bad_data(cli, project):
    tmp, _, _ = project
    assert "none.yaml: contract file not found" in _one_line_error(cli("validate", "ref.csv", "--contract", "none.yaml", cwd=tmp), 2)
    assert "nope.csv: file not found" in _one_line_error(cli("validate", "nope.csv", "--contract", "contract.yaml", cwd=tmp), 2)
    (tmp / "header.csv").write_text(",".join(demo_frame().columns) + "\n")
    err = _one_line_error(cli("validate", "header.csv", "--contract", "contract.yaml", cwd=tmp), 2)
    assert "header.csv: the file has a header but no data rows" in err
    assert "target column 'label' not found" in _one_line_error(cli("contract", "infer", "ref.csv", "--out", "x.yaml", "--target", "label", cwd=tmp), 2)
    assert _one_line_error(cli("validate", "ref.csv", "--contract", "contract.yaml", "--fail-on", "fatal", cwd=tmp), 2)


def test_empty_parquet_batch_is_refused(cli, project):
    tmp, ref, _ = project
    ref.iloc[:0].to_parquet(tmp / "empty.parquet")
    assert "has columns but no rows" in _one_line_error(cli("validate", "empty.parquet", "--contract", "contract.yaml", cwd=tmp), 2)


def _failures(r) -> set[tuple[str, str]]:
    assert "Traceback" not in r.stderr
    return {(f["column"], f["check"]) for f in json.loads(r.stdout)["failures"]}


def test_batch_with_missing_extra_and_mistyped_columns_is_reported(cli, project):
    tmp, ref, _ = project
    odd = ref.drop(columns=["island", "species"]).assign(colour="red")
    odd["bill_depth_mm"] = odd["bill_depth_mm"].astype(object)
    odd.loc[[3, 7], "bill_depth_mm"] = "deep"
    odd["year"] = "last year"
    odd.to_csv(tmp / "odd.csv", index=False)
    r = cli("validate", "odd.csv", "--contract", "contract.yaml", "--json", cwd=tmp)
    assert r.returncode == 1
    # species is the target: not required in a batch; island is
    assert _failures(r) == {("", "required_columns"), ("", "extra_columns"), ("bill_depth_mm", "dtype"), ("year", "dtype")}
    failures = {f["check"] + ":" + f["column"]: f for f in json.loads(r.stdout)["failures"]}
    assert failures["required_columns:"]["examples"] == [{"column": "island"}]
    assert failures["extra_columns:"]["examples"] == [{"column": "colour"}]
    assert [e["row"] for e in failures["dtype:bill_depth_mm"]["examples"]] == [3, 7]
    assert failures["dtype:year"]["count"] == len(ref)


def test_batch_in_a_different_column_order_passes(cli, project):
    tmp, ref, _ = project
    ref[list(reversed(ref.columns))].to_csv(tmp / "reordered.csv", index=False)
    r = cli("validate", "reordered.csv", "--contract", "contract.yaml", "--json", cwd=tmp)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["failures"] == []


def test_numbers_written_as_text_still_validate(cli, project):
    tmp, ref, _ = project
    text = ref.assign(bill_length_mm=ref["bill_length_mm"].map(lambda x: None if pd.isna(x) else str(x)))
    text.to_parquet(tmp / "text.parquet")
    assert pd.read_parquet(tmp / "text.parquet")["bill_length_mm"].dtype == object
    r = cli("validate", "text.parquet", "--contract", "contract.yaml", "--json", cwd=tmp)
    assert r.returncode == 0, r.stdout
