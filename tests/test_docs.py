"""The README keeps up with the code: every CLI command and every setting is documented there."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer.main

from citymeter.cli.main import app
from citymeter.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Command, prefix: str) -> list[str]:
    # Typer's groups are not always click.Group instances (it may carry its own click), so a
    # group is recognised by having sub-commands.
    found = []
    for name, command in getattr(group, "commands", {}).items():
        path = f"{prefix} {name}"
        if getattr(command, "commands", None):
            found.extend(_commands(command, path))
        else:
            found.append(path)
    return found


ALL_COMMANDS = _commands(typer.main.get_command(app), "citymeter")  # type: ignore[arg-type]


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    assert command in README, f"README.md does not mention `{command}`"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_in_the_readme(field: str) -> None:
    variable = f"CITYMETER_{field.upper()}"
    assert variable in README, f"README.md does not document {variable}"


def test_readme_names_the_two_commands() -> None:
    assert "make demo" in README
    assert "make test" in README


def test_the_command_walk_reaches_sub_commands() -> None:
    # Guards the walk above: it once saw only the top-level groups and checked nothing deeper.
    assert "citymeter db upgrade" in ALL_COMMANDS
    assert len(ALL_COMMANDS) > 60
