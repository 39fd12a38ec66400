"""Every `convoy-bot` subcommand, argument and option explains itself in `--help`."""

from __future__ import annotations

import argparse

import pytest

from bot.__main__ import parser

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only


def _commands(
    command: argparse.ArgumentParser, path: str = "convoy-bot"
) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, command)]
    for action in command._actions:  # argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, f"{path} {name}")
    return found


def test_every_subcommand_and_option_has_help() -> None:
    """No subcommand without a description and no argument or option without help text."""
    commands = _commands(parser())
    silent = [
        f"{path}: {action.dest}"
        for path, command in commands
        for action in command._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    undescribed = [path for path, command in commands if not command.description]

    assert len(commands) > 12, "the walk found the subcommands"
    assert silent == []
    assert undescribed == []
