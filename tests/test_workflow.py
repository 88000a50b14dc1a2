"""The GitHub Actions workflow: valid against the schema and clean under zizmor, offline."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is a dev dependency; install the project with '.[dev]'"
    return found


def test_there_is_a_workflow_that_runs_make_test() -> None:
    assert WORKFLOWS
    assert any("make test" in w.read_text(encoding="utf-8") for w in WORKFLOWS)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(workflow: Path) -> None:
    done = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing_offline() -> None:
    done = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_ci_here_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")


def readme_workflow() -> str:
    """The GitHub Actions snippet of the README, for another repository's CI."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## In another repository's CI (GitHub Actions)\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```yaml\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "the section holds one workflow"
    return str(blocks[0])


@pytest.fixture(scope="module")
def snippet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snippet") / ".github" / "workflows" / "probe.yml"
    path.parent.mkdir(parents=True)
    path.write_text(readme_workflow(), encoding="utf-8")
    return path


def test_readme_snippet_matches_the_github_schema(snippet: Path) -> None:
    done = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(snippet)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing_in_the_readme_snippet(snippet: Path) -> None:
    done = subprocess.run(
        [tool("zizmor"), "--offline", "--no-progress", str(snippet)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_snippet_installs_runs_and_uploads() -> None:
    workflow = yaml.safe_load(readme_workflow())
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["probe"]["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"{action} is not pinned to a full commit SHA"
    for step in steps:
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    script = "\n".join(str(s.get("run", "")) for s in steps)
    assert "python -m playwright install --with-deps chromium" in script
    run = shlex.split(next(str(s["run"]) for s in steps if "probe run" in str(s.get("run", ""))))
    assert run[0].endswith("/.venv/bin/probe")
    assert {"--all", "--junit", "--out"} <= set(run)
    junit, out = run[run.index("--junit") + 1], run[run.index("--out") + 1]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["if"] == "${{ !cancelled() }}"  # a differing verdict fails the run step: upload anyway
    paths = upload["with"]["path"].split()
    assert junit in paths
    assert any(p.rstrip("/") == out for p in paths)


def test_readme_snippet_command_line_parses() -> None:
    """The probe accepts the snippet's command line as written (parsed, not run)."""
    from probe.cli import build_parser

    workflow = yaml.safe_load(readme_workflow())
    run = next(str(s["run"]) for s in workflow["jobs"]["probe"]["steps"] if "probe run" in str(s.get("run", "")))
    args = build_parser().parse_args(shlex.split(run)[1:])
    assert args.all
