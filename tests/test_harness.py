"""The library API stays clear of the bundled mock; the scenario harness is the only code that imports it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

MOCK_STACK = ("starlette", "uvicorn", "jinja2", "fixtures")


def test_the_library_and_the_cli_do_not_import_the_mock() -> None:
    code = (
        "import sys, probe.runner, probe.cli, probe.diagnosis\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({MOCK_STACK!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_only_the_harness_and_the_scenario_format_import_fixtures() -> None:
    # A scenario file embeds the mock's own configuration (``site:``), validated by the mock's model.
    importers: set[str] = set()
    for path in sorted((ROOT / "probe").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: commands may import the mock lazily
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "fixtures" or n.startswith("fixtures.") for n in names):
                importers.add(Path(path).name)
    assert importers == {"harness.py", "scenarios.py"}


def test_harness_names_stay_importable_from_the_runner() -> None:
    import probe.harness
    import probe.runner

    assert probe.runner.play is probe.harness.play
    assert probe.runner.play_all is probe.harness.play_all
    assert probe.runner.MAIL_HOST == probe.harness.MAIL_HOST
