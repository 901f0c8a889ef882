"""What `--scheduler slurm` needs beyond SiliconCompiler's Slurm scheduler.

SiliconCompiler 0.38 runs one blocking `srun --job-name <uuid>_<step>_<index> ... <jobdir>/sc_configs/<name>.sh`
per flowgraph node; the script runs `python3 -m siliconcompiler.scheduler.run_node`, with the PATH srun exports.
- The job must find this project's interpreter: job_environment() puts its bin folder first on PATH.
- Killing srun (a timeout, an interrupt) leaves the job allocated: cancel_jobs() cancels every job whose script
  lies under a folder (a sweep point's attempt folder), by job name.
- A node that failed under Slurm may have left no log of its own (the job never started Python): node_logs()
  names the srun output of the node as well.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

SCRIPTS = "sc_configs"     # SiliconCompiler's folder of job scripts and srun outputs, in the job folder


def job_environment(env: dict | None = None) -> dict:
    """`env` (default os.environ) with the running interpreter's bin folder (the venv's) first on PATH."""
    env = dict(os.environ if env is None else env)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, *[p for p in env.get("PATH", "").split(os.pathsep) if p != bin_dir]])
    return env


def job_names(folder: Path) -> set[str]:
    """Names of the Slurm jobs submitted for the runs under `folder` (one script per job, written before srun)."""
    return {p.stem for p in Path(folder).rglob(f"{SCRIPTS}/*.sh")}


def cancel_jobs(folder: Path) -> list[str]:
    """scancel every queued or running job submitted for the runs under `folder`; returns their job ids."""
    names = job_names(folder)
    if not names or not shutil.which("squeue"):
        return []
    queue = subprocess.run(["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True, timeout=30)
    ids = [line.split(" ", 1)[0] for line in queue.stdout.splitlines()
           if " " in line and line.split(" ", 1)[1].strip() in names]
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True, timeout=30)
    return ids


def node_logs(job_dir: Path, step: str, index: str = "0") -> list[Path]:
    """The logs of one node: the task's and SiliconCompiler's in the node folder, and srun's output (Slurm)."""
    node = Path(job_dir) / step / index
    logs = [node / f"{step}.log", node / f"sc_{step}_{index}.log"]
    logs += sorted((Path(job_dir) / SCRIPTS).glob(f"*_{step}_{index}.log"))
    return [log for log in logs if log.is_file()]
