"""Every command's --help shows each option's help whole: rich reads `[...]` as markup, and a
help string's `[default: ...]` once vanished that way ("Config file .")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from bluegreen_local.cli.app import app

if TYPE_CHECKING:
    from typer._click.core import Command



def _root() -> TyperGroup:
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return group


ROOT = _root()
COMMANDS = sorted(ROOT.commands)
WIDE = {"COLUMNS": "400", "TERMINAL_WIDTH": "400"}  # one line per option: nothing wraps


def flat(text: str) -> str:
    """The help screen as words: no box drawing, single spaces."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def rendered(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return flat(result.stdout)


def helps(command: Command) -> list[str]:
    """The help of every option and argument."""
    return [text for p in command.params if (text := getattr(p, "help", None))]


def test_every_command_is_covered() -> None:
    assert {"deploy", "rollback", "up", "recover", "status", "history", "check", "down",
            "init"} <= set(COMMANDS)


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_every_option_help_is_shown_whole(name: str) -> None:
    command = ROOT.commands[name] if name else ROOT
    screen = rendered(*([name] if name else []))
    for text in helps(command):
        assert flat(text) in screen, f"{name or 'bluegreen'}: help lost text: {text!r}"
    assert not re.search(r"\[\s*\]|\(\s*\)", screen), f"an emptied bracket: {screen}"


@pytest.mark.parametrize("name", COMMANDS)
def test_defaults_are_shown_where_promised(name: str) -> None:
    screen = rendered(name)
    for param in ROOT.commands[name].params:
        if not isinstance(param, TyperOption) or param.show_default is False or param.is_flag:
            continue
        if param.default not in (None, ()):
            assert f"[default: {param.default}]" in screen, (name, param.name)


@pytest.mark.parametrize("name", COMMANDS)
def test_the_command_text_is_shown_whole(name: str) -> None:
    command = ROOT.commands[name]
    assert command.help
    first = command.help.split("\n\n", 1)[0]
    assert flat(first) in rendered(name)


def test_docstrings_are_reflowed_into_one_line_per_paragraph() -> None:
    """The help renderer keeps line breaks: a wrapped docstring must not print ragged."""
    from bluegreen_local.cli.common import reflow

    text = """First line.

        A paragraph wrapped
        at the source's width.
        """
    assert reflow(text) == "First line.\n\nA paragraph wrapped at the source's width."
