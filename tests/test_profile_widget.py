"""The explorer widget, driven from Python as a user would drive it: pick, slide, click; errors are shown."""

import json

import numpy as np
import pandas as pd
import pytest

from mlops_workbench.core import ProfileSettings, Settings
from mlops_workbench.data import demo_frame
from mlops_workbench.explorer import Explorer


@pytest.fixture(scope="module")
def penguins():
    return demo_frame()


def test_picking_a_column_shows_its_summary_plot_and_relation(penguins, tmp_path):
    ex = Explorer(penguins, target="species", report_path=tmp_path / "p.html")
    assert "344 rows x 8 columns" in ex.header.value and "target <code>species</code> (classification)" in ex.header.value
    for name in penguins.columns:
        assert f"<td>{name}</td>" in ex.overview.value
    ex.picker.value = "island"
    assert ex.column == "island"  # the picker and the widget's `column` trait are one
    assert "<b>island</b>" in ex.column_view.value and "<td>Biscoe</td><td>168</td>" in ex.column_view.value
    assert "class rates per level" in ex.relation.value and "Torgersen" in ex.relation.value
    assert bytes(ex.plot.value[:4]) == b"\x89PNG"
    ex.picker.value = "body_mass_g"
    assert "<td>count</td><td>342</td>" in ex.column_view.value and "mean per class" in ex.relation.value
    body_mass_plot = bytes(ex.plot.value)
    ex.picker.value = "species"
    assert "is the target" in ex.relation.value
    ex.picker.value = "body_mass_g"
    assert bytes(ex.plot.value) == body_mass_plot
    assert ex.errors == [] and ex.error.layout.display == "none"


def test_the_correlation_view_follows_the_slider(penguins):
    ex = Explorer(penguins, target="species")
    ex.min_abs.value = 0.85
    assert "1 pairs with |r| >= 0.85" in ex.correlations.value
    assert "<td>flipper_length_mm</td><td>body_mass_g</td><td>0.8712</td>" in ex.correlations.value
    ex.min_abs.value = 0.0
    assert "10 pairs with |r| >= 0.00" in ex.correlations.value
    assert bytes(ex.correlation_plot.value[:4]) == b"\x89PNG"


def test_the_flags_are_in_the_overview(tmp_path):
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(50)], "const": 1, "y": ["a", "b"] * 25,
                          "x": np.r_[np.inf, np.arange(49.0)]})
    ex = Explorer(frame, target="y")
    for flag in ("id_like", "constant", "infinite"):
        assert f">{flag}</span>" in ex.overview.value
    ex.picker.value = "x"
    assert "<td>infinite</td><td>1</td>" in ex.column_view.value


def test_the_report_button_writes_the_report_and_states_mode_and_sample(penguins, tmp_path):
    settings = Settings(root=tmp_path, profile=ProfileSettings(full_cells=500, minimal_cells=1_000, sample_rows=60))
    ex = Explorer(penguins, target="species", settings=settings, report_path=tmp_path / "out" / "profile.html")
    ex.report_button.click()
    assert ex.errors == []
    assert "Mode: sampled (full settings) on a random sample of 60 of 344 rows" in ex.report_status.value
    assert "profile.json" in ex.report_status.value and not ex.report_button.disabled
    data = json.loads((tmp_path / "out" / "profile.json").read_text())
    assert data["mlops_workbench"]["plan"]["sample_rows"] == 60
    ex.mode.value = "minimal"
    ex.report_button.click()
    assert "Mode: sampled (minimal settings)" in ex.report_status.value


def test_an_error_inside_a_callback_is_shown_in_the_widget(penguins, tmp_path):
    (tmp_path / "blocked").write_text("a file where a folder should be")
    ex = Explorer(penguins, target="species", report_path=tmp_path / "blocked" / "profile.html")
    ex.report_button.click()
    assert ex.error.layout.display == ""
    assert "Error while making the full report: BadInput:" in ex.error.value
    assert "blocked/profile.html: cannot write the report" in ex.error.value
    assert "The full report failed" in ex.report_status.value and not ex.report_button.disabled
    assert len(ex.errors) == 1
    ex.picker.value = "sex"
    assert ex.error.layout.display == "none" and ex.error.value == ""
