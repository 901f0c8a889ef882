"""Ctrl-C on `flow run`: SiliconCompiler's nodes and their tools stop with it, one line says how to resume, exit
130, and the rerun reuses the steps that finished; SIGTERM on bench/run.py stops its sweeps. (`flow sweep`:
tests/test_sweep.py.)"""
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from flow.procs import descendants

from .conftest import FLOW, REPO, running

pytestmark = pytest.mark.eda


def test_ctrl_c_on_flow_run_stops_every_tool_and_the_rerun_resumes(tmp_path):
    cmd = [*FLOW, "run", str(REPO / "configs/tiny.yaml"), "--stop-after", "synth", "--no-verify",
           "--out", str(tmp_path / "r"), "--work", str(tmp_path / "w")]
    # a session of its own, so that a Ctrl-C can be sent as a terminal sends it: to the whole process group
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    job = tmp_path / "w/kan_array/tiny"
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (job / "rtl/0/outputs/kan_array.pkg.json").exists():
        seen |= descendants(proc.pid)
        time.sleep(0.05)
    time.sleep(0.5)                                                  # the next node (synth) is running
    seen |= descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert stderr.strip().splitlines()[-1] == (
        "interrupted (SIGINT): stopped every worker and tool; the steps that finished are reused: resume with "
        f"`flow run {' '.join(cmd[4:])}`")
    assert "Traceback" not in stdout + stderr
    time.sleep(0.5)
    assert not [pid for pid in seen if running(pid)]
    for pid_dir in Path("/proc").iterdir():                          # nothing left working in the run's folders
        if pid_dir.name.isdigit() and running(int(pid_dir.name)):
            try:
                assert not os.readlink(pid_dir / "cwd").startswith(str(tmp_path)), pid_dir
            except OSError:
                pass
    rtl_manifest = (job / "rtl/0/outputs/kan_array.pkg.json").stat().st_mtime_ns
    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert again.returncode == 0 and again.stdout.splitlines()[-1].startswith("ok: "), again.stdout + again.stderr
    assert (job / "rtl/0/outputs/kan_array.pkg.json").stat().st_mtime_ns == rtl_manifest   # rtl was reused


def test_sigterm_to_the_bench_alone_stops_its_sweep_and_tools(tmp_path):
    """A SIGTERM to bench/run.py's process only (as `kill PID` sends it, not to the group): before, its
    flow.sweep workers and their tools kept running."""
    cmd = [str(REPO / ".venv/bin/python"), str(REPO / "bench/run.py"), "--sections", "speed", "--quick",
           "--out", str(tmp_path / "out"), "--work", str(tmp_path / "w")]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(seen) < 3:             # the point's worker and its tools
        seen |= descendants(proc.pid)
        time.sleep(0.05)
    assert len(seen) >= 3
    os.kill(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stdout + stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted (SIGTERM): stopped every run the bench started")
    time.sleep(0.5)
    assert not [pid for pid in seen | descendants(proc.pid) if running(pid)]
