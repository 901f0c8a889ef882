"""`flow sweep --scheduler slurm` on a real Slurm: a throwaway single-node cluster (tests/slurm_cluster.py; slurm-wlm
and munge installed with apt-get when missing) runs configs/ci-sweep.yaml. Needs root, as CI runs; ~1.5 min on 2
cores (each Slurm job costs a few seconds of Python start-up)."""
import json
import re
import signal
import subprocess
import time

import pandas as pd
import pytest

from .conftest import FLOW, REPO
from .slurm_cluster import SlurmCluster, missing_reason
from .test_sweep import attempts, sweep_cmd

pytestmark = pytest.mark.eda

QOR = ["cell_area [um^2]", "cells [cells]", "fmax [MHz]", "wns [ns]"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    why = missing_reason()
    if why:
        pytest.skip(why)
    with SlurmCluster(tmp_path_factory.mktemp("slurm")) as c:
        yield c


def _wait_empty(cluster, seconds=30) -> list[str]:
    """squeue until no job is left (a cancelled job shows as COMPLETING for a moment)."""
    deadline = time.monotonic() + seconds
    while (jobs := cluster.queue()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return jobs


def test_slurm_sweep_matches_local_and_timeouts_and_interrupts_cancel_the_jobs(cluster, ci_sweep):
    path, name, out = ci_sweep
    # the local run beside the Slurm one: Slurm jobs spend most of their time starting Python
    local = subprocess.Popen(sweep_cmd(path, out / "local", "--jobs", "2"), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=REPO)
    before = len(cluster.completed_jobs())
    slurm = subprocess.run(sweep_cmd(path, out / "slurm", "--jobs", "2", "--scheduler", "slurm", "--partition",
                                     cluster.partition), capture_output=True, text=True, cwd=REPO, env=cluster.env)
    assert slurm.returncode == 0, slurm.stdout + slurm.stderr
    assert local.wait(timeout=300) == 0, local.communicate()
    assert "4 points, 4 ok, 0 failed" in slurm.stdout

    # the same QoR, point by point
    qor = [pd.read_csv(out / run / name / "results.csv").set_index("table_bits").sort_index()[QOR]
           for run in ("local", "slurm")]
    pd.testing.assert_frame_equal(*qor)
    # ... computed by jobs that ran through Slurm: one per node (rtl, synth, sta_synth) of each point, in the
    # partition asked for, named as the job scripts in the points' attempt folders
    jobs = cluster.completed_jobs()[before:]
    assert len(jobs) == 12 and {j["JobState"] for j in jobs} == {"COMPLETED"}
    assert {j["Partition"] for j in jobs} == {cluster.partition}
    assert sorted(j["Name"].split("_", 1)[1] for j in jobs) == sorted(["rtl_0", "synth_0", "sta_synth_0"] * 4)
    scripts = {p.stem for a in attempts(name) for p in a.rglob("sc_configs/*.sh")}
    assert {j["Name"] for j in jobs} <= scripts

    # a timeout kills the point's srun and cancels its jobs: nothing stays queued or allocated. With verification
    # a point is 5 jobs of 3-5 s of Python start-up each, far beyond the timeout (12 s was not: on an idle machine
    # a point finished in 12.0 s), and its first job is submitted within it.
    res = subprocess.run([*FLOW, "sweep", str(path), "--out", str(out / "slurm"), "--jobs", "2", "--scheduler",
                          "slurm", "--timeout", "6"], capture_output=True, text=True, cwd=REPO, env=cluster.env)
    assert res.returncode == 1 and res.stdout.count("timeout after 6 s") == 4, res.stdout + res.stderr
    assert _wait_empty(cluster) == []
    named = {i for ids in re.findall(r"\(Slurm jobs ([\d, ]+) cancelled\)", res.stdout) for i in ids.split(", ")}
    states = {j["JobId"]: j["JobState"] for j in cluster.completed_jobs()}
    assert {states.get(i) for i in named} <= {"CANCELLED"}      # (a point killed between two jobs has none)
    stored = [json.loads(p.read_text()) for p in (out / "slurm" / name / "points").glob("*.json")]
    assert sorted(r.get("timeout_s") or 0 for r in stored) == [0] * 4 + [6] * 4

    # SIGTERM to the sweep while a job runs: exit 143, the job cancelled, the queue empty
    proc = subprocess.Popen(sweep_cmd(path, out / "slurm", "--jobs", "2", "--scheduler", "slurm", "--force"),
                            cwd=REPO, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (running := [j.split()[0] for j in cluster.queue() if j.endswith(" RUNNING")]) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143 and running, stdout + stderr
    # empty within 30 s: a killed srun alone leaves its job allocated for InactiveLimit (60 s here)
    assert _wait_empty(cluster) == []
    states = {j["JobId"]: j["JobState"] for j in cluster.completed_jobs()}
    assert {states.get(i) for i in running} <= {"CANCELLED", "COMPLETED"}    # (one may end as the signal lands)
