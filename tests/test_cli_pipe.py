"""A reader that stops early (`probe list | head -1`) is no failure of the probe."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_a_closed_pipe_ends_the_output_quietly() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "probe", "list"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the probe writes a byte
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert "Traceback" not in err
    assert "internal error" not in err
    assert code == 0
