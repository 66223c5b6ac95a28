"""Data contract: the planted demo batch, property tests (hypothesis), pandera interop, the CLI end to end."""

import json

import numpy as np
import pandas as pd
import pandera.pandas as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_workbench.contract import (
    contract_document,
    contract_yaml,
    from_pandera,
    infer_contract,
    load_contract,
    parse_contract,
    to_pandera,
)
from mlops_workbench.data import DEMO_PLANTS, demo_batch, demo_frame
from mlops_workbench.validation import validate


def _found(result) -> dict[str, set[str]]:
    "Column -> the checks that failed on it (table checks under '')."
    found: dict[str, set[str]] = {}
    for f in result.failures:
        found.setdefault(f.column, set()).add(f.check)
    return found


PLANTED = {column: set(checks) for column, checks in DEMO_PLANTS["violations"].items()}


def test_planted_batch_reports_every_violation_and_nothing_else():
    contract = infer_contract(demo_frame(), target="species")
    result = validate(demo_batch(), contract)
    assert _found(result) == PLANTED
    counts = {(f.column, f.check): f.count for f in result.failures}
    assert counts == {("bill_length_mm", "range"): 3, ("island", "categories"): 2, ("island", "missing"): 2}
    assert [e["row"] for f in result.failures if f.check == "categories" for e in f.examples] == [10, 110]
    assert not result.passed("error")


def test_planted_violations_are_found_on_other_seeds_too():
    contract = infer_contract(demo_frame(), target="species")
    for seed in range(5):
        found = _found(validate(demo_batch(seed=seed), contract))
        # a resample with replacement may repeat a few rows (a true duplicate_rows warning): columns only here
        assert {c: k for c, k in found.items() if c} == PLANTED, seed


def test_clean_batch_has_no_error_level_failure():
    contract = infer_contract(demo_frame(), target="species")
    result = validate(demo_batch(planted=False), contract)
    assert result.passed("error")
    assert {f.check for f in result.failures} <= {"duplicate_rows"}  # a resample with replacement repeats rows


# --- property tests -------------------------------------------------------------------------------------

_floats = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_subnormal=False)


@st.composite
def frames(draw) -> pd.DataFrame:
    "Small mixed frames: floats with missing values, integers, categories, booleans, free text, dates."
    n = draw(st.integers(min_value=1, max_value=40))
    col = lambda elements: draw(st.lists(elements, min_size=n, max_size=n))  # noqa: E731
    frame = pd.DataFrame({
        "x": pd.array(col(st.one_of(_floats, st.none())), dtype="float64"),
        "k": np.array(col(st.integers(min_value=-10**12, max_value=10**12)), dtype="int64"),
        "colour": pd.Series(col(st.one_of(st.sampled_from(["red", "green", "blue", "yes", "1.5"]), st.none())), dtype=object),
        "flag": np.array(col(st.booleans()), dtype=bool),
        "note": pd.Series(col(st.text(alphabet="abcXYZ-_ 09", min_size=0, max_size=8)), dtype=object),
        "when": pd.to_datetime(col(st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                                                max_value=pd.Timestamp("2030-01-01").to_pydatetime()))),
    })
    return frame


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_inferred_contract_validates_its_own_frame(frame):
    contract = infer_contract(frame)
    result = validate(frame, contract)
    assert result.failures == [], result.messages()
    # ... also after a trip through the YAML file
    assert validate(frame, parse_contract(contract_yaml(contract))).failures == []


def _expressible(contract) -> dict:
    "What pandera can express of a contract: per column dtype, nullability, uniqueness, range, categories, pattern."
    out = {"strict": contract.table.get("extra_columns", {}).get("enabled", False)}
    for name, c in contract.columns.items():
        on = {k: p for k, p in c.checks.items() if p.get("enabled", True)}
        out[name] = {
            "dtype": c.dtype if "dtype" in on else None, "required": c.required,
            "nullable": not ("missing" in on and on["missing"]["max_share"] == 0),
            "unique": "unique" in on,
            "range": (on["range"]["min"], on["range"]["max"]) if "range" in on else None,
            "categories": on["categories"]["values"] if "categories" in on else None,
            "pattern": on["pattern"]["regex"] if "pattern" in on else None,
        }
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.booleans())
def test_yaml_to_pandera_and_back_keeps_every_expressible_check(frame, date_range_on):
    inferred = infer_contract(frame)
    if date_range_on and "range" in inferred.columns["when"].checks:
        inferred.columns["when"].checks["range"]["enabled"] = True
    loaded = parse_contract(contract_yaml(inferred))
    plain = from_pandera(to_pandera(loaded, metadata=False))  # only what pandera itself holds
    assert _expressible(plain) == _expressible(loaded)
    full = from_pandera(to_pandera(loaded))  # with the metadata, the whole contract comes back
    assert contract_document(full)["columns"] == contract_document(loaded)["columns"]
    assert (full.table, full.version, full.reference) == (loaded.table, loaded.version, loaded.reference)
    # and pandera, given the exported schema, accepts the frame the contract was inferred from
    to_pandera(loaded).validate(frame, lazy=True)


def test_pandera_finds_the_planted_violations_with_the_exported_schema():
    schema = to_pandera(infer_contract(demo_frame(), target="species"))
    try:
        schema.validate(demo_batch(), lazy=True)
    except pa.errors.SchemaErrors as e:
        assert set(e.failure_cases["column"].dropna()) == set(PLANTED)
    else:
        raise AssertionError("pandera passed the planted batch")


# --- the CLI ------------------------------------------------------------------------------------------------

def _project(tmp_path):
    demo_frame().to_csv(tmp_path / "ref.csv", index=False)
    demo_batch().to_csv(tmp_path / "batch.csv", index=False)
    return tmp_path


def test_cli_infer_validate_planted_batch(cli, tmp_path):
    _project(tmp_path)
    r = cli("contract", "infer", "ref.csv", "--out", "contract.yaml", "--target", "species", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "contract v1 written to contract.yaml: 8 columns" in r.stdout
    contract = load_contract(tmp_path / "contract.yaml")
    assert contract.roles["species"] == "target" and contract.kinds["island"] == "categorical"

    r = cli("validate", "batch.csv", "--contract", "contract.yaml", "--json", "--report", "out/validation.html", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == "mlops-wb: error: batch.csv: validation FAILED: 3 error(s), 0 warning(s) in 28 checks on 300 rows"
    payload = json.loads(r.stdout)
    assert {(f["column"], f["check"]) for f in payload["failures"]} == {(c, k) for c, ks in PLANTED.items() for k in ks}
    assert json.loads((tmp_path / "out" / "validation.json").read_text())["passed"] is False
    assert "bill_length_mm" in (tmp_path / "out" / "validation.html").read_text()

    r = cli("validate", "ref.csv", "--contract", "contract.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("validation passed: 0 error(s), 0 warning(s)")


def test_cli_fail_on_warn(cli, tmp_path):
    _project(tmp_path)
    clean = demo_batch(planted=False)
    pd.concat([clean, clean.iloc[:10]]).to_csv(tmp_path / "repeats.csv", index=False)  # 10 repeated rows: a warning only
    assert cli("contract", "infer", "ref.csv", "--out", "c.yaml", "--target", "species", cwd=tmp_path).returncode == 0
    r = cli("validate", "repeats.csv", "--contract", "c.yaml", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("validation passed: 0 error(s), 1 warning(s)"), r.stderr
    r = cli("validate", "repeats.csv", "--contract", "c.yaml", "--fail-on", "warn", cwd=tmp_path)
    assert r.returncode == 1 and "validation FAILED: 0 error(s), 1 warning(s)" in r.stderr, r.stderr
