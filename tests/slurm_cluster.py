"""A throwaway single-node Slurm for the tests (recipe: ../shared/notes/slurm.md), started by hand as root, without
systemd, everything in one temporary folder: its own munge socket and key, its own ports, its own spool folders,
so it touches no cluster (or other test run) on the machine. The daemons are stopped by their PIDs."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd")


def missing_reason() -> str | None:
    """Why no cluster can be started here (one line), or None. Installs slurm-wlm and munge when missing."""
    if os.geteuid() != 0:
        return "a throwaway Slurm needs root (to start munged, slurmctld and slurmd)"
    if not all(Path(d).exists() for d in DAEMONS):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        res = subprocess.run(["apt-get", "install", "-y", "-qq", *PACKAGES], capture_output=True, text=True, env=env)
        if res.returncode:
            return f"apt-get install {' '.join(PACKAGES)} failed: {res.stderr.strip().splitlines()[-1:]}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    """munged + slurmctld + slurmd on this machine, one node in two partitions: `main` (the cluster's default)
    and `partition` (what --partition must select). `env` is what a client (srun, squeue, flow) needs."""

    def __init__(self, root: Path, partition: str = "kantest"):
        self.root, self.partition = Path(root), partition
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.jobcomp = self.root / "jobcomp.log"
        self.socket = self.root / "munge" / "munge.socket"
        self.pid_files = [self.root / "munge" / "munged.pid", self.root / "slurmctld.pid", self.root / "slurmd.pid"]
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def start(self) -> None:
        munge = self.root / "munge"
        for d in (munge, self.root / "ctld", self.root / "spool"):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        os.chmod(munge, 0o700)
        subprocess.run(["mungekey", "--create", "--force", "--keyfile", str(munge / "munge.key")], check=True)
        subprocess.run(["munged", "--force", f"--socket={self.socket}", f"--key-file={munge / 'munge.key'}",
                        f"--pid-file={self.pid_files[0]}", f"--log-file={munge / 'munged.log'}",
                        f"--seed-file={munge / 'munged.seed'}"], check=True)
        cpus = os.cpu_count() or 1
        mem_mb = int(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 * 0.8)
        self.conf.write_text(f"""ClusterName=kantest{os.getpid()}
SlurmctldHost={self.host}
SlurmUser=root
SlurmdUser=root
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.socket}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
StateSaveLocation={self.root / 'ctld'}
SlurmdSpoolDir={self.root / 'spool'}
SlurmctldPidFile={self.pid_files[1]}
SlurmdPidFile={self.pid_files[2]}
SlurmctldLogFile={self.root / 'slurmctld.log'}
SlurmdLogFile={self.root / 'slurmd.log'}
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
InactiveLimit=60
KillWait=2
NodeName={self.host} CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN
PartitionName=main Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
PartitionName={self.partition} Nodes={self.host} Default=NO MaxTime=INFINITE State=UP
""")
        subprocess.run(["slurmctld", "-f", str(self.conf)], check=True, env=self.env)
        subprocess.run(["slurmd", "-f", str(self.conf), "-N", self.host], check=True, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=self.env)
            if state.stdout.strip() == "idle":
                return
            time.sleep(0.3)
        raise RuntimeError(f"slurm node not idle after 60 s: {state.stdout.strip()} {state.stderr.strip()} "
                           f"(logs in {self.root})")

    def queue(self) -> list[str]:
        """squeue: one 'id name state' line per job still queued or running."""
        res = subprocess.run(["squeue", "-h", "-o", "%i %j %T"], capture_output=True, text=True, env=self.env,
                             check=True)
        return res.stdout.splitlines()

    def completed_jobs(self) -> list[dict]:
        """The job-completion log (jobcomp/filetxt): one {field: value} per finished job."""
        if not self.jobcomp.exists():
            return []
        return [dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
                for line in self.jobcomp.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        """Stop the daemons by their PIDs (slurmd and slurmctld first: they talk to munged on the way out)."""
        for pid_file in reversed(self.pid_files):
            try:
                pid = int(pid_file.read_text())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.root / "spool", ignore_errors=True)
