"""Long runs end to end: a line per finished scenario as it finishes, and Ctrl-C keeps what finished."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from .conftest import ROOT, run_cli


def test_each_finished_scenario_is_a_line_on_stderr_and_wall_time_is_apart() -> None:
    done = run_cli("run", "--scenario", "ok", "--scenario", "wrong_password", "--json")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert [line.split()[:3] for line in lines] == [["[1/2]", "✓", "ok"], ["[2/2]", "✓", "wrong_password"]]
    summary = json.loads(done.stdout)["summary"]
    assert summary["scenarios"] == 2
    assert summary["not_run"] == 0
    assert summary["wall_s"] > 0
    assert summary["duration_s"] > 0


def test_ctrl_c_writes_what_finished_and_says_what_did_not_run(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    names = ["ok", "wrong_password", "cookies", "stale_cache"]
    argv = [sys.executable, "-m", "probe", "run", *(f"--scenario={n}" for n in names), "--json", "--junit", str(junit)]
    # A new session, signalled as a whole: what a terminal's Ctrl-C does to the probe and its browser.
    process = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    # The longest scenarios start first (a profile on disk counts as longer): any of them may finish first.
    assert first.startswith("[1/4] ✓ "), first + err
    first_name = first.split()[2]
    assert first_name in names, first
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("probe: interrupted: ")
    assert "not run; results so far in" in err
    payload = json.loads(out)
    finished = [r["scenario"] for r in payload["results"]]
    assert first_name in finished
    assert payload["summary"]["not_run"] == len(names) - len(finished)
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "4"
    assert suite.get("skipped") == str(len(names) - len(finished))


def test_a_scenario_without_expect_runs_and_exits_0(tmp_path: Path) -> None:
    text = (ROOT / "scenarios" / "wrong_password.yaml").read_text(encoding="utf-8")
    bare = tmp_path / "bare.yaml"
    bare.write_text(text[: text.index("expect:")], encoding="utf-8")
    done = run_cli("run", "--scenario", str(bare), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "credentials_invalid"
    assert result["expected"] is None
    assert result["match"] is True
