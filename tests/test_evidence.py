"""Artifacts of ``--out``: private on disk (0600 files, 0700 folders) and no screenshot kept twice."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from probe.evidence import Recorder, make_private_dir
from probe.profile import Profile

from .conftest import run_async, run_cli


class FakePage:
    """Just enough of a Playwright page for ``Recorder.capture``: the picture is whatever it is told."""

    def __init__(self) -> None:
        self.picture = b"\x89PNG first"

    def locator(self, selector: str) -> str:
        return selector

    async def screenshot(self, **options: Any) -> bytes:
        assert "path" not in options  # the recorder writes the file itself, with its mode
        return self.picture


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: the modes must not depend on the user's."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_identical_screenshots_are_kept_once(tmp_path: Path, profile: Profile, open_umask: None) -> None:
    recorder = Recorder(tmp_path / "out" / "case", profile)
    page: Any = FakePage()
    names = [run_async(recorder.capture(page, "attempt-1"))]
    names.append(run_async(recorder.capture(page, "attempt-2")))
    page.picture = b"\x89PNG second"
    names.append(run_async(recorder.capture(page, "reset_cookies")))
    page.picture = b"\x89PNG first"
    names.append(run_async(recorder.capture(page, "attempt-3")))
    assert names == ["01-attempt-1.png", "01-attempt-1.png", "02-reset_cookies.png", "01-attempt-1.png"]
    assert recorder.screenshots == ["01-attempt-1.png", "02-reset_cookies.png"]
    recorder.write_json("result.json", {"verdict": "ok"})
    recorder.write_log([{"event": "screenshot", "file": names[1]}])
    directory = recorder.finish()
    assert directory == tmp_path / "out" / "case"
    assert sorted(p.name for p in directory.iterdir()) == [
        "01-attempt-1.png",
        "02-reset_cookies.png",
        "log.jsonl",
        "result.json",
    ]
    assert (directory / "01-attempt-1.png").read_bytes() == b"\x89PNG first"


def test_artifacts_are_0600_in_0700_folders_whatever_the_umask(
    tmp_path: Path, profile: Profile, open_umask: None
) -> None:
    out = tmp_path / "new" / "out"
    recorder = Recorder(out / "case", profile)
    run_async(recorder.capture(FakePage(), "attempt-1"))  # type: ignore[arg-type]
    recorder.write_json("result.json", {"verdict": "ok"})
    recorder.write_log([{"event": "verdict"}])
    # What Playwright writes itself (the HAR, the trace) is made private too.
    assert recorder._work is not None
    (recorder._work / "network.har").write_text(json.dumps({"log": {"entries": []}}))
    os.chmod(recorder._work / "network.har", 0o666)
    directory = recorder.finish()
    assert directory is not None
    assert mode(directory) == 0o700
    assert mode(out) == 0o700
    assert mode(out.parent) == 0o700  # created by the probe
    files = list(directory.iterdir())
    assert len(files) == 4
    for path in files:
        assert mode(path) == 0o600, path.name


def test_an_existing_folder_is_left_as_it_is(tmp_path: Path, open_umask: None) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    os.chmod(mine, 0o755)
    make_private_dir(mine / "artifacts")
    assert mode(mine) == 0o755
    assert mode(mine / "artifacts") == 0o700


def test_a_run_with_out_keeps_private_and_distinct_files(tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    done = run_cli("run", "--scenario", "cookies", "--out", str(out))
    assert done.returncode == 0, done.stderr
    run = out / "cookies"
    assert mode(out) == 0o700
    assert mode(run) == 0o700
    files = list(run.iterdir())
    assert {"result.json", "log.jsonl", "trace.zip", "network.har"} <= {p.name for p in files}
    for path in files:
        assert mode(path) == 0o600, path.name
    pictures = [p for p in files if p.suffix == ".png"]
    assert pictures
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in pictures]
    assert len(set(digests)) == len(digests), "a screenshot was kept twice"
    events = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    shots = [e["file"] for e in events if e.get("event") == "screenshot"]
    assert shots, "the log names the screenshot of each attempt"
    assert {p.name for p in pictures} == set(shots)
