"""The quick summary and the bounded profile report on awkward data; the report states its mode and sample size."""

import json

import numpy as np
import pandas as pd
import pytest

from mlops_workbench.core import BadInput, ProfileSettings, Settings
from mlops_workbench.data import demo_frame
from mlops_workbench.profile import plan_report, profile_report, quick_summary

N = 100_000


@pytest.fixture(scope="module")
def awkward():
    "One column per awkward case, 100,000 rows, a unicode name and a classification target."
    rng = np.random.default_rng(3)
    return pd.DataFrame({
        "nothing": np.full(N, np.nan),
        "mixed": np.where(np.arange(N) % 3 == 0, "n/a", None).astype(object),
        "comment": [f"note {i:06d} \u2013 ok" for i in range(N)],
        "ratio": np.where(np.arange(N) % 97 == 0, np.inf, rng.normal(size=N)),
        "seen": pd.date_range("2023-01-01", periods=N, freq="min"),
        "température °C": rng.normal(20, 5, size=N),
        "label": rng.choice(["a", "b"], size=N),
    }).assign(mixed=lambda d: [v if v is not None else (i % 2) * 1.5 for i, v in enumerate(d["mixed"])])


def flags(summary):
    return {(f["column"], f["flag"]) for f in summary.flags}


def test_the_summary_flags_each_awkward_column(awkward):
    s = quick_summary(awkward, target="label")
    assert {("nothing", "all_missing"), ("mixed", "mixed_types"), ("comment", "id_like"), ("ratio", "infinite"),
            ("seen", "datetime"), ("température °C", "non_ascii_name")} <= flags(s)
    # kinds by the workbench's one rule (the contract and training agree); what a kind cannot say is a flag
    assert s.columns["nothing"]["kind"] == "numeric" and s.columns["mixed"]["kind"] == "categorical"
    assert s.columns["comment"]["distinct"] == N and s.columns["comment"]["kind"] == "text"
    assert s.columns["ratio"]["infinite"] == len(range(0, N, 97))
    assert np.isfinite(s.columns["ratio"]["max"])
    assert s.columns["seen"]["kind"] == "datetime" and s.columns["seen"]["min"] == "2023-01-01T00:00:00"
    assert s.columns["mixed"]["types"] == {"text": len(range(0, N, 3)), "number": N - len(range(0, N, 3))}
    json.dumps(s.to_dict(), allow_nan=False)


def test_a_single_row_is_summarised_and_flagged(awkward):
    s = quick_summary(awkward.iloc[:1], target="label")
    assert s.rows == 1 and (None, "few_rows") in flags(s)
    assert s.columns["ratio"]["count"] == 1 and ("nothing", "all_missing") in flags(s)


def test_the_report_on_awkward_data_completes_and_carries_the_flags(awkward, tmp_path):
    settings = Settings(root=tmp_path, profile=ProfileSettings(full_cells=5_000, minimal_cells=50_000, sample_rows=400))
    result = profile_report(awkward, tmp_path / "awkward.html", settings, target="label")
    assert (result.plan.mode, result.plan.settings, result.plan.sample_rows) == ("sampled", "full", 400)
    page = result.html_path.read_text(encoding="utf-8")
    assert f"Mode: sampled (full settings) on a random sample of 400 of {N:,} rows x 7 columns" in page
    data = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert data["table"]["n"] == 400 and "température °C" in data["variables"]
    stated = {(f["column"], f["flag"]) for f in data["mlops_workbench"]["flags"]}
    assert {("nothing", "all_missing"), ("mixed", "mixed_types"), ("comment", "id_like"), ("ratio", "infinite"),
            ("seen", "datetime"), ("température °C", "non_ascii_name")} <= stated
    for column, flag in [("nothing", "all_missing"), ("comment", "id_like"), ("température °C", "non_ascii_name")]:
        assert f"<b>{column}</b>: {flag}" in page


def test_the_report_on_a_single_row_completes(awkward, tmp_path):
    result = profile_report(awkward.iloc[:1], tmp_path / "one.html", Settings(root=tmp_path))
    assert (result.plan.mode, result.plan.sample_rows) == ("full", 1)
    data = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert data["table"]["n"] == 1 and data["mlops_workbench"]["plan"]["statement"].startswith("Mode: full (full settings) on all 1 rows")
    assert any(f["flag"] == "few_rows" for f in data["mlops_workbench"]["flags"])


@pytest.mark.parametrize("budget, mode, sample, expected", [
    (ProfileSettings(full_cells=10_000, minimal_cells=20_000, sample_rows=100), "auto", None, ("full", "full", 344)),
    (ProfileSettings(full_cells=1_000, minimal_cells=20_000, sample_rows=100), "auto", None, ("minimal", "minimal", 344)),
    (ProfileSettings(full_cells=1_000, minimal_cells=2_000, sample_rows=100), "auto", None, ("sampled", "full", 100)),
    (ProfileSettings(), "minimal", 50, ("sampled", "minimal", 50)),
])
def test_the_report_states_the_mode_and_sample_size_the_budget_chose(tmp_path, budget, mode, sample, expected):
    pen = demo_frame()
    result = profile_report(pen, tmp_path / "p.html", Settings(root=tmp_path, profile=budget), target="species",
                            mode=mode, sample=sample)
    plan = result.plan
    assert (plan.mode, plan.settings, plan.sample_rows) == expected
    page = result.html_path.read_text(encoding="utf-8")
    assert plan.statement() in page and f'data-mode="{expected[0]}"' in page and f'data-sample-rows="{expected[2]}"' in page
    assert f"Profiled rows: {expected[2]:,} of 344; columns: 8 of 8." in page
    data = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert data["table"]["n"] == expected[2]
    assert (data["mlops_workbench"]["plan"]["mode"], data["mlops_workbench"]["plan"]["sample_rows"]) == (expected[0], expected[2])
    assert data["analysis"]["title"] == f"Profile ({expected[0]} mode, {expected[2]:,} of 344 rows)"


def test_the_report_json_keeps_frequency_tables_short(tmp_path):
    frame = pd.DataFrame({"code": [f"c{i}" for i in range(600)], "x": np.arange(600.0)})
    result = profile_report(frame, tmp_path / "codes.html", Settings(root=tmp_path), mode="minimal")
    data = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert len(data["variables"]["code"]["value_counts_without_nan"]) == 100
    assert data["variables"]["code"]["n_distinct"] == 600


def test_bad_requests_are_refused_before_any_work(tmp_path):
    with pytest.raises(BadInput, match="profile mode 'fast' is not one of auto, full, minimal"):
        plan_report(10, 2, ProfileSettings(), mode="fast")
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInput, match="cannot write the report"):
        profile_report(demo_frame(), tmp_path / "file" / "p.html", Settings(root=tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
