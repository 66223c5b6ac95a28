"""The parameters form of a stage notebook and a headless run: the file the form saves gives `mlops-wb run
--params-file` exactly the parameters the form's step ran with (papermill loses widget state; this closes it)."""

import json

from mlops_workbench.core import load_settings
from mlops_workbench.form import ParametersForm
from mlops_workbench.project import scaffold_demo


def test_the_saved_form_gives_a_headless_run_the_same_parameters(tmp_path, cli):
    project = tmp_path / "demo"
    settings = load_settings(scaffold_demo(project), environ={})
    ran = []
    form = ParametersForm.for_stage(settings, "explore", lambda *args, **values: ran.append(values))
    assert list(form.fields) == ["data_path", "target", "report_mode", "sample_rows", "make_report"]
    assert form.fields["sample_rows"].tooltip.startswith("profile a random sample of this many rows")
    form.fields["make_report"].value, form.fields["sample_rows"].value, form.fields["report_mode"].value = False, 100, "minimal"
    form.run()
    assert form.path == project / "params" / "explore.yaml"
    result = cli("run", "--stages", "explore", "--params-file", "params/explore.yaml", "--json", cwd=project)
    assert result.returncode == 0, result.stderr[-2000:]
    headless = json.loads(result.stdout)["stages"][0]["parameters"]
    assert headless == ran[0] == form.values() == {"data_path": "", "target": "", "report_mode": "minimal",
                                                    "sample_rows": 100, "make_report": False}
