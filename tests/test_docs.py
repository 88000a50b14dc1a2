"""The README stays true: every command it must show is there, with an example."""

from __future__ import annotations

import argparse
import re

from probe.cli import build_parser

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(sub.choices)


def test_every_command_has_an_example_in_the_readme() -> None:
    for command in commands():
        assert re.search(rf"^probe (-v )?{command}\b", README, re.MULTILINE), f"no example of `probe {command}`"


def test_quick_start_is_the_two_make_commands() -> None:
    assert "make run" in README
    assert "make test" in README


def test_every_option_of_run_is_mentioned() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for action in sub.choices["run"]._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert flag in README, f"`probe run {flag}` is not in the README"
