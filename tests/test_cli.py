"""The CLI's surface: version, help on every command, settings errors, init."""

import click
import pytest

from mlops_workbench import __version__
from mlops_workbench.cli import cli as cli_group
from mlops_workbench.core import load_settings
from mlops_workbench.data import demo_frame


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_version(cli):
    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"mlops-wb, version {__version__}"


@pytest.mark.parametrize("command", [" ".join(c) for c in _commands(cli_group)])
def test_every_command_has_help(command, cli):
    result = cli(*command.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: mlops-wb " + command)


def test_unknown_option_is_usage_error(cli):
    result = cli("init", "--no-such-option")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["mlops-wb: error: No such option '--no-such-option'. (see `mlops-wb init --help`)"]


def test_wrongly_typed_setting_names_file_section_key_and_type(tmp_path, cli):
    (tmp_path / "settings.ini").write_text("[models]\nfolds = five\n")
    result = cli("runs", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"mlops-wb: error: {tmp_path / 'settings.ini'}: [models] folds = 'five': expected integer"


def test_unknown_setting_key(tmp_path, cli):
    (tmp_path / "settings.ini").write_text("[objective]\nmetric = accuracy\n")
    result = cli("runs", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown key 'metric' in [objective]" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_environment_overrides_settings_file(tmp_path, cli):
    (tmp_path / "settings.ini").write_text("[models]\nfolds = 3\n")
    result = cli("runs", cwd=tmp_path, env={"MLOPS_WB_MODELS_FOLDS": "x"})
    assert result.returncode == 2
    assert "environment variable MLOPS_WB_MODELS_FOLDS: [models] folds = 'x': expected integer" in result.stderr


def test_no_settings_anywhere(tmp_path, cli):
    result = cli("runs", cwd=tmp_path)
    assert result.returncode == 2
    assert "no settings.ini here or in a parent folder" in result.stderr


def test_init_scaffolds_a_project(tmp_path, cli):
    demo_frame().to_csv(tmp_path / "penguins.csv", index=False)
    result = cli("init", tmp_path / "birds", "--data", tmp_path / "penguins.csv", "--target", "species")
    assert result.returncode == 0, result.stderr
    settings = load_settings(tmp_path / "birds" / "settings.ini")
    assert (settings.data.target, settings.objective.task) == ("species", "classification")
    assert settings.data.train == (tmp_path / "birds" / "data" / "penguins.csv").resolve()
    assert (tmp_path / "birds" / "reports").is_dir()
    again = cli("init", tmp_path / "birds", "--data", tmp_path / "penguins.csv", "--target", "species")
    assert again.returncode == 2 and "already exists" in again.stderr
